//! Writing the code: the user's trait made `Send`-able, then the server and client sides.

mod client;
mod server;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemTrait, ReturnType, TraitItem};

use crate::ast::{Method, RpcTrait};
use crate::attr::TraitArgs;
use crate::valid;

/// The entry point: parse, validate, expand; on any error, the errors plus the user's trait.
pub(crate) fn rpc(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let item: ItemTrait = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let mut e = syn::Error::new(proc_macro2::Span::call_site(), "`#[rpc]` goes on a trait");
            if let Ok(other) = syn::parse2::<syn::Item>(item) {
                e = syn::Error::new(other.span(), "`#[rpc]` goes on a trait, not on this item");
            }
            return Err(e);
        }
    };
    let mut errors = Vec::new();
    let args = match TraitArgs::parse(attr) {
        Ok(args) => args,
        Err(e) => {
            errors.push(e);
            TraitArgs::default()
        }
    };
    let rpc = RpcTrait::parse(args, item.clone(), &mut errors);
    valid::check(&rpc, &mut errors);
    if let Some(combined) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        // Emit the user's trait (our attributes removed) beside the errors, so that one mistake
        // does not turn every use of the trait into another error.
        let trait_tokens = fallback_trait(&rpc);
        let errors = combined.into_compile_error();
        return Ok(quote! { #trait_tokens #errors });
    }
    Ok(expand(&rpc))
}

fn expand(rpc: &RpcTrait) -> TokenStream {
    let server_wanted = rpc.args.server.is_some() || rpc.args.client.is_none();
    let client_wanted = rpc.args.client.is_some() || rpc.args.server.is_none();
    let the_trait = rewrite_trait(rpc);
    let mut generated = TokenStream::new();
    if server_wanted {
        generated.extend(server::expand(rpc));
    }
    if client_wanted {
        generated.extend(client::expand(rpc));
    }
    // Generated code names our crates `::rpc_core` and `::rpc_client`; a crate that renames
    // them says where they are, and every such path is pointed there.
    if let Some(path) = &rpc.args.rpc_core {
        generated = rebase(generated, "rpc_core", &quote!(#path));
    }
    if let Some(path) = &rpc.args.rpc_client {
        generated = rebase(generated, "rpc_client", &quote!(#path));
    }
    quote! {
        #the_trait
        #generated
    }
}

/// `tokens` with every absolute path `::krate` replaced by `to`.
fn rebase(tokens: TokenStream, krate: &str, to: &TokenStream) -> TokenStream {
    use proc_macro2::{Group, Spacing, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(name), ..] = &trees[i..]
            && a.as_char() == ':'
            && a.spacing() == Spacing::Joint
            && b.as_char() == ':'
            && name == krate
            // `a::rpc_core` is not the crate: only a path that starts at `::` is.
            && !matches!(out.last(), Some(TokenTree::Ident(_)))
        {
            out.extend(to.clone());
            i += 3;
            continue;
        }
        match &trees[i] {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rebase(g.stream(), krate, to));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// The trait as written but with our attributes removed, for error output.
fn fallback_trait(rpc: &RpcTrait) -> TokenStream {
    let mut item = rpc.item.clone();
    crate::ast::strip_rpc_attrs(&mut item.attrs);
    // A pattern other than an identifier is already reported; `_` keeps rustc from repeating it.
    for trait_item in &mut item.items {
        if let TraitItem::Fn(f) = trait_item
            && f.default.is_none()
        {
            for input in &mut f.sig.inputs {
                if let syn::FnArg::Typed(pat) = input
                    && !matches!(*pat.pat, syn::Pat::Ident(_))
                {
                    *pat.pat = syn::parse_quote!(_);
                }
            }
        }
    }
    quote!(#item)
}

/// The user's trait with each `async fn` turned into a `fn` returning a `Send` future, so that a
/// server can run calls on any thread, and with `Send + Sync + 'static` as supertraits.
fn rewrite_trait(rpc: &RpcTrait) -> TokenStream {
    let mut item = rpc.item.clone();
    crate::ast::strip_rpc_attrs(&mut item.attrs);
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    if item.colon_token.is_none() {
        item.colon_token = Some(Default::default());
    }
    let mut methods = rpc.methods.iter();
    for trait_item in &mut item.items {
        let TraitItem::Fn(f) = trait_item else {
            continue;
        };
        let Some(method) = methods.next() else { break };
        *f = method.item.clone();
        let output = match &f.sig.output {
            ReturnType::Default => quote!(()),
            ReturnType::Type(_, ty) => quote!(#ty),
        };
        let span = f.sig.output.span();
        f.sig.asyncness = None;
        f.sig.output = syn::parse_quote_spanned! {span=>
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
        };
        if let Some(body) = f.default.take() {
            f.default = Some(syn::parse_quote!({ async move #body }));
        }
    }
    quote!(#item)
}

/// The identifier of a generated item: the trait's name with a suffix.
fn item_ident(rpc: &RpcTrait, suffix: &str) -> syn::Ident {
    format_ident!("{}{}", rpc.item.ident, suffix)
}

/// `#[deprecated]` for generated items that stand for a deprecated method.
fn deprecated_attr(method: &Method) -> TokenStream {
    match &method.deprecated {
        Some(note) if !note.is_empty() => quote!(#[deprecated = #note]),
        Some(_) => quote!(#[deprecated]),
        None => quote!(),
    }
}

/// Per-type compile-time checks, each pointing at the user's own type.
fn assert_type(path: &str, ty: &syn::Type) -> TokenStream {
    let check = format_ident!("{}", path);
    quote_spanned! {ty.span()=>
        ::rpc_core::__private::#check::<#ty>();
    }
}

/// `tokens` with every span set to `span`, so that a type error anywhere in them is reported at
/// the user's tokens rather than at the attribute.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = proc_macro2::TokenTree::Group(group);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn rebase_points_absolute_paths_elsewhere() {
        let code = quote! {
            ::rpc_core::Error; ::rpc_core::params::decode::<(u8,)>(p, &S);
            f(::rpc_core::ErrorObject::internal_error());
            not::rpc_core::Thing; ::rpc_client::Client;
        };
        let rebased = super::rebase(code, "rpc_core", &quote!(::my::core));
        let text = rebased.to_string();
        assert_eq!(
            text.matches(":: rpc_core ::").count(),
            1,
            "only `not::rpc_core` stays: {text}"
        );
        assert_eq!(text.matches(":: my :: core ::").count(), 3, "{text}");
        assert!(text.contains("not :: rpc_core :: Thing"), "{text}");
        assert!(text.contains(":: rpc_client :: Client"), "{text}");
    }
}
