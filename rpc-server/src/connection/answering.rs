//! What an endpoint lends each of its connections: what answers the messages (the service and
//! its middleware, their types erased), and the endpoint's settings and opening request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::request::Parts;
use rpc_core::Service;

use crate::call::Transport;
use crate::middleware::Calls;
use crate::serve::Upgrade;
use crate::{Config, dispatch};

/// What a connection answers its messages with: the endpoint, its service and middleware
/// types erased, so that the connection's code (its reader, writer and tasks) is compiled once,
/// in this crate, rather than in every crate that serves a trait.
pub(crate) trait Answering: Send + Sync + 'static {
    /// Answers one message (a call, a notification or a batch); `None` when no answer is due.
    fn answer<'a>(
        &'a self,
        body: &'a [u8],
        config: &'a Config,
        push: &'a dyn crate::call::Pushes,
        over: (Transport, Option<std::net::SocketAddr>),
    ) -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + 'a>>;

    /// Every name (aliases included) of the service's methods marked `#[rpc(ordered)]`.
    fn ordered(&self) -> Vec<&'static str>;

    /// The middleware, when a layer of it sees the calls to the peer.
    fn to_peer(&self) -> Option<Arc<dyn crate::middleware::PeerChain>>;
}

/// A service and its middleware, answering a connection's messages.
pub(crate) struct Answerer<S, M> {
    pub(crate) service: Arc<S>,
    pub(crate) stack: Arc<M>,
}

impl<S: Service, M: Calls> Answering for Answerer<S, M> {
    fn answer<'a>(
        &'a self,
        body: &'a [u8],
        config: &'a Config,
        push: &'a dyn crate::call::Pushes,
        (transport, peer): (Transport, Option<std::net::SocketAddr>),
    ) -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + 'a>> {
        Box::pin(async move {
            let lent = crate::call::Lent {
                config,
                push: Some(push),
                transport,
                peer,
            };
            let endpoint = dispatch::Endpoint {
                service: &*self.service,
                stack: &*self.stack,
                lent: &lent,
            };
            dispatch::handle(endpoint, body).await
        })
    }

    fn ordered(&self) -> Vec<&'static str> {
        ordered(self.service.services())
    }

    fn to_peer(&self) -> Option<Arc<dyn crate::middleware::PeerChain>> {
        if M::TO_PEER {
            Some(self.stack.clone())
        } else {
            None
        }
    }
}

/// What every connection of an endpoint shares: what answers its messages, the endpoint's
/// settings and state, and the request that opened it (or an empty one).
pub(crate) struct Opened {
    pub(crate) transport: Transport,
    pub(crate) answering: Arc<dyn Answering>,
    pub(crate) config: Arc<Config>,
    pub(crate) parts: Arc<Parts>,
    pub(crate) upgrade: Option<Upgrade>,
}

/// Every name (aliases included) of `services`' methods marked `#[rpc(ordered)]`; not generic,
/// so compiled once, here.
fn ordered(services: &[&'static rpc_core::meta::ServiceInfo]) -> Vec<&'static str> {
    services
        .iter()
        .flat_map(|s| s.methods)
        .filter(|m| m.ordered)
        .flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied()))
        .collect()
}
