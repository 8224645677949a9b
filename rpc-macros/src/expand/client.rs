//! The client side: `{Trait}Client`, whose methods have the trait's names, arguments and
//! results; `{Trait}Batch` for typed batches; notification senders; and, with `client_impl`,
//! the trait itself implemented by the client.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Runtime, assert_type, deprecated_attr, item_ident};
use crate::ast::{Method, Output, RpcTrait};
use crate::attr::ParamStyle;

pub(super) fn expand(rpc: &RpcTrait<'_>, rt: &Runtime) -> TokenStream {
    let (core, rtc) = (&rt.core, &rt.client);
    let trait_ident = &rpc.item.ident;
    let vis = &rpc.item.vis;
    let client = item_ident(rpc, "Client");
    let batch = item_ident(rpc, "Batch");
    let notify = item_ident(rpc, "Notify");
    let batch_notify = item_ident(rpc, "BatchNotify");
    let has_notifications = rpc.methods.iter().any(Method::is_notification);

    let calls = rpc.methods.iter().map(|m| {
        let method = if m.is_subscription() {
            subscribe_method(m, rt, vis)
        } else {
            client_method(m, rt, vis)
        };
        super::respan(method, m.ident.span())
    });
    // A subscription lives on a connection, not in a batch's one answer.
    let batch_calls = rpc
        .methods
        .iter()
        .filter(|m| !m.is_subscription())
        .map(|m| super::respan(batch_method(m, rt, vis), m.ident.span()));
    let notify_calls = rpc
        .methods
        .iter()
        .filter(|m| m.is_notification())
        .map(|m| super::respan(notify_method(m, rt, vis), m.ident.span()));
    let batch_notify_calls = rpc
        .methods
        .iter()
        .filter(|m| m.is_notification())
        .map(|m| super::respan(batch_notify_method(m, rt, vis), m.ident.span()));

    let client_doc = format!(
        "A typed JSON-RPC client for [`{trait_ident}`]: each method has the trait's name, \
         arguments and result.\n\n\
         A method returning `T` returns `Result<T, rpc_core::Error>` here; one returning \
         `Result<T, E>` returns `Result<T, rpc_core::CallError<E>>`, with `E` decoded from the \
         error the server sent. Cloning is cheap and shares the connection pool."
    );
    let batch_doc = format!(
        "A batch of [`{trait_ident}`] calls sent as one request: each method queues a call and \
         returns a slot; [`send`]({batch}::send) returns the answers, and \
         `BatchResponse::take(slot)` the typed result of each call."
    );

    let notify_items = has_notifications.then(|| {
        let notify_doc = format!(
            "Sends [`{trait_ident}`] methods that return nothing as JSON-RPC notifications: the \
             server runs them and sends no answer."
        );
        let batch_notify_doc = format!("Queues [`{trait_ident}`] notifications in a [`{batch}`].");
        quote! {
            #[doc = #notify_doc]
            #[derive(Debug, Clone, Copy)]
            #vis struct #notify<'__rpc> {
                client: &'__rpc #rtc::Client,
            }

            #[allow(deprecated)]
            impl #notify<'_> {
                #(#notify_calls)*
            }

            #[doc = #batch_notify_doc]
            #[derive(Debug)]
            #vis struct #batch_notify<'__rpc> {
                batch: &'__rpc mut #rtc::Batch,
            }

            #[allow(deprecated)]
            impl #batch_notify<'_> {
                #(#batch_notify_calls)*
            }
        }
    });
    let notify_fn = has_notifications.then(|| {
        quote! {
            /// Sends methods that return nothing as notifications, which get no answer.
            #vis fn notify(&self) -> #notify<'_> {
                #notify { client: &self.client }
            }
        }
    });
    let batch_notify_fn = has_notifications.then(|| {
        quote! {
            /// Queues notifications: calls that get no answer.
            #vis fn notify(&mut self) -> #batch_notify<'_> {
                #batch_notify { batch: &mut self.batch }
            }
        }
    });
    let trait_impl = rpc.args.client_impl.is_some().then(|| client_impl(rpc, rt));

    quote! {
        #[doc = #client_doc]
        #[derive(Debug, Clone)]
        #vis struct #client {
            client: #rtc::Client,
        }

        #[allow(deprecated)]
        impl #client {
            /// A client for the JSON-RPC endpoint at `url`, with default settings.
            #vis fn new(url: &str) -> ::core::result::Result<Self, #core::Error> {
                #rtc::Client::new(url).map(Self::from_client)
            }

            /// Settings for a client of `url` (timeout, headers, auth, retries), ending in
            /// this typed client with `build()`.
            #vis fn builder(url: &str) -> #rtc::ClientBuilder<Self> {
                #rtc::ClientBuilder::new(url)
            }

            /// A client over a configured `rpc_client::Client` (timeout, headers, auth).
            #vis fn from_client(client: #rtc::Client) -> Self {
                Self { client }
            }

            /// The underlying untyped client.
            #vis fn client(&self) -> &#rtc::Client {
                &self.client
            }

            /// Starts a batch: calls queued on it go out together in one request.
            #vis fn batch(&self) -> #batch {
                #batch { batch: self.client.batch() }
            }

            #notify_fn

            #(#calls)*
        }

        #[doc = #batch_doc]
        #[derive(Debug)]
        #vis struct #batch {
            batch: #rtc::Batch,
        }

        #[allow(deprecated)]
        impl #batch {
            /// Sends every queued call in one request and waits for the answers.
            #vis async fn send(self) -> ::core::result::Result<#rtc::BatchResponse, #core::Error> {
                self.batch.send().await
            }

            /// The untyped batch, to queue calls of another trait's batch (`OtherBatch::from`).
            #vis fn into_inner(self) -> #rtc::Batch {
                self.batch
            }

            #batch_notify_fn

            #(#batch_calls)*
        }

        impl ::core::convert::From<#rtc::Client> for #client {
            fn from(client: #rtc::Client) -> Self {
                Self { client }
            }
        }

        impl ::core::convert::From<#rtc::Batch> for #batch {
            fn from(batch: #rtc::Batch) -> Self {
                Self { batch }
            }
        }

        #notify_items
        #trait_impl
    }
}

/// A method's params as the client sends them: their type and the expression building them
/// (`None`, an array, an object, or a flattened variadic).
fn params(m: &Method<'_>, rt: &Runtime) -> (TokenStream, TokenStream) {
    let core = &rt.core;
    let idents: Vec<_> = m.params.iter().map(|p| &p.ident).collect();
    let tys: Vec<_> = m.params.iter().map(|p| &p.ty).collect();
    if idents.is_empty() {
        return (quote!(()), quote!(::core::option::Option::None::<&()>));
    }
    let names = m.params.iter().map(|p| &p.name);
    let (ty, value) = match m.style {
        ParamStyle::Object => {
            let (ident, ty) = (idents[0], tys[0]);
            return (quote!(#ty), quote!(::core::option::Option::Some(&#ident)));
        }
        ParamStyle::Named => (
            quote!(#core::Named<(#(&#tys,)*)>),
            quote!(#core::Named((#(&#idents,)*), &[#(#names),*])),
        ),
        ParamStyle::Positional => match (idents.split_last(), tys.split_last()) {
            (Some((rest, fixed)), Some((rest_ty, fixed_tys))) if m.is_variadic() => (
                quote!(#core::Variadic<'_, (#(&#fixed_tys,)*), #rest_ty>),
                quote!(#core::Variadic((#(&#fixed,)*), &#rest)),
            ),
            _ => (
                quote!(#core::Positional<(#(&#tys,)*)>),
                quote!(#core::Positional((#(&#idents,)*))),
            ),
        },
    };
    (ty, quote!(::core::option::Option::Some(&#value)))
}

/// A method's params owned, for a call whose future takes them (`call_owned`, `notify_owned`):
/// their type and the expression moving the arguments in; `None` for a variadic method, whose
/// last param is sent element by element and which keeps the borrowing form.
fn owned_params(m: &Method<'_>, rt: &Runtime) -> Option<(TokenStream, TokenStream)> {
    let rtc = &rt.client;
    if m.params.is_empty() {
        return Some((quote!(()), quote!(::core::option::Option::None::<()>)));
    }
    if m.is_variadic() {
        return None;
    }
    let idents = m.params.iter().map(|p| &p.ident);
    let tys = m.params.iter().map(|p| &p.ty);
    let (ty, value) = match m.style {
        // The one param is the params object itself.
        ParamStyle::Object => {
            let (ident, ty) = (&m.params[0].ident, &m.params[0].ty);
            return Some((quote!(#ty), quote!(::core::option::Option::Some(#ident))));
        }
        ParamStyle::Named => {
            let names = m.params.iter().map(|p| &p.name);
            (
                quote!(#rtc::ByName<(#(#tys,)*)>),
                quote!(#rtc::ByName((#(#idents,)*), &[#(#names),*])),
            )
        }
        ParamStyle::Positional => (
            quote!(#rtc::ByPosition<(#(#tys,)*)>),
            quote!(#rtc::ByPosition((#(#idents,)*))),
        ),
    };
    Some((ty, quote!(::core::option::Option::Some(#value))))
}

/// The future of `m`'s call or notification (`verb` is `call_owned` or `notify_owned`), built
/// without awaiting: the method is a plain function returning it, so that no state machine is
/// compiled per method. `None` for a variadic method.
fn send_owned(m: &Method<'_>, rt: &Runtime, notification: bool, verb: &str) -> Option<TokenStream> {
    let rtc = &rt.client;
    let (params_ty, params) = owned_params(m, rt)?;
    let (ok, err, traits) = probe_types(m, notification);
    let verb = format_ident!("{verb}");
    let method = method_value(m, rt);
    let call = quote! {{
        // One of the two is used, depending on the types.
        #[allow(unused_imports)]
        use #rtc::{#traits};
        (&const { #rtc::Probe::<#ok, #err, #params_ty>::new() })
            .#verb(&self.client, #method, #params)
    }};
    Some(super::respan(call, m.ident.span()))
}

/// The result, error and params types of `m`'s probe, and the traits its calls go through.
fn probe_types(m: &Method<'_>, notification: bool) -> (TokenStream, TokenStream, TokenStream) {
    match &m.output {
        _ if notification => (
            quote!(()),
            quote!(()),
            quote!(Notify as _, NotifyFallback as _),
        ),
        Output::Result { ok, err } => (
            quote!(#ok),
            quote!(#err),
            quote!(Typed as _, TypedFallback as _),
        ),
        _ => (
            ok_type(m),
            quote!(()),
            quote!(Untyped as _, UntypedFallback as _),
        ),
    }
}

/// `rpc_client::Method` naming `m` on the wire, idempotent when it is marked so.
fn method_value(m: &Method<'_>, rt: &Runtime) -> TokenStream {
    let rtc = &rt.client;
    let name = &m.name;
    if m.idempotent {
        quote!(#rtc::Method::idempotent(#name))
    } else {
        quote!(#rtc::Method::new(#name))
    }
}

/// How `m` is sent (`call` or `notify`, awaited, on a client; `queue` on a batch), through the
/// runtime's probe for its types, spanned at the method's name so that anything reported is on
/// the user's method.
fn send(
    m: &Method<'_>,
    rt: &Runtime,
    notification: bool,
    verb: &str,
    on: TokenStream,
) -> TokenStream {
    let rtc = &rt.client;
    let (params_ty, params) = params(m, rt);
    let (ok, err, traits) = probe_types(m, notification);
    // `call` and `notify` are awaited inside the block, where the params they borrow live.
    let wait = (verb != "queue").then(|| quote!(.await));
    let verb = format_ident!("{verb}");
    let method = method_value(m, rt);
    let call = quote! {{
        // One of the two is used, depending on the types.
        #[allow(unused_imports)]
        use #rtc::{#traits};
        (&#rtc::Probe::<#ok, #err, #params_ty>::new()).#verb(#on, #method, #params)#wait
    }};
    super::respan(call, m.ident.span())
}

/// The method's arguments as declared: `name: Type, ...`.
fn args(m: &Method<'_>) -> TokenStream {
    let args = m.params.iter().map(|p| {
        let (ident, ty) = (&p.ident, &p.ty);
        quote!(#ident: #ty)
    });
    quote!(#(#args),*)
}

fn docs(m: &Method<'_>) -> TokenStream {
    let docs = m.item.attrs.iter().filter(|a| a.path().is_ident("doc"));
    quote!(#(#docs)*)
}

fn ok_type(m: &Method<'_>) -> TokenStream {
    match m.output.ok_type() {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    }
}

fn client_method(m: &Method<'_>, rt: &Runtime, vis: &syn::Visibility) -> TokenStream {
    let core = &rt.core;
    let ident = &m.ident;
    let args = args(m);
    let docs = docs(m);
    let deprecated = deprecated_attr(m);
    let ok = ok_type(m);
    let error = match &m.output {
        Output::Result { err, .. } => quote!(#core::CallError<#err>),
        _ => quote!(#core::Error),
    };
    let output = quote!(::core::result::Result<#ok, #error>);
    match send_owned(m, rt, false, "call_owned") {
        // A plain function returning the runtime's future, which owns the arguments.
        Some(call) => quote! {
            #docs
            #deprecated
            #vis fn #ident(&self, #args)
                -> impl ::core::future::Future<Output = #output> + '_
            {
                #call
            }
        },
        None => {
            let call = send(m, rt, false, "call", quote!(&self.client));
            quote! {
                #docs
                #deprecated
                #vis async fn #ident(&self, #args) -> #output {
                    #call
                }
            }
        }
    }
}

/// A subscription's method: subscribes over the client's WebSocket and returns the stream of
/// its items.
fn subscribe_method(m: &Method<'_>, rt: &Runtime, vis: &syn::Visibility) -> TokenStream {
    let (core, rtc) = (&rt.core, &rt.client);
    let ident = &m.ident;
    let name = &m.name;
    let item = ok_type(m);
    let err = match m.output.err_type() {
        Some(err) => quote!(#err),
        None => quote!(#core::ErrorObject),
    };
    let (notification, unsubscribe) = match &m.subscription {
        Some(sub) => (
            sub.notification.value(),
            sub.unsubscribe.clone().unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let (params_ty, params) = params(m, rt);
    let args = args(m);
    let docs = docs(m);
    let deprecated = deprecated_attr(m);
    let method = if m.idempotent {
        quote!(#rtc::Method::idempotent(#name))
    } else {
        quote!(#rtc::Method::new(#name))
    };
    let doc = format!(
        "Subscribes over the client's WebSocket (a `ws://` URL): the stream of `{notification}` \
         items; dropping it unsubscribes (`{unsubscribe}`)."
    );
    quote! {
        #docs
        #[doc = ""]
        #[doc = #doc]
        #deprecated
        #vis async fn #ident(&self, #args) -> ::core::result::Result<
            #rtc::Subscription<#item, #err>,
            #core::CallError<#err>,
        > {
            // One of the two is used, depending on the types.
            #[allow(unused_imports)]
            use #rtc::{Subscribe as _, SubscribeFallback as _};
            (&#rtc::Probe::<#item, #err, #params_ty>::new())
                .subscribe(&self.client, #method, #notification, #unsubscribe, #params)
                .await
        }
    }
}

fn batch_method(m: &Method<'_>, rt: &Runtime, vis: &syn::Visibility) -> TokenStream {
    let rtc = &rt.client;
    let ident = &m.ident;
    let call = send(m, rt, false, "queue", quote!(&mut self.batch));
    let name = &m.name;
    let args = args(m);
    let deprecated = deprecated_attr(m);
    let ok = ok_type(m);
    let doc = format!(
        "Queues a call of `{name}`; take its result from the batch's response with the returned slot."
    );
    let slot = match &m.output {
        Output::Result { err, .. } => quote!(#rtc::TypedSlot<#ok, #err>),
        _ => quote!(#rtc::Slot<#ok>),
    };
    quote! {
        #[doc = #doc]
        #deprecated
        #vis fn #ident(&mut self, #args) -> #slot {
            #call
        }
    }
}

fn notify_method(m: &Method<'_>, rt: &Runtime, vis: &syn::Visibility) -> TokenStream {
    let core = &rt.core;
    let ident = &m.ident;
    let args = args(m);
    let docs = docs(m);
    let deprecated = deprecated_attr(m);
    let output = quote!(::core::result::Result<(), #core::Error>);
    match send_owned(m, rt, true, "notify_owned") {
        // A plain function returning the runtime's future, which owns the arguments.
        Some(call) => quote! {
            #docs
            #deprecated
            #vis fn #ident(&self, #args)
                -> impl ::core::future::Future<Output = #output> + '_
            {
                #call
            }
        },
        None => {
            let call = send(m, rt, true, "notify", quote!(&self.client));
            quote! {
                #docs
                #deprecated
                #vis async fn #ident(&self, #args) -> #output {
                    #call
                }
            }
        }
    }
}

fn batch_notify_method(m: &Method<'_>, rt: &Runtime, vis: &syn::Visibility) -> TokenStream {
    let ident = &m.ident;
    let name = &m.name;
    let call = send(m, rt, true, "queue", quote!(&mut *self.batch));
    let args = args(m);
    let deprecated = deprecated_attr(m);
    let doc = format!("Queues a `{name}` notification.");
    quote! {
        #[doc = #doc]
        #deprecated
        #vis fn #ident(&mut self, #args) {
            #call
        }
    }
}

/// `impl Trait for TraitClient`: each method calls the inherent one and folds a failed call into
/// the method's error type.
fn client_impl(rpc: &RpcTrait<'_>, rt: &Runtime) -> TokenStream {
    let core = &rt.core;
    let trait_ident = &rpc.item.ident;
    let client = item_ident(rpc, "Client");
    let methods = rpc.methods.iter().map(|m| {
        let ident = &m.ident;
        let args = args(m);
        let idents = m.params.iter().map(|p| &p.ident);
        let ok = ok_type(m);
        let err = m.output.err_type();
        let flatten = match err {
            Some(e) => quote_spanned!(e.span()=> #core::CallError::<#e>::flatten),
            None => quote!(#core::CallError::flatten),
        };
        let method = quote! {
            async fn #ident(&self, #args) -> ::core::result::Result<#ok, #err> {
                #client::#ident(self, #(#idents),*)
                    .await
                    .map_err(#flatten)
            }
        };
        super::respan(method, m.ident.span())
    });
    let checks = rpc
        .methods
        .iter()
        .filter_map(|m| m.output.err_type())
        .map(|e| assert_type(rt, "client_error", e));
    quote! {
        const _: () = { #(#checks)* };

        #[automatically_derived]
        #[allow(deprecated)]
        impl #trait_ident for #client {
            #(#methods)*
        }
    }
}
