//! Several services on one endpoint.

use std::fmt;

use rpc_core::meta::ServiceInfo;
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
                for name in std::iter::once(&method.name).chain(method.aliases) {
                    if let Some(ours) = first.services().iter().find(|s| s.method(name).is_some()) {
                        return Err(MergeError {
                            method: (*name).to_owned(),
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

impl<A: Service, B: Service> Service for Merged<A, B> {
    fn services(&self) -> &[&'static ServiceInfo] {
        &self.services
    }

    fn known(&self, method: &str) -> Option<&'static str> {
        self.first
            .known(method)
            .or_else(|| self.second.known(method))
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
