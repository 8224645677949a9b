//! Several services on one endpoint.

use std::fmt;

use rpc_core::meta::ServiceInfo;
use rpc_core::subscription::{ItemStream, Subscribing};
use rpc_core::{ErrorObject, Service};
use serde_json::value::RawValue;

/// Two services served as one: built by [`RpcService::merge`](crate::RpcService::merge).
/// A call goes to the service that has its method; `services()` lists both sides'.
#[derive(Debug)]
pub struct Merged<A, B> {
    first: A,
    second: B,
    services: Vec<&'static ServiceInfo>,
}

/// Two merged services both answer a method name.
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait A { async fn ping(&self) -> u8; }
/// # #[rpc(server)] pub trait B { async fn ping(&self) -> u8; }
/// # struct X; impl A for X { async fn ping(&self) -> u8 { 1 } } impl B for X { async fn ping(&self) -> u8 { 2 } }
/// let e = rpc_server::RpcService::new(AServer(X)).merge(BServer(X)).unwrap_err();
/// assert_eq!(e.to_string(), "method `ping` is served by both `A` and `B`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    /// The method name (or alias) served twice.
    pub method: String,
    /// The trait that serves it already.
    pub first: &'static str,
    /// The trait merged in that serves it too.
    pub second: &'static str,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "method `{}` is served by both `{}` and `{}`",
            self.method, self.first, self.second
        )
    }
}

impl std::error::Error for MergeError {}

impl<A: Service, B: Service> Merged<A, B> {
    /// `first` and `second` as one service, unless they share a method name.
    pub fn new(first: A, second: B) -> Result<Self, MergeError> {
        for theirs in second.services() {
            for method in theirs.methods {
                let names = std::iter::once(method.name)
                    .chain(method.aliases.iter().copied())
                    .chain(method.subscription.map(|s| s.unsubscribe));
                for name in names {
                    if let Some(ours) = first.services().iter().find(|s| declares(s, name)) {
                        return Err(MergeError {
                            method: name.to_owned(),
                            first: ours.name,
                            second: theirs.name,
                        });
                    }
                }
            }
        }
        let services = first
            .services()
            .iter()
            .chain(second.services())
            .copied()
            .collect();
        Ok(Merged {
            first,
            second,
            services,
        })
    }
}

/// Whether `service` answers `name`: a method, an alias or an unsubscribe method.
fn declares(service: &ServiceInfo, name: &str) -> bool {
    service.method(name).is_some()
        || service
            .methods
            .iter()
            .any(|m| m.subscription.is_some_and(|s| s.unsubscribe == name))
}

impl<A: Service, B: Service> Service for Merged<A, B> {
    fn services(&self) -> &[&'static ServiceInfo] {
        &self.services
    }

    fn known(&self, method: &str) -> Option<&'static str> {
        self.first
            .known(method)
            .or_else(|| self.second.known(method))
    }

    fn subscription(&self, method: &str) -> Option<Subscribing> {
        self.first
            .subscription(method)
            .or_else(|| self.second.subscription(method))
    }

    async fn subscribe<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
    ) -> Result<ItemStream, ErrorObject> {
        if self.first.subscription(method).is_some() {
            self.first.subscribe(method, params).await
        } else {
            self.second.subscribe(method, params).await
        }
    }

    async fn call<'a>(
        &'a self,
        method: &'a str,
        params: Option<&'a RawValue>,
        out: &'a mut Vec<u8>,
    ) -> Result<(), ErrorObject> {
        if self.first.known(method).is_some() {
            self.first.call(method, params, out).await
        } else {
            self.second.call(method, params, out).await
        }
    }
}
