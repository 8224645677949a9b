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
    let rpc = RpcTrait::parse(args, &item, &mut errors);
    valid::check(&rpc, &mut errors);
    let runtime = Runtime::find(&rpc.args);
    if let Err(e) = &runtime {
        errors.push(e.clone());
    }
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
    runtime.map(|runtime| expand(&rpc, &runtime))
}

/// Where generated code finds the runtime: each crate's private module, under the path the user
/// gave for a renamed crate (`#[rpc(rpc_core = "..")]`) or the crate's own name.
pub(crate) struct Runtime {
    /// `rpc-core`'s private module.
    pub(crate) core: TokenStream,
    /// `rpc-client`'s private module.
    pub(crate) client: TokenStream,
    /// Whether `core` is the user's own path, whose spans already point at their tokens.
    core_renamed: bool,
}

/// The one module each runtime crate keeps for generated code; it changes name with the contract.
const PRIVATE: &str = "__private_v0_1";

impl Runtime {
    /// `rpc-core`'s private module with every token at `span`, for a call whose errors should
    /// point at the user's tokens rather than at the attribute.
    /// A path the user gave keeps its spans, so that a wrong one is reported once, on it.
    pub(crate) fn core_at(&self, span: proc_macro2::Span) -> TokenStream {
        if self.core_renamed {
            return self.core.clone();
        }
        respan(self.core.clone(), span)
    }

    /// The runtime crates: where the arguments say, or where the user's Cargo.toml has them
    /// (under their own name or a rename). A client without `rpc-client` among the
    /// dependencies is one error that says what to do.
    fn find(args: &TraitArgs) -> syn::Result<Self> {
        let private = format_ident!("{PRIVATE}");
        let at = |path: &Option<syn::Path>, package: &str| -> Result<TokenStream, ()> {
            if let Some(path) = path {
                return Ok(quote!(#path::#private));
            }
            let name = match proc_macro_crate::crate_name(package) {
                Ok(proc_macro_crate::FoundCrate::Name(name)) => name,
                // The package itself (its doctests) or a manifest that could not be read (a
                // build without Cargo): the crate's own name is the best guess.
                Ok(proc_macro_crate::FoundCrate::Itself) => package.replace('-', "_"),
                Err(proc_macro_crate::Error::CrateNotFound { .. }) => return Err(()),
                Err(_) => package.replace('-', "_"),
            };
            let krate = format_ident!("{name}");
            Ok(quote!(::#krate::#private))
        };
        let core = at(&args.rpc_core, "rpc-core").unwrap_or_else(|()| {
            // Reached through a facade that re-exports `#[rpc]`: name it with `rpc_core = ".."`.
            quote!(::rpc_core::#private)
        });
        let client = match at(&args.rpc_client, "rpc-client") {
            Ok(client) => client,
            Err(()) if !args.wants_client() => TokenStream::new(),
            Err(()) => {
                return Err(syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "`#[rpc]` generates a client, which needs the `rpc-client` crate: add `rpc-client` to this crate's [dependencies], or write `#[rpc(server)]` to generate the server only",
                ));
            }
        };
        Ok(Runtime {
            core,
            client,
            core_renamed: args.rpc_core.is_some(),
        })
    }
}

fn expand(rpc: &RpcTrait<'_>, rt: &Runtime) -> TokenStream {
    let the_trait = rewrite_trait(rpc);
    let shared = arc_impl(rpc);
    let checks = rpc.methods.iter().flat_map(|m| type_checks(rpc, m, rt));
    let server = rpc.args.wants_server().then(|| server::expand(rpc, rt));
    let client = rpc.args.wants_client().then(|| client::expand(rpc, rt));
    quote! {
        #the_trait
        #shared
        const _: () = { #(#checks)* };
        #server
        #client
    }
}

/// Compile-time checks that every type of `m` crosses the wire the ways the generated sides
/// need, each reported on the user's own type: one check per type and need, so that one missing
/// impl is one error.
fn type_checks<'m>(
    rpc: &RpcTrait<'_>,
    m: &'m Method<'_>,
    rt: &'m Runtime,
) -> impl Iterator<Item = TokenStream> + 'm {
    let client = rpc.args.wants_client();
    let (param, result) = match (rpc.args.wants_server(), client) {
        (true, true) => ("param", "result"),
        (true, false) => ("server_param", "server_result"),
        _ => ("client_param", "client_result"),
    };
    let params = m.params.iter().map(move |p| assert_type(rt, param, &p.ty));
    let variadic = m
        .params
        .last()
        .filter(|p| client && p.variadic.is_some())
        .map(|p| assert_type(rt, "client_variadic", &p.ty));
    let result = m.output.ok_type().map(|ok| assert_type(rt, result, ok));
    let error = m
        .output
        .err_type()
        .map(|err| assert_type(rt, "method_error", err));
    params.chain(variadic).chain(result).chain(error)
}

/// The trait as written but with our attributes removed, for error output.
fn fallback_trait(rpc: &RpcTrait<'_>) -> TokenStream {
    let mut item = crate::ast::clean(rpc.item);
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
fn rewrite_trait(rpc: &RpcTrait<'_>) -> TokenStream {
    let mut item = crate::ast::clean(rpc.item);
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    if item.colon_token.is_none() {
        item.colon_token = Some(Default::default());
    }
    for trait_item in &mut item.items {
        let TraitItem::Fn(f) = trait_item else {
            continue;
        };
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

/// `impl Trait for Arc<T>` forwarding every method, so that one implementation can be shared:
/// served (`FooServer(Arc::new(imp))`) and used locally at once.
fn arc_impl(rpc: &RpcTrait<'_>) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let methods = rpc.methods.iter().map(|m| {
        let ident = m.ident;
        let args = m.params.iter().map(|p| {
            let (ident, ty) = (&p.ident, &p.ty);
            quote!(#ident: #ty)
        });
        let idents = m.params.iter().map(|p| &p.ident);
        let output = match &m.item.sig.output {
            ReturnType::Default => quote!(()),
            ReturnType::Type(_, ty) => quote!(#ty),
        };
        quote! {
            fn #ident(&self, #(#args),*)
                -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
            {
                <__RpcShared as #trait_ident>::#ident(self, #(#idents),*)
            }
        }
    });
    quote! {
        #[automatically_derived]
        #[allow(deprecated)]
        impl<__RpcShared: #trait_ident> #trait_ident for ::std::sync::Arc<__RpcShared> {
            #(#methods)*
        }
    }
}

/// The identifier of a generated item: the trait's name with a suffix.
fn item_ident(rpc: &RpcTrait<'_>, suffix: &str) -> syn::Ident {
    format_ident!("{}{}", rpc.item.ident, suffix)
}

/// `#[deprecated]` for generated items that stand for a deprecated method.
fn deprecated_attr(method: &Method<'_>) -> TokenStream {
    match &method.deprecated {
        Some(note) if !note.is_empty() => quote!(#[deprecated = #note]),
        Some(_) => quote!(#[deprecated]),
        None => quote!(),
    }
}

/// A compile-time check that `ty` meets the bound of the runtime's `check` function, pointing
/// at the user's own type.
fn assert_type(rt: &Runtime, check: &str, ty: &syn::Type) -> TokenStream {
    let check = format_ident!("{check}");
    let core = rt.core_at(ty.span());
    quote_spanned! {ty.span()=>
        #core::#check::<#ty>();
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
