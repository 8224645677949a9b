//! The contract between generated dispatchers and the servers that run them.

use std::future::Future;

use serde_json::value::RawValue;

use crate::ErrorObject;
use crate::meta::ServiceInfo;
use crate::subscription::{ItemStream, Subscribing};

/// A set of JSON-RPC methods: what `#[rpc]` generates as `{Trait}Server<S>`, and what
/// `rpc-server` serves over HTTP.
///
/// `call` runs one method and writes its JSON result into `out`; on failure it returns the
/// error object instead (anything it wrote is discarded). A server takes care of everything
/// around the call: parsing, ids, batches, notifications, panics.
///
/// Implementing it by hand is possible for dynamic method sets:
///
/// ```
/// use rpc_core::{ErrorObject, Service, meta::ServiceInfo};
/// use serde_json::value::RawValue;
///
/// struct Echo;
///
/// impl Service for Echo {
///     fn services(&self) -> &[&'static ServiceInfo] {
///         static INFO: ServiceInfo = ServiceInfo::new("Echo", "Echoes.", &[]);
///         static SERVICES: [&ServiceInfo; 1] = [&INFO];
///         &SERVICES
///     }
///     fn known(&self, method: &str) -> Option<&'static str> {
///         (method == "echo").then_some("echo")
///     }
///     async fn call<'a>(
///         &'a self,
///         method: &'a str,
///         params: Option<&'a RawValue>,
///         out: &'a mut Vec<u8>,
///     ) -> Result<(), ErrorObject> {
///         match method {
///             "echo" => {
///                 out.extend_from_slice(params.map_or("null", |p| p.get()).as_bytes());
///                 Ok(())
///             }
///             _ => Err(ErrorObject::method_not_found(method)),
///         }
///     }
/// }
/// ```
pub trait Service: Send + Sync + 'static {
    /// The traits served, with their docs and methods, for introspection: one for a generated
    /// `{Trait}Server`, several for services merged on one endpoint.
    fn services(&self) -> &[&'static ServiceInfo];

    /// The declared name of `method` (by name or alias) when it is one of this service's.
    /// Generated servers answer with one `match`; the default searches
    /// [`services`](Service::services).
    fn known(&self, method: &str) -> Option<&'static str> {
        self.services().iter().find_map(|s| {
            s.method(method).map(|m| m.name).or_else(|| {
                s.methods
                    .iter()
                    .filter_map(|m| m.subscription)
                    .find(|sub| sub.unsubscribe == method)
                    .map(|sub| sub.unsubscribe)
            })
        })
    }

    /// Whether `method` (by name or alias) subscribes to, or unsubscribes from, one of this
    /// service's subscriptions. Generated servers answer with one `match`; the default
    /// searches [`services`](Service::services).
    fn subscription(&self, method: &str) -> Option<Subscribing> {
        self.services()
            .iter()
            .flat_map(|s| s.methods)
            .find_map(|m| {
                let sub = m.subscription.as_ref()?;
                if m.name == method || m.aliases.contains(&method) {
                    Some(Subscribing::Subscribe(sub))
                } else if sub.unsubscribe == method {
                    Some(Subscribing::Unsubscribe)
                } else {
                    None
                }
            })
    }

    /// Starts the subscription `method` with `params`: the stream of its items' JSON, or the
    /// error object that refuses it. Called by a server for a method that
    /// [`subscription`](Service::subscription) says subscribes; the default has none.
    fn subscribe<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
    ) -> impl Future<Output = Result<ItemStream, ErrorObject>> + Send + 'a {
        let _ = params;
        std::future::ready(Err(ErrorObject::method_not_found(method)))
    }

    /// Runs `method` with `params`, writing the result's JSON into `out`.
    fn call<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<(), ErrorObject>> + Send + 'a;
}

/// A shared service is served the same way.
impl<S: Service> Service for std::sync::Arc<S> {
    fn services(&self) -> &[&'static ServiceInfo] {
        (**self).services()
    }

    fn known(&self, method: &str) -> Option<&'static str> {
        (**self).known(method)
    }

    fn subscription(&self, method: &str) -> Option<Subscribing> {
        (**self).subscription(method)
    }

    fn subscribe<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
    ) -> impl Future<Output = Result<ItemStream, ErrorObject>> + Send + 'a {
        (**self).subscribe(method, params)
    }

    fn call<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<(), ErrorObject>> + Send + 'a {
        (**self).call(method, params, out)
    }
}
