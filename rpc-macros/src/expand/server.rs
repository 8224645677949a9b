//! The server side: `{Trait}Server<S>`, which implements `rpc_core::Service` for any `S`
//! implementing the trait, dispatching on the method name with one generated `match`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{assert_type, item_ident};
use crate::ast::{Method, Output, RpcTrait};
use crate::attr::ParamStyle;

pub(super) fn expand(rpc: &RpcTrait) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let vis = &rpc.item.vis;
    let server = item_ident(rpc, "Server");
    let infos = rpc.methods.iter().map(method_info);
    let arms = rpc.methods.iter().map(|m| dispatch_arm(rpc, m));
    let checks = rpc.methods.iter().flat_map(type_checks);
    let doc = format!(
        "Serves any [`{trait_ident}`] implementation as JSON-RPC 2.0.\n\n\
         Hand it to `rpc_server::router` (or `rpc_server::RpcService`) to get an axum route:\n\
         every method of the trait answers at that route, by position or by name."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #server<S>(
            /// The implementation calls are dispatched to.
            pub S,
        );

        impl<S> #server<S> {
            /// What each method of the trait looks like on the wire, for introspection.
            pub const METHODS: &'static [::rpc_core::meta::MethodInfo] = &[#(#infos),*];
        }

        const _: () = { #(#checks)* };

        #[automatically_derived]
        #[allow(deprecated)]
        impl<S: #trait_ident> ::rpc_core::Service for #server<S> {
            fn methods(&self) -> &'static [::rpc_core::meta::MethodInfo] {
                Self::METHODS
            }

            fn call<'__rpc>(
                &'__rpc self,
                __rpc_method: &'__rpc str,
                __rpc_params: ::core::option::Option<&'__rpc ::rpc_core::__private::RawValue>,
                __rpc_out: &'__rpc mut ::std::vec::Vec<u8>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), ::rpc_core::ErrorObject>,
            > + ::core::marker::Send + '__rpc {
                async move {
                    match __rpc_method {
                        #(#arms)*
                        _ => ::core::result::Result::Err(
                            ::rpc_core::ErrorObject::method_not_found(__rpc_method),
                        ),
                    }
                }
            }
        }
    }
}

fn dispatch_arm(rpc: &RpcTrait, m: &Method) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let method = &m.ident;
    let names = m.wire_names().map(|(n, _)| n);
    let idents: Vec<_> = m.params.iter().map(|p| &p.ident).collect();
    let tys = m.params.iter().map(|p| &p.ty);
    let param_names = m.params.iter().map(|p| &p.name);
    let variadic = m.is_variadic();
    let write = match &m.output {
        Output::Unit => quote! {
            let () = __rpc_value;
            __rpc_out.extend_from_slice(b"null");
            ::core::result::Result::Ok(())
        },
        Output::Value(_) => quote! {
            ::rpc_core::__private::write_value(__rpc_out, &__rpc_value)
        },
        Output::Result { .. } => quote! {
            ::rpc_core::__private::write_result(__rpc_out, __rpc_value)
        },
    };
    quote! {
        #(#names)|* => {
            static __RPC_SIGNATURE: ::rpc_core::params::Signature =
                ::rpc_core::params::Signature::new(&[#(#param_names),*], #variadic);
            let (#(#idents,)*) = ::rpc_core::params::decode::<(#(#tys,)*)>(
                __rpc_params,
                &__RPC_SIGNATURE,
            )?;
            let __rpc_value = <S as #trait_ident>::#method(&self.0, #(#idents),*).await;
            #write
        }
    }
}

fn type_checks(m: &Method) -> Vec<TokenStream> {
    let mut checks: Vec<_> = m
        .params
        .iter()
        .map(|p| assert_type("server_param", &p.ty))
        .collect();
    if let Some(ok) = m.output.ok_type() {
        checks.push(assert_type("server_result", ok));
    }
    if let Some(err) = m.output.err_type() {
        checks.push(assert_type("rpc_error", err));
    }
    checks
}

fn method_info(m: &Method) -> TokenStream {
    let name = &m.name;
    let aliases = &m.aliases;
    let docs = &m.docs;
    let params = m.params.iter().map(|p| {
        let name = &p.name;
        let ty = type_string(&p.ty);
        let optional = p.optional;
        let variadic = p.variadic.is_some();
        quote! {
            ::rpc_core::meta::ParamInfo {
                name: #name,
                ty: #ty,
                optional: #optional,
                variadic: #variadic,
            }
        }
    });
    let result = m
        .output
        .ok_type()
        .map_or_else(|| "()".to_owned(), type_string);
    let error = match m.output.err_type() {
        Some(e) => {
            let e = type_string(e);
            quote!(::core::option::Option::Some(#e))
        }
        None => quote!(::core::option::Option::None),
    };
    let deprecated = match &m.deprecated {
        Some(note) => quote!(::core::option::Option::Some(#note)),
        None => quote!(::core::option::Option::None),
    };
    let notification = m.is_notification();
    let structure = match m.style {
        ParamStyle::Positional => quote!(::rpc_core::meta::ParamStructure::Either),
        ParamStyle::Named => quote!(::rpc_core::meta::ParamStructure::ByName),
    };
    quote! {
        ::rpc_core::meta::MethodInfo {
            name: #name,
            aliases: &[#(#aliases),*],
            docs: #docs,
            params: &[#(#params),*],
            result: #result,
            error: #error,
            deprecated: #deprecated,
            notification: #notification,
            param_structure: #structure,
        }
    }
}

/// A type as the user wrote it, spaced the way rustfmt would.
fn type_string(ty: &syn::Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace("& ", "&")
}
