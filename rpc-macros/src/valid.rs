//! The rules an `#[rpc]` trait must follow, checked across the whole trait so that every mistake
//! is reported at once, each on the tokens that make it.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, TraitItem, Type};

use crate::ast::{Method, Output, RpcTrait};

/// Method names the generated client and batch use for themselves.
const RESERVED: &[&str] = &[
    "new",
    "from_client",
    "client",
    "notify",
    "batch",
    "send",
    "into_inner",
];

/// The most params one method may have (the runtime decodes tuples up to this size).
const MAX_PARAMS: usize = 16;

pub(crate) fn check(rpc: &RpcTrait, errors: &mut Vec<syn::Error>) {
    let item = &rpc.item;
    let mut err = |span: Span, msg: &str| errors.push(syn::Error::new(span, msg));
    if !item.generics.params.is_empty() {
        err(
            item.generics.span(),
            "generic `#[rpc]` traits are not supported: the wire has one concrete type per param",
        );
    }
    if let Some(wc) = &item.generics.where_clause {
        err(wc.span(), "`#[rpc]` traits cannot have a where clause");
    }
    if let Some(unsafety) = &item.unsafety {
        err(unsafety.span(), "`#[rpc]` traits cannot be `unsafe`");
    }
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(_) => {}
            other => err(
                other.span(),
                "`#[rpc]` traits hold only methods: move associated types and consts elsewhere",
            ),
        }
    }
    if let Some(ns) = &rpc.args.namespace
        && (ns.value().is_empty() || ns.value().starts_with("rpc"))
    {
        err(
            ns.span(),
            "namespace must be non-empty and must not be `rpc`, which JSON-RPC reserves",
        );
    }
    let client = rpc.args.client.is_some() || rpc.args.server.is_none();
    if let Some(span) = rpc.args.client_impl
        && !client
    {
        err(
            span,
            "`client_impl` needs the client: add `client` or remove `server`",
        );
    }
    for method in &rpc.methods {
        check_method(method, rpc.args.client_impl.is_some(), &mut err);
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    for method in &rpc.methods {
        for (name, span) in method.wire_names() {
            if name.starts_with("rpc.") {
                err(
                    span,
                    &format!(
                        "method name `{name}` starts with `rpc.`, which JSON-RPC reserves for the protocol"
                    ),
                );
            } else if name.is_empty() {
                err(span, "method name must not be empty");
            } else if seen.insert(name.clone(), span).is_some() {
                err(span, &format!("duplicate method name `{name}`"));
            }
        }
    }
}

fn check_method(method: &Method, client_impl: bool, err: &mut impl FnMut(Span, &str)) {
    let sig = &method.item.sig;
    if sig.asyncness.is_none() {
        err(
            sig.fn_token.span(),
            "`#[rpc]` methods must be `async fn`: a remote call always waits",
        );
    }
    if let Some(c) = &sig.constness {
        err(c.span(), "`#[rpc]` methods cannot be `const`");
    }
    if let Some(u) = &sig.unsafety {
        err(u.span(), "`#[rpc]` methods cannot be `unsafe`");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        err(
            sig.generics.span(),
            "generic `#[rpc]` methods are not supported: the wire has one concrete type per param",
        );
    }
    if let Some(v) = &sig.variadic {
        err(
            v.span(),
            "C variadics are not supported; use `#[rpc(variadic)]` on a `Vec` param",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r))
            if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(FnArg::Receiver(r)) => err(
            r.span(),
            "`#[rpc]` methods take `&self`: calls run concurrently",
        ),
        _ => err(sig.ident.span(), "`#[rpc]` methods take `&self` first"),
    }
    let ident = method.ident.to_string();
    if RESERVED.contains(&ident.as_str()) {
        err(
            method.ident.span(),
            &format!(
                "method `{ident}` would collide with the generated client's own `{ident}`; rename it and keep the wire name with `#[rpc(name = \"{ident}\")]`"
            ),
        );
    }
    if method.params.len() > MAX_PARAMS {
        err(
            sig.inputs.span(),
            &format!("`#[rpc]` methods take at most {MAX_PARAMS} params"),
        );
    }
    let last = method.params.len().saturating_sub(1);
    for (i, param) in method.params.iter().enumerate() {
        if let Some(span) = param.variadic
            && i != last
        {
            err(span, "only the last param can be variadic");
        }
        if let Some(span) = borrowed(&param.ty) {
            err(
                span,
                "`#[rpc]` params must be owned types: the value is decoded from the request",
            );
        }
    }
    if let Some(ty) = method.output.ok_type()
        && let Some(span) = borrowed(ty)
    {
        err(span, "`#[rpc]` results must be owned types");
    }
    if client_impl && !matches!(method.output, Output::Result { .. }) {
        let span = match &sig.output {
            syn::ReturnType::Type(_, ty) => ty.span(),
            syn::ReturnType::Default => sig.ident.span(),
        };
        err(
            span,
            "with `client_impl` every method returns `Result<T, E>` with `E: From<rpc_core::Error>`, so that a failed call has somewhere to go",
        );
    }
}

/// The span of a reference, `impl Trait` or bare trait object inside `ty`.
fn borrowed(ty: &Type) -> Option<Span> {
    match ty {
        Type::Reference(r) => Some(r.span()),
        Type::ImplTrait(t) => Some(t.span()),
        Type::TraitObject(t) => Some(t.span()),
        Type::Paren(p) => borrowed(&p.elem),
        Type::Group(g) => borrowed(&g.elem),
        Type::Tuple(t) => t.elems.iter().find_map(borrowed),
        Type::Array(a) => borrowed(&a.elem),
        Type::Slice(s) => Some(s.span()),
        Type::Path(p) => p.path.segments.iter().find_map(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(t) => borrowed(t),
                syn::GenericArgument::Lifetime(l) if l.ident != "static" => Some(l.span()),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}
