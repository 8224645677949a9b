//! The calls the server makes to its peer, as layers see them: a method's
//! [`RequestContext::peer`](crate::RequestContext::peer) client sends each of its requests and
//! notifications through the endpoint's layers that opt in ([`Layer::TO_PEER`]), outermost
//! first, before it goes out on the connection.

use std::net::SocketAddr;

use rpc_core::Error;
use rpc_core::peer::Sending;
use serde_json::value::RawValue;

use super::{Calls, Layer};
use crate::call::Transport;

/// One call the server makes to its peer, as a layer sees it in [`Layer::to_peer`].
#[derive(Clone, Copy, Debug)]
pub struct PeerCall<'a> {
    pub(crate) method: &'a str,
    pub(crate) params: Option<&'a RawValue>,
    pub(crate) id: Option<u64>,
    pub(crate) transport: Transport,
    pub(crate) peer: Option<SocketAddr>,
}

impl<'a> PeerCall<'a> {
    /// The method called on the peer.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The params sent, as raw JSON.
    pub fn params(&self) -> Option<&'a RawValue> {
        self.params
    }

    /// The request's id on the connection; `None` for a notification.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// Whether the call is a notification, which the peer does not answer.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// What the connection to the peer runs over.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The peer's address, when the transport has one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// How a call to the peer ended: the peer's answer as it came (a JSON-RPC response object,
/// its `result` or its `error`; empty for a notification), or why there is none. A layer that
/// refuses the call returns an `Err` (say [`Error::Rpc`]), which the calling method's client
/// reports as it would the peer's own error.
pub type PeerOutcome = Result<Vec<u8>, Error>;

/// The rest of the way to the peer after a layer: the layers inside it, then the connection.
pub struct ToPeer<'a> {
    pub(crate) rest: &'a dyn PeerChain,
    pub(crate) wire: &'a dyn Wire,
}

impl std::fmt::Debug for ToPeer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToPeer")
    }
}

impl<'a> ToPeer<'a> {
    /// Sends `call` on through the rest of the layers and out to the peer, and waits for its
    /// answer.
    pub fn send(self, call: PeerCall<'a>) -> Sending<'a> {
        self.rest.to_peer(call, self.wire)
    }
}

/// What puts a call to the peer on the connection, at the end of the layers.
#[doc(hidden)]
pub trait Wire: Send + Sync {
    /// Sends the call whose message the layers saw, and waits for its answer.
    fn send(&self) -> Sending<'_>;
}

/// A chain of layers as the connection holds it to send calls to the peer through.
#[doc(hidden)]
pub trait PeerChain: Send + Sync + 'static {
    fn to_peer<'a>(&'a self, call: PeerCall<'a>, wire: &'a dyn Wire) -> Sending<'a>;
}

impl<C: Calls> PeerChain for C {
    fn to_peer<'a>(&'a self, call: PeerCall<'a>, wire: &'a dyn Wire) -> Sending<'a> {
        Calls::to_peer(self, call, wire)
    }
}

/// `layer`'s turn at a call to the peer, `rest` being the layers inside it.
pub(crate) fn through<'a, L: Layer>(
    layer: &'a L,
    rest: &'a dyn PeerChain,
    call: PeerCall<'a>,
    wire: &'a dyn Wire,
) -> Sending<'a> {
    if !L::TO_PEER {
        return rest.to_peer(call, wire);
    }
    Box::pin(layer.to_peer(call, ToPeer { rest, wire }))
}
