//! One call on its way through the endpoint: what the request said, what the endpoint knows of
//! the method, and what the connection it came on lends it; and how it ended.

use rpc_core::ErrorObject;
use rpc_core::subscription::ItemStream;
use rpc_core::wire::Request;
use serde_json::value::RawValue;

use crate::Config;

/// How a call ended: `Ok` when its result was written, or the error object sent instead.
pub type Outcome = Result<(), ErrorObject>;

/// What a connection that can push to its peer lends each of its calls: subscriptions. Over
/// HTTP there is nothing to push to, and a call gets no such thing; over a message connection
/// (a WebSocket) each message's calls get the connection's.
pub(crate) trait Pushes: Send + Sync {
    /// Starts a subscription to `items`, sent as `notification`s once the call's answer is
    /// out; writes the subscription's id (JSON) into `out`.
    fn subscribe(
        &self,
        notification: &'static str,
        items: ItemStream,
        out: &mut Vec<u8>,
    ) -> Result<(), ErrorObject>;

    /// Ends the subscription named in `params`: `true` (written into `out`) when it was one of
    /// the connection's.
    fn unsubscribe(&self, params: Option<&RawValue>, out: &mut Vec<u8>) -> Result<(), ErrorObject>;
}

/// What a call came over, as metrics and spans label it (OpenTelemetry's
/// `network.protocol.name` and `network.transport`).
///
/// ```
/// use rpc_server::middleware::Call;
///
/// // A layer that keeps a method off plain HTTP could ask:
/// fn over_http(call: &Call<'_>) -> bool {
///     call.transport().protocol() == "http"
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport {
    protocol: &'static str,
    network: &'static str,
}

impl Transport {
    /// An HTTP request over `network`.
    pub(crate) const fn http(network: &'static str) -> Self {
        Transport {
            protocol: "http",
            network,
        }
    }

    /// A WebSocket connection over `network`.
    pub(crate) const fn websocket(network: &'static str) -> Self {
        Transport {
            protocol: "websocket",
            network,
        }
    }

    /// A framed byte stream (a Unix socket, stdio, a pipe) over `network`.
    pub(crate) const fn stream(network: &'static str) -> Self {
        Transport {
            protocol: "stream",
            network,
        }
    }

    /// `http`, `websocket` or `stream` (messages framed on a byte stream).
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// `tcp`, `unix` (a Unix socket) or `pipe` (stdio, or any byte stream handed to the
    /// endpoint).
    pub fn network(&self) -> &'static str {
        self.network
    }
}

/// The network an HTTP request came over, as `serve` marks it (`tcp` or `unix`); a request
/// without it (under `axum::serve`) came over TCP.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Network(pub(crate) &'static str);

impl Network {
    /// The network `extensions` carry, `tcp` when they carry none.
    pub(crate) fn of(extensions: &axum::http::Extensions) -> &'static str {
        extensions.get::<Network>().map_or("tcp", |n| n.0)
    }
}

/// What every call of one request shares: the endpoint's settings and state, and what the
/// request's connection lends its calls. Held once per request; each call points to it, which
/// keeps a call small (it is copied into every layer's future on its way to the method).
#[derive(Clone, Copy)]
pub(crate) struct Lent<'a> {
    pub(crate) config: &'a Config,
    /// Where subscriptions push to; `None` over HTTP.
    pub(crate) push: Option<&'a dyn Pushes>,
    pub(crate) transport: Transport,
    /// The peer's address, when the transport knows it.
    pub(crate) peer: Option<std::net::SocketAddr>,
}

/// One call as a layer sees it.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The request as read (method, params, id): pointed to, not copied, as a call is copied
    /// into every layer's future on its way to the method (40 bytes, where the request's own
    /// members would take 48 more).
    request: &'a Request<'a>,
    known: Option<&'static str>,
    lent: &'a Lent<'a>,
    builtin: bool,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method())
            .field("known", &self.known)
            .field("params", &self.params())
            .field("id", &self.id())
            .field("can_push", &self.lent.push.is_some())
            .field("transport", &self.lent.transport)
            .field("peer", &self.lent.peer)
            .finish()
    }
}

/// What the endpoint found out about a call's method.
#[derive(Clone, Copy)]
pub(crate) struct Method {
    /// As the service (or the endpoint) declares it.
    pub(crate) known: Option<&'static str>,
    /// Whether the endpoint answers it itself.
    pub(crate) builtin: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(request: &'a Request<'a>, method: Method, lent: &'a Lent<'a>) -> Self {
        Call {
            request,
            known: method.known,
            builtin: method.builtin,
            lent,
        }
    }

    /// The endpoint's settings and state, for the endpoint's own methods.
    pub(crate) fn config(&self) -> &'a Config {
        self.lent.config
    }

    /// What the call's connection lends it to push with; `None` over HTTP.
    pub(crate) fn push(&self) -> Option<&'a dyn Pushes> {
        self.lent.push
    }

    /// Whether the endpoint answers the call itself (`rpc.discover`, `system.*`).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// The method's name, as the caller sent it.
    pub fn method(&self) -> &'a str {
        &self.request.method
    }

    /// The method's name as the service declares it (an alias resolved to its method, a
    /// built-in to its own name), or `None` when neither the service nor the endpoint has it.
    /// The name to key anything on: unlike [`method`](Self::method), its values are bounded.
    pub fn known_method(&self) -> Option<&'static str> {
        self.known
    }

    /// The params as raw JSON, when the caller sent any.
    pub fn params(&self) -> Option<&'a RawValue> {
        self.request.params
    }

    /// The request's id as raw JSON; `None` for a notification, whose outcome no one sees.
    pub fn id(&self) -> Option<&'a RawValue> {
        self.request.id
    }

    /// Whether the call is a notification.
    pub fn is_notification(&self) -> bool {
        self.request.id.is_none()
    }

    /// What the call came over.
    pub fn transport(&self) -> Transport {
        self.lent.transport
    }

    /// The address of the peer the call came from, as its connection knows it: the TCP peer
    /// under [`serve`](crate::serve) (or `axum::serve` with axum's `ConnectInfo`); `None` over
    /// a Unix socket or a stream. Behind a proxy it is the proxy's.
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.lent.peer
    }

    /// Whether the call came over a connection that can push to its caller (a WebSocket), so
    /// that subscriptions work.
    pub fn can_push(&self) -> bool {
        self.lent.push.is_some()
    }
}
