//! The rules an `#[rpc]` trait must follow, checked across the whole trait so that every mistake
//! is reported at once, each on the tokens that make it.

use std::collections::HashMap;

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{FnArg, LitStr, TraitItem, Type};

use crate::ast::{Method, Output, RpcTrait};
use crate::limits::MAX_PARAMS;

/// Method names the generated client and batch use for themselves.
const RESERVED: &[&str] = &[
    "new",
    "builder",
    "from_client",
    "client",
    "notify",
    "batch",
    "send",
    "into_inner",
];

/// Where the errors go: `at` a span, or `on` whole tokens so the error underlines all of them.
struct Errors<'a>(&'a mut Vec<syn::Error>);

impl Errors<'_> {
    fn at(&mut self, span: Span, msg: impl Display) {
        self.0.push(syn::Error::new(span, msg));
    }

    fn on(&mut self, tokens: &dyn ToTokens, msg: impl Display) {
        self.0
            .push(syn::Error::new_spanned(tokens.to_token_stream(), msg));
    }
}

pub(crate) fn check(rpc: &RpcTrait, errors: &mut Vec<syn::Error>) {
    let item = &rpc.item;
    let mut err = Errors(errors);
    if !item.generics.params.is_empty() {
        err.on(
            &item.generics,
            "generic `#[rpc]` traits are not supported: the wire has one concrete type per param",
        );
    }
    if let Some(wc) = &item.generics.where_clause {
        err.on(wc, "`#[rpc]` traits cannot have a where clause");
    }
    if let Some(unsafety) = &item.unsafety {
        err.on(unsafety, "`#[rpc]` traits cannot be `unsafe`");
    }
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(_) => {}
            other => err.on(
                other,
                "`#[rpc]` traits hold only methods: move associated types and consts elsewhere",
            ),
        }
    }
    let reserved_namespace = rpc.args.namespace.as_ref().is_some_and(|ns| {
        let ns = ns.value();
        ns.is_empty() || ns == "rpc" || ns.starts_with("rpc.")
    });
    if let Some(ns) = rpc.args.namespace.as_ref().filter(|_| reserved_namespace) {
        err.at(
            ns.span(),
            "namespace must be non-empty and must not be `rpc`, which JSON-RPC reserves",
        );
    }
    if let Some(span) = rpc.args.client_impl
        && !rpc.args.wants_client()
    {
        err.at(
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
                // A reserved namespace has been reported once already.
                if reserved_namespace {
                    continue;
                }
                err.at(
                    span,
                    format!(
                        "method name `{name}` starts with `rpc.`, which JSON-RPC reserves for the protocol"
                    ),
                );
            } else if name.is_empty() {
                err.at(span, "method name must not be empty");
            } else if let Some(first) = seen.insert(name.clone(), span)
                // A client may call one wire name through several Rust methods (by position and
                // by name, say); a server can answer it with one only.
                && rpc.args.wants_server()
            {
                err.at(span, format!("duplicate method name `{name}`"));
                err.at(first, format!("`{name}` is first used here"));
            }
        }
    }
    // Several subscriptions may share one unsubscribe method; a method may not have its name.
    for method in &rpc.methods {
        let Some(sub) = &method.subscription else {
            continue;
        };
        if let Some(unsubscribe) = &sub.unsubscribe
            && seen.contains_key(unsubscribe)
        {
            let span = method
                .unsubscribe_arg
                .as_ref()
                .map_or(sub.notification.span(), LitStr::span);
            err.at(
                span,
                format!("the unsubscribe method `{unsubscribe}` has the name of a method"),
            );
        }
    }
}

fn check_subscription(method: &Method<'_>, client_impl: bool, err: &mut Errors<'_>) {
    let output_tokens: &dyn ToTokens = match &method.item.sig.output {
        syn::ReturnType::Type(_, ty) => ty,
        syn::ReturnType::Default => method.ident,
    };
    let returns_subscription = matches!(method.output, Output::Subscription { .. });
    match (&method.subscription_arg, returns_subscription) {
        (None, true) => err.on(
            output_tokens,
            "a method returning `Subscription` subscribes: name the notification its items arrive in with `#[rpc(subscription = \"NAME\")]`",
        ),
        (Some(_), false) => err.on(
            output_tokens,
            "a subscription method returns `Subscription<T>` or `Subscription<T, E>`, or `Result<Subscription<T, E>, E>` to refuse some subscriptions",
        ),
        _ => {}
    }
    if method.subscription_arg.is_none() {
        if let Some(lit) = &method.unsubscribe_arg {
            err.at(
                lit.span(),
                "`unsubscribe` goes with `subscription = \"NAME\"`, on a subscription method",
            );
        }
        return;
    }
    if let Some(sub) = &method.subscription {
        if sub.notification.value().is_empty() {
            err.at(
                sub.notification.span(),
                "the notification name must not be empty",
            );
        }
        match &sub.unsubscribe {
            None => err.at(
                sub.notification.span(),
                "name the method that ends this subscription with `unsubscribe = \"NAME\"` (it is derived only from a name starting with `subscribe`)",
            ),
            Some(u) if u.is_empty() || u.starts_with("rpc.") => err.at(
                method.unsubscribe_arg.as_ref().map_or(sub.notification.span(), LitStr::span),
                "the unsubscribe method's name must be non-empty and must not start with `rpc.`",
            ),
            Some(_) => {}
        }
    }
    if let Output::Subscription {
        err: stream_err,
        refusal: Some(refusal),
        ..
    } = &method.output
    {
        let same = match stream_err {
            Some(e) => e.to_token_stream().to_string() == refusal.to_token_stream().to_string(),
            None => last_ident(refusal).is_some_and(|i| i == "ErrorObject"),
        };
        if !same {
            err.on(
                refusal,
                "a subscription is refused with the same error type its stream fails with: write `Result<Subscription<T, E>, E>`",
            );
        }
    }
    if client_impl {
        err.on(
            output_tokens,
            "subscriptions cannot be in a `client_impl` trait: the client answers them with a stream of its own, `rpc_client::Subscription`; generate the client without `client_impl`",
        );
    }
}

fn last_ident(ty: &Type) -> Option<&syn::Ident> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}

fn check_method(method: &Method<'_>, client_impl: bool, err: &mut Errors<'_>) {
    let sig = &method.item.sig;
    if sig.asyncness.is_none() {
        err.on(
            &sig.fn_token,
            "`#[rpc]` methods must be `async fn`: a remote call always waits",
        );
    }
    if let Some(c) = &sig.constness {
        err.on(c, "`#[rpc]` methods cannot be `const`");
    }
    if let Some(u) = &sig.unsafety {
        err.on(u, "`#[rpc]` methods cannot be `unsafe`");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        err.on(
            &sig.generics,
            "generic `#[rpc]` methods are not supported: the wire has one concrete type per param",
        );
    }
    if let Some(v) = &sig.variadic {
        err.on(
            v,
            "C variadics are not supported; use `#[rpc(variadic)]` on a `Vec` param",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r))
            if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            err.on(r, "`#[rpc]` methods take `&self`: calls run concurrently")
        }
        _ => err.on(&sig.ident, "`#[rpc]` methods take `&self` first"),
    }
    let ident = method.ident.to_string();
    if RESERVED.contains(&ident.as_str()) {
        err.on(
            method.ident,
            format!(
                "method `{ident}` would collide with the generated client's own `{ident}`; rename it and keep the wire name with `#[rpc(name = \"{ident}\")]`"
            ),
        );
    }
    if matches!(method.style, crate::attr::ParamStyle::Object)
        && (method.params.len() != 1 || method.params.iter().any(|p| p.variadic.is_some()))
    {
        err.on(
            &sig.inputs,
            "`params = \"object\"` takes exactly one param, the whole params object (a struct deriving `Deserialize`)",
        );
    }
    if let Some(span) = method.ordered
        && !matches!(method.output, Output::Unit)
    {
        err.at(
            span,
            "`ordered` is for notification methods, which return `()`: a call with an answer runs concurrently",
        );
    }
    if method.params.len() > MAX_PARAMS {
        err.on(
            &sig.inputs,
            format!("`#[rpc]` methods take at most {MAX_PARAMS} params"),
        );
    }
    let last = method.params.len().saturating_sub(1);
    for (i, param) in method.params.iter().enumerate() {
        if let Some(span) = param.variadic
            && i != last
        {
            err.at(span, "only the last param can be variadic");
        }
        match not_owned(&param.ty) {
            Some((tokens, NotOwned::Opaque)) => err.on(
                &tokens,
                "`#[rpc]` params cannot be `impl Trait` or `dyn Trait`: the value is decoded from the request into one concrete type; name that type",
            ),
            Some((tokens, NotOwned::Borrowed)) => err.on(
                &tokens,
                "`#[rpc]` params must be owned types: the value is decoded from the request",
            ),
            None => {}
        }
    }
    match method.output.ok_type().and_then(not_owned) {
        Some((tokens, NotOwned::Opaque)) => err.on(
            &tokens,
            "`#[rpc]` results cannot be `impl Trait` or `dyn Trait`: the client decodes one concrete type; name that type",
        ),
        Some((tokens, NotOwned::Borrowed)) => {
            err.on(&tokens, "`#[rpc]` results must be owned types")
        }
        None => {}
    }
    check_subscription(method, client_impl, err);
    if client_impl
        && !matches!(
            method.output,
            Output::Result { .. } | Output::Subscription { .. }
        )
    {
        let msg = "with `client_impl` every method returns `Result<T, E>` with `E: From<rpc_core::Error>`, so that a failed call has somewhere to go (write `Result<T, E>` out: the macro cannot see through type aliases)";
        match &sig.output {
            syn::ReturnType::Type(_, ty) => err.on(ty, msg),
            syn::ReturnType::Default => err.on(&sig.ident, msg),
        }
    }
}

/// Why a type cannot cross the wire as it is written.
enum NotOwned {
    /// `impl Trait` or `dyn Trait`: no one concrete type to decode into.
    Opaque,
    /// A reference, a slice or a non-`'static` lifetime: nothing owns the decoded value.
    Borrowed,
}

/// The tokens of a reference, `impl Trait`, trait object, slice or non-`'static` lifetime
/// inside `ty`, and which it is.
fn not_owned(ty: &Type) -> Option<(proc_macro2::TokenStream, NotOwned)> {
    match ty {
        Type::ImplTrait(_) | Type::TraitObject(_) => Some((ty.to_token_stream(), NotOwned::Opaque)),
        Type::Reference(_) | Type::Slice(_) => Some((ty.to_token_stream(), NotOwned::Borrowed)),
        Type::Paren(p) => not_owned(&p.elem),
        Type::Group(g) => not_owned(&g.elem),
        Type::Tuple(t) => t.elems.iter().find_map(not_owned),
        Type::Array(a) => not_owned(&a.elem),
        Type::Path(p) => p.path.segments.iter().find_map(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(t) => not_owned(t),
                syn::GenericArgument::Lifetime(l) if l.ident != "static" => {
                    Some((l.to_token_stream(), NotOwned::Borrowed))
                }
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}
