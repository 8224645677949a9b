//! The server side: `{Trait}Server<S>`, which implements `rpc_core::Service` for any `S`
//! implementing the trait, dispatching on the method name with one generated `match`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{assert_type, item_ident};
use crate::ast::{Method, Output, RpcTrait};

pub(super) fn expand(rpc: &RpcTrait) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let vis = &rpc.item.vis;
    let server = item_ident(rpc, "Server");
    let infos = rpc.methods.iter().map(method_info);
    let arms = rpc.methods.iter().map(|m| dispatch_arm(rpc, m));
    let checks = rpc.methods.iter().flat_map(type_checks);
    let trait_name = trait_ident.to_string();
    let trait_docs = &rpc.docs;
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

        impl #server<()> {
            /// The trait as the wire sees it: names, docs, params and schemas of every method.
            pub const INFO: ::rpc_core::meta::ServiceInfo = ::rpc_core::meta::ServiceInfo {
                name: #trait_name,
                docs: #trait_docs,
                methods: &[#(#infos),*],
            };

            /// The trait's OpenRPC 1.3 document, without a server: for example to write
            /// `openrpc.json` at build time.
            pub fn openrpc() -> ::rpc_core::__private::serde_json::Value {
                ::rpc_core::openrpc::document(&Self::INFO)
            }
        }

        const _: () = { #(#checks)* };

        #[automatically_derived]
        #[allow(deprecated)]
        impl<S: #trait_ident> ::rpc_core::Service for #server<S> {
            fn info(&self) -> &'static ::rpc_core::meta::ServiceInfo {
                &#server::<()>::INFO
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
    // Errors from the runtime bounds land on the user's tokens: the param list for decoding,
    // the return type for encoding.
    let sig = &m.item.sig;
    let params_span = sig.paren_token.span.join();
    let output_span = match &sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => m.ident.span(),
    };
    let write = match &m.output {
        Output::Unit => quote! {
            let () = __rpc_value;
            __rpc_out.extend_from_slice(b"null");
            ::core::result::Result::Ok(())
        },
        Output::Value(_) => quote_spanned! {output_span=>
            ::rpc_core::__private::write_value(__rpc_out, &__rpc_value)
        },
        Output::Result { .. } => quote_spanned! {output_span=>
            ::rpc_core::__private::write_result(__rpc_out, __rpc_value)
        },
    };
    let decode = quote_spanned! {params_span=>
        ::rpc_core::params::decode::<(#(#tys,)*)>(__rpc_params, &__RPC_SIGNATURE)
    };
    quote! {
        #(#names)|* => {
            static __RPC_SIGNATURE: ::rpc_core::params::Signature =
                ::rpc_core::params::Signature::new(&[#(#param_names),*], #variadic);
            let (#(#idents,)*) = #decode?;
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
        let schema = schema_fn(&p.ty);
        quote! {
            ::rpc_core::meta::ParamInfo {
                name: #name,
                ty: #ty,
                optional: #optional,
                variadic: #variadic,
                schema: #schema,
            }
        }
    });
    let some = |tokens: Option<TokenStream>| match tokens {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };
    let result = some(m.output.ok_type().map(|t| {
        let s = type_string(t);
        quote!(#s)
    }));
    let result_schema = some(m.output.ok_type().map(schema_fn));
    let error = some(m.output.err_type().map(|t| {
        let s = type_string(t);
        quote!(#s)
    }));
    let error_schema = some(m.output.err_type().map(schema_fn));
    let deprecated = some(m.deprecated.as_ref().map(|note| quote!(#note)));
    quote! {
        ::rpc_core::meta::MethodInfo {
            name: #name,
            aliases: &[#(#aliases),*],
            docs: #docs,
            params: &[#(#params),*],
            result: #result,
            result_schema: #result_schema,
            error: #error,
            error_schema: #error_schema,
            deprecated: #deprecated,
        }
    }
}

/// A function writing `ty`'s JSON Schema: from `schemars::JsonSchema` when the type has it, an
/// open schema naming the type otherwise.
fn schema_fn(ty: &syn::Type) -> TokenStream {
    let name = type_string(ty);
    quote! {
        |__rpc_generator| {
            #[allow(unused_imports)]
            use ::rpc_core::__private::{ViaJsonSchema as _, ViaRustType as _};
            (&::rpc_core::__private::SchemaProbe::<#ty>::new(#name)).schema(__rpc_generator)
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
