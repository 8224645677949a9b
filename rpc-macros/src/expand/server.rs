//! The server side: `{Trait}Server<S>`, which implements `rpc_core::Service` for any `S`
//! implementing the trait, dispatching on the method name with one generated `match`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Runtime, item_ident};
use crate::ast::{Method, Output, RpcTrait};
use crate::attr::ParamStyle;
use crate::type_name::type_name;

pub(super) fn expand(rpc: &RpcTrait<'_>, rt: &Runtime) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let vis = &rpc.item.vis;
    let server = item_ident(rpc, "Server");
    let mut schemas = Schemas::default();
    let infos: Vec<_> = rpc
        .methods
        .iter()
        .map(|m| method_info(m, rt, &mut schemas))
        .collect();
    let schema_fns = schemas.fns(rt);
    let arms = rpc.methods.iter().map(|m| dispatch_arm(rpc, m, rt));
    let core = &rt.core;
    let known = rpc.methods.iter().map(|m| {
        let names = m.wire_names().map(|(n, _)| n);
        let name = &m.name;
        quote!(#(#names)|* => ::core::option::Option::Some(#name),)
    });
    // Unsubscribe methods, each once: several subscriptions may share one.
    let mut unsubscribes: Vec<&str> = Vec::new();
    for m in rpc.methods.iter().filter(|m| m.is_subscription()) {
        if let Some(u) = m
            .subscription
            .as_ref()
            .and_then(|s| s.unsubscribe.as_deref())
            && !unsubscribes.contains(&u)
        {
            unsubscribes.push(u);
        }
    }
    let known_unsubscribes = unsubscribes
        .iter()
        .map(|u| quote!(#u => ::core::option::Option::Some(#u),));
    let subscriptions = rpc.methods.iter().filter(|m| m.is_subscription());
    let subscription_arms = subscriptions.clone().enumerate().map(|(i, m)| {
        let names = m.wire_names().map(|(n, _)| n);
        let sub = m
            .subscription
            .as_ref()
            .expect("a subscription method has its names");
        let notification = &sub.notification;
        let unsubscribe = sub.unsubscribe.as_deref().unwrap_or_default();
        let info = quote::format_ident!("__RPC_SUBSCRIPTION_{}", i);
        quote! {
            #(#names)|* => {
                static #info: #core::SubscriptionInfo =
                    #core::SubscriptionInfo::new(#notification, #unsubscribe);
                ::core::option::Option::Some(#core::Subscribing::Subscribe(&#info))
            }
        }
    });
    let unsubscribe_arm = (!unsubscribes.is_empty()).then(|| {
        quote!(#(#unsubscribes)|* => ::core::option::Option::Some(#core::Subscribing::Unsubscribe),)
    });
    let subscribe_arms = subscriptions.map(|m| subscribe_arm(rpc, m, rt));
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
            pub const INFO: #core::ServiceInfo = {
                #schema_fns
                #core::ServiceInfo::new(#trait_name, #trait_docs, &[#(#infos),*])
            };

            /// The trait's OpenRPC 1.3 document, without a server: for example to write
            /// `openrpc.json` at build time.
            pub fn openrpc() -> #core::serde_json::Value {
                #core::openrpc_document(&Self::INFO)
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl<S: #trait_ident> #core::Service for #server<S> {
            fn services(&self) -> &[&'static #core::ServiceInfo] {
                static __RPC_SERVICES: [&#core::ServiceInfo; 1] = [&#server::<()>::INFO];
                &__RPC_SERVICES
            }

            fn known(&self, __rpc_method: &str) -> ::core::option::Option<&'static str> {
                match __rpc_method {
                    #(#known)*
                    #(#known_unsubscribes)*
                    _ => ::core::option::Option::None,
                }
            }

            fn subscription(
                &self,
                __rpc_method: &str,
            ) -> ::core::option::Option<#core::Subscribing> {
                match __rpc_method {
                    #(#subscription_arms)*
                    #unsubscribe_arm
                    _ => ::core::option::Option::None,
                }
            }

            fn subscribe<'__rpc>(
                &'__rpc self,
                __rpc_method: &'__rpc str,
                __rpc_params: ::core::option::Option<&'__rpc #core::RawValue>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#core::ItemStream, #core::ErrorObject>,
            > + ::core::marker::Send + '__rpc {
                async move {
                    match __rpc_method {
                        #(#subscribe_arms)*
                        _ => ::core::result::Result::Err(
                            #core::ErrorObject::method_not_found(__rpc_method),
                        ),
                    }
                }
            }

            fn call<'__rpc>(
                &'__rpc self,
                __rpc_method: &'__rpc str,
                __rpc_params: ::core::option::Option<&'__rpc #core::RawValue>,
                __rpc_out: &'__rpc mut ::std::vec::Vec<u8>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), #core::ErrorObject>,
            > + ::core::marker::Send + '__rpc {
                async move {
                    match __rpc_method {
                        #(#arms)*
                        _ => ::core::result::Result::Err(
                            #core::ErrorObject::method_not_found(__rpc_method),
                        ),
                    }
                }
            }
        }
    }
}

fn dispatch_arm(rpc: &RpcTrait<'_>, m: &Method<'_>, rt: &Runtime) -> TokenStream {
    // Errors from the runtime bounds land on the user's tokens: the return type for encoding.
    let output_span = output_span(m);
    let core_out = rt.core_at(output_span);
    // Encoding goes through the runtime's probes, so that a type without serde's traits is
    // reported once, by its check, and not again here.
    // Each probe is a constant (`const { .. }`): building one is no call in every arm.
    let write = match &m.output {
        Output::Unit => quote! {
            let () = __rpc_value;
            __rpc_out.extend_from_slice(b"null");
            ::core::result::Result::Ok(())
        },
        Output::Value(ty) => quote_spanned! {output_span=> {
            #[allow(unused_imports)]
            use #core_out::{Write as _, WriteFallback as _};
            (&const { #core_out::Probe::<#ty>::new() }).write(__rpc_out, __rpc_value, __rpc_method)
        }},
        Output::Result { ok, err } => quote_spanned! {output_span=> {
            #[allow(unused_imports)]
            use #core_out::{WriteResult as _, WriteFallback as _};
            (&const { #core_out::Probe::<::core::result::Result<#ok, #err>>::new() })
                .write(__rpc_out, __rpc_value, __rpc_method)
        }},
        Output::Subscription { .. } => {
            // Its items need a connection that stays open: a server calls `subscribe` instead.
            let core = &rt.core;
            let names = m.wire_names().map(|(n, _)| n);
            return quote! {
                #(#names)|* => ::core::result::Result::Err(
                    #core::ErrorObject::subscription_needs_websocket(__rpc_method),
                ),
            };
        }
    };
    call_arm(rpc, m, rt, write)
}

/// The arm of `subscribe` for subscription method `m`: its value becomes the item stream.
fn subscribe_arm(rpc: &RpcTrait<'_>, m: &Method<'_>, rt: &Runtime) -> TokenStream {
    let name = &m.name;
    let output_span = output_span(m);
    let core_out = rt.core_at(output_span);
    let output = match &m.item.sig.output {
        syn::ReturnType::Type(_, ty) => quote!(#ty),
        syn::ReturnType::Default => quote!(()),
    };
    let items = quote_spanned! {output_span=> {
        #[allow(unused_imports)]
        use #core_out::{Items as _, ItemsFallback as _};
        (&#core_out::Probe::<#output>::new()).items(__rpc_value, #name)
    }};
    call_arm(rpc, m, rt, items)
}

/// Where errors about `m`'s result land: its return type.
fn output_span(m: &Method<'_>) -> proc_macro2::Span {
    match &m.item.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => m.ident.span(),
    }
}

/// A `match` arm for every wire name of `m`: decode its params, call it, then `finish` with
/// `__rpc_value`.
fn call_arm(rpc: &RpcTrait<'_>, m: &Method<'_>, rt: &Runtime, finish: TokenStream) -> TokenStream {
    let trait_ident = &rpc.item.ident;
    let core = &rt.core;
    let method = &m.ident;
    let names = m.wire_names().map(|(n, _)| n);
    let idents: Vec<_> = m.params.iter().map(|p| &p.ident).collect();
    let tys = m.params.iter().map(|p| &p.ty);
    let param_names = m.params.iter().map(|p| &p.name);
    let variadic = m.is_variadic();
    let is_object = matches!(m.style, ParamStyle::Object);
    let object = is_object.then(|| quote!(.object()));
    // Each method's tuple is read one way only: its code holds one reader, not both.
    let decode_fn = if is_object {
        quote!(decode_object)
    } else {
        quote!(decode)
    };
    // Errors from the runtime bounds on params land on the param list.
    let params_span = m.item.sig.paren_token.span.join();
    let core_params = rt.core_at(params_span);
    let decode = quote_spanned! {params_span=> {
        #[allow(unused_imports)]
        use #core_params::{Decode as _, DecodeFallback as _};
        (&const { #core_params::Probe::<(#(#tys,)*)>::new() }).#decode_fn(__rpc_params, &__RPC_SIGNATURE)
    }};
    quote! {
        #(#names)|* => {
            static __RPC_SIGNATURE: #core::Signature =
                #core::Signature::new(&[#(#param_names),*], #variadic) #object;
            // A `match` rather than `?`, which would be two more calls in every arm.
            let (#(#idents,)*) = match #decode {
                ::core::result::Result::Ok(__rpc_args) => __rpc_args,
                ::core::result::Result::Err(__rpc_error) => {
                    return ::core::result::Result::Err(__rpc_error);
                }
            };
            let __rpc_value = <S as #trait_ident>::#method(&self.0, #(#idents),*).await;
            #finish
        }
    }
}

fn method_info(m: &Method<'_>, rt: &Runtime, schemas: &mut Schemas) -> TokenStream {
    let core = &rt.core;
    let name = &m.name;
    let docs = &m.docs;
    let params: Vec<_> = m
        .params
        .iter()
        .map(|p| {
            let name = &p.name;
            let ty = type_name(&p.ty);
            let schema = schemas.of(&p.ty);
            let optional = p.optional.then(|| quote!(.optional()));
            let variadic = p.variadic.map(|_| quote!(.variadic()));
            quote!(#core::ParamInfo::new(#name, #ty, #schema) #optional #variadic)
        })
        .collect();
    let aliases = (!m.aliases.is_empty()).then(|| {
        let aliases = &m.aliases;
        quote!(.with_aliases(&[#(#aliases),*]))
    });
    let result = m.output.ok_type().map(|ty| {
        let (name, schema) = (type_name(ty), schemas.of(ty));
        quote!(.with_result(#name, #schema))
    });
    let error = m.output.err_type().map(|ty| {
        let (name, schema) = (type_name(ty), schemas.of(ty));
        quote!(.with_error(#name, #schema))
    });
    let deprecated = m
        .deprecated
        .as_ref()
        .map(|note| quote!(.with_deprecated(#note)));
    let idempotent = m.idempotent.then(|| quote!(.with_idempotent()));
    let ordered = m.ordered.map(|_| quote!(.with_ordered()));
    let subscription = m
        .subscription
        .as_ref()
        .filter(|_| m.is_subscription())
        .map(|s| {
            let notification = &s.notification;
            let unsubscribe = s.unsubscribe.as_deref().unwrap_or_default();
            quote!(.with_subscription(#notification, #unsubscribe))
        });
    quote! {
        #core::MethodInfo::new(#name, #docs, &[#(#params),*])
            #aliases #result #error #deprecated #idempotent #subscription #ordered
    }
}

/// The functions writing the JSON Schemas of the trait's types, one per distinct type: a trait
/// whose fifty methods take `i64`s has one function for `i64`, not one per param (each would be
/// compiled, and coerced to a function pointer through a shim of its own).
#[derive(Default)]
struct Schemas {
    /// Each distinct type, in order of first use; its function is `__rpc_schema_{index}`.
    types: Vec<(String, syn::Type)>,
}

impl Schemas {
    /// The function for `ty`'s schema, added if the type is new.
    fn of(&mut self, ty: &syn::Type) -> syn::Ident {
        let key = quote!(#ty).to_string();
        let index = match self.types.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                self.types.push((key, ty.clone()));
                self.types.len() - 1
            }
        };
        quote::format_ident!("__rpc_schema_{}", index)
    }

    /// The functions, each writing its type's schema from `schemars::JsonSchema` when the type
    /// has it, and an open schema naming the type otherwise.
    fn fns(&self, rt: &Runtime) -> TokenStream {
        let core = &rt.core;
        let fns = self.types.iter().enumerate().map(|(i, (_, ty))| {
            let ident = quote::format_ident!("__rpc_schema_{}", i);
            let name = type_name(ty);
            quote! {
                fn #ident(
                    __rpc_generator: &mut #core::schemars::SchemaGenerator,
                ) -> #core::schemars::Schema {
                    #[allow(unused_imports)]
                    use #core::{ViaJsonSchema as _, ViaRustType as _};
                    (&#core::SchemaProbe::<#ty>::new(#name)).schema(__rpc_generator)
                }
            }
        });
        quote!(#(#fns)*)
    }
}
