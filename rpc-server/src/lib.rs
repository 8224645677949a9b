//! Serve `#[rpc]` traits over HTTP as axum routes.
//!
//! `#[rpc]` generates `{Trait}Server<S>` for every trait; wrap an implementation in it and hand
//! it to [`RpcService`] (or the [`router`] shortcut). The result is an ordinary axum citizen: it
//! mounts at any path, nests, merges with other routes, lives in a `Router` with any state, and
//! takes any tower layer. [`serve`] serves an app the way a public endpoint should be served
//! (time and size limits on every client, a cap on connections, graceful shutdown).
//!
//! ```
//! use rpc_core::rpc;
//!
//! #[rpc(server)]
//! pub trait Greeter {
//!     /// Greets `name`.
//!     async fn hello(&self, name: String) -> String;
//! }
//!
//! struct English;
//! impl Greeter for English {
//!     async fn hello(&self, name: String) -> String {
//!         format!("Hello, {name}!")
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = axum::Router::new()
//!     .route("/rpc", rpc_server::RpcService::new(GreeterServer(English)).into_method_router())
//!     .route("/health", axum::routing::get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! rpc_server::serve(listener, app)
//!     .with_graceful_shutdown(rpc_server::shutdown_signal())
//!     .await
//! # }
//! ```
//!
//! ## What the route does on the wire
//! - `POST` with `Content-Type: application/json` (or `application/json-rpc`,
//!   `application/jsonrequest`); another content type is answered `415` (a browser can send
//!   other types cross-origin without asking first), another HTTP method `405` (`GET` and
//!   `HEAD` serve the explorer when it is on).
//! - A body over the limit is answered `413`, before it is read when `Content-Length` says so
//!   (so `Expect: 100-continue` gets no `100 Continue`); a body whose framing is broken `400`.
//! - A batch over its limit is refused with one `-32600` while it is parsed; a call over the
//!   endpoint's limits gets a JSON-RPC error of its own: `-32005` server busy (retryable),
//!   `-32006` timed out, `-32007` answer too large (see [`rpc_core::ErrorCode`]).
//! - Every answer that carries a JSON-RPC response is `200 OK` with `application/json`, errors
//!   included, as JSON-RPC over HTTP expects.
//! - A notification, or a batch of notifications only, is answered `200 OK` with an empty body:
//!   the most widely understood way of saying "nothing to return".
//! - A batch's calls run concurrently; the answers come back in one array, in request order,
//!   without the notifications.
//! - A panic in a method fails that call only, with `-32603 Internal error`; the message stays
//!   in the server's log.

mod budget;
mod builtin;
mod by_address;
mod call;
mod config;
mod connection;
mod context;
mod dispatch;
mod explorer;
mod handle;
mod hosts;
mod inproc;
mod merge;
pub mod middleware;
mod mount;
mod observe;
mod serve;
mod stream;
#[cfg(feature = "opentelemetry")]
mod trace_context;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{MethodRouter, any_service};
use rpc_core::{ErrorObject, Service};

use config::{Config, Settings};
use middleware::{Authorize, Calls, Endpoint, Layer, Stack};
use tokio::sync::Semaphore;

pub use connection::WsLimits;
pub use context::RequestContext;
pub use merge::{MergeError, Merged};
pub use mount::RouterExt;
#[cfg(unix)]
pub use serve::UnixSocket;
pub use serve::{Listener, Serve, serve, serve_messages, shutdown_signal};

/// A JSON-RPC endpoint over a [`Service`]: the builder for its axum route.
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// use rpc_server::{RequestContext, RpcService};
///
/// let route: axum::routing::MethodRouter = RpcService::new(PingServer(P))
///     .max_batch_len(100)
///     .max_body_bytes(1 << 20)
///     .introspection(true)
///     .explorer(true)
///     .authorize(|method| {
///         let signed_in = RequestContext::header("authorization").is_some();
///         match method {
///             "ping" | "rpc.discover" => Ok(()),
///             _ if signed_in => Ok(()),
///             _ => Err(rpc_core::ErrorObject::new(-32001, "sign in first")),
///         }
///     })
///     .into_method_router();
/// ```
///
/// Every call goes through the endpoint's [middleware] layers (none by default),
/// and is traced and measured (see [`RpcService::handle`]).
pub struct RpcService<S, M = Endpoint<S>> {
    service: Arc<S>,
    stack: Arc<M>,
    config: Arc<Config>,
}

impl<S, M> Clone for RpcService<S, M> {
    fn clone(&self) -> Self {
        RpcService {
            service: self.service.clone(),
            stack: self.stack.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S, M> std::fmt::Debug for RpcService<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        f.debug_struct("RpcService")
            .field("max_body_bytes", &c.max_body_bytes)
            .field("max_batch_len", &c.max_batch_len)
            .field("max_response_bytes", &c.max_response_bytes)
            .field("call_timeout", &c.call_timeout)
            .field("max_concurrent_calls", &c.max_concurrent_calls)
            .field("busy_wait", &c.busy_wait)
            .field("discover", &c.discover)
            .field("introspection", &c.introspection)
            .field("explorer", &c.explorer)
            .finish_non_exhaustive()
    }
}

impl<S: Service> RpcService<S> {
    /// An endpoint serving `service` with default settings: bodies up to 10 MiB, batches up to
    /// 1024 calls, answers up to 4 MiB per call, calls stopped after 30 s, at most 4096 calls
    /// running at once (a call waits up to 100 ms for a slot), `rpc.discover` on, `system.*`
    /// introspection and the explorer page off.
    pub fn new(service: S) -> Self {
        Self::from_arc(Arc::new(service))
    }

    /// An endpoint over a service that is shared elsewhere too.
    pub fn from_arc(service: Arc<S>) -> Self {
        observe::calibrate_clock();
        RpcService {
            stack: Arc::new(Endpoint {
                service: service.clone(),
            }),
            service,
            config: Arc::new(Config::new(Settings::default())),
        }
    }

    /// Serves `other` on the same endpoint too: one route for several traits. Method names
    /// (with their namespaces and aliases) must not clash: a name served twice is an error
    /// naming the method and both traits. `rpc.discover`, `system.*` and the explorer cover
    /// every merged service. Merge before adding layers, which then see every service's calls.
    ///
    /// ```
    /// # use rpc_core::rpc;
    /// # #[rpc(server, namespace = "eth")] pub trait Eth { async fn block_number(&self) -> u64; }
    /// # #[rpc(server, namespace = "net")] pub trait Net { async fn version(&self) -> String; }
    /// # struct E; impl Eth for E { async fn block_number(&self) -> u64 { 1 } }
    /// # struct N; impl Net for N { async fn version(&self) -> String { "1".into() } }
    /// use rpc_server::RpcService;
    ///
    /// let endpoint = RpcService::new(EthServer(E)).merge(NetServer(N)).unwrap();
    /// let app: axum::Router = axum::Router::new().route("/rpc", endpoint.into_method_router());
    /// ```
    pub fn merge<S2: Service>(
        self,
        other: S2,
    ) -> Result<RpcService<Merged<Arc<S>, S2>>, MergeError> {
        let merged = Arc::new(Merged::new(self.service, other)?);
        // Fresh state: the OpenRPC document covers the merged services.
        let config = Arc::new(Config::new(self.config.settings.clone()));
        Ok(RpcService {
            stack: Arc::new(Endpoint {
                service: merged.clone(),
            }),
            service: merged,
            config,
        })
    }
}

impl<S: Service, M: Calls> RpcService<S, M> {
    /// Changes a setting. The endpoint's state (its slots, budgets, counters) is made anew from
    /// the settings: a clone taken before keeps its own, and a setting is checked once, here.
    fn with(mut self, edit: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.config.settings.clone();
        edit(&mut settings);
        self.config = Arc::new(Config::new(settings));
        self
    }

    /// The largest request body accepted, in bytes (default 10 MiB); a larger one is answered
    /// `413`, before it is read when its `Content-Length` says so (and then without the
    /// `100 Continue` a client sending `Expect: 100-continue` waits for).
    pub fn max_body_bytes(self, bytes: usize) -> Self {
        self.with(|c| c.max_body_bytes = bytes)
    }

    /// The most calls one batch may hold (default 1024); a larger batch is answered with one
    /// `-32600 Invalid Request`, decided while the body is parsed so that the calls past the
    /// limit are never kept.
    pub fn max_batch_len(self, calls: usize) -> Self {
        self.with(|c| c.max_batch_len = calls)
    }

    /// The largest answer one call may send, in bytes of JSON (default 4 MiB). A call whose
    /// answer is larger still ran, but its answer is replaced by the error
    /// [`ErrorCode::RESPONSE_TOO_LARGE`](rpc_core::ErrorCode::RESPONSE_TOO_LARGE) (`-32007`):
    /// the client never gets a truncated answer, nor one without bound.
    pub fn max_response_bytes(self, bytes: usize) -> Self {
        self.with(|c| c.max_response_bytes = bytes)
    }

    /// How long one call may run (default 30 s; `None`: no limit). A call still running then is
    /// dropped at its next `.await` and answered with
    /// [`ErrorCode::TIMEOUT`](rpc_core::ErrorCode::TIMEOUT) (`-32006`). It may have had effects
    /// already, so the client is not told to retry it.
    pub fn call_timeout(self, timeout: impl Into<Option<Duration>>) -> Self {
        let timeout = timeout.into();
        self.with(|c| c.call_timeout = timeout)
    }

    /// The most calls this endpoint runs at once, batches' calls included (default 4096). A call
    /// past it waits up to [`busy_wait`](Self::busy_wait) for a slot, then is answered with
    /// [`ErrorCode::SERVER_BUSY`](rpc_core::ErrorCode::SERVER_BUSY) (`-32005`) without running,
    /// which clients treat as retryable. Built-in methods (`rpc.discover`, `system.*`) do not
    /// count: they answer from memory at once. A batch takes the slots of all its calls at once
    /// when they are free (else each call takes its own, as above); the slots of the calls that
    /// finish at once are given back together, those of calls that had to wait when the whole
    /// batch is answered.
    ///
    /// ```
    /// # use rpc_core::rpc;
    /// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// use std::time::Duration;
    /// let endpoint = rpc_server::RpcService::new(PingServer(P))
    ///     .max_concurrent_calls(64)
    ///     .busy_wait(Duration::from_millis(20))
    ///     .call_timeout(Duration::from_secs(5))
    ///     .max_response_bytes(1 << 20);
    /// # let _ = endpoint;
    /// ```
    pub fn max_concurrent_calls(self, calls: usize) -> Self {
        let calls = calls.clamp(1, Semaphore::MAX_PERMITS);
        self.with(|c| c.max_concurrent_calls = calls)
    }

    /// The most bytes of answers and subscription items the endpoint holds for its peers
    /// before they are handed to their sockets, HTTP answers (from 16 KiB on; smaller ones go
    /// out with their head at once) and WebSocket queues together (default 128 MiB): what clients that ask and never read can make the server hold.
    /// While it is spent, new calls are answered
    /// [`ErrorCode::SERVER_BUSY`](rpc_core::ErrorCode::SERVER_BUSY) (`-32005`, retryable)
    /// without running, subscription items wait for room (a subscriber left waiting past
    /// [`WsLimits::slow_reader_grace`] loses the subscription), and an answer that takes it
    /// past closes the WebSocket holding the most unread bytes (close code 1008). Each
    /// WebSocket has its own, smaller cap too ([`WsLimits::max_queued_bytes`]).
    pub fn max_outbound_bytes(self, bytes: usize) -> Self {
        self.with(|c| c.max_outbound_bytes = bytes)
    }

    /// How long a call waits for a slot when [`max_concurrent_calls`](Self::max_concurrent_calls)
    /// are running (default 100 ms) before it is answered "server busy".
    pub fn busy_wait(self, wait: Duration) -> Self {
        self.with(|c| c.busy_wait = wait)
    }

    /// Runs `check` before every call (notifications and built-in methods included) with the
    /// method's declared name (an alias resolved to its method, the namespace included: the
    /// caller's spelling cannot walk past a rule), the request's [`RequestContext`] in scope;
    /// an `Err` is sent back instead of running the call. The same as
    /// `.layer(middleware::Authorize(check))`.
    pub fn authorize<F>(self, check: F) -> RpcService<S, Stack<Authorize<F>, M>>
    where
        F: Fn(&str) -> Result<(), ErrorObject> + Send + Sync + 'static,
    {
        self.layer(Authorize(check))
    }

    /// Adds a per-call [middleware] layer around the ones already added: the last
    /// layer added sees a call first.
    pub fn layer<L: Layer>(self, layer: L) -> RpcService<S, Stack<L, M>> {
        RpcService {
            service: self.service,
            stack: Arc::new(Stack {
                outer: layer,
                inner: self.stack,
            }),
            config: self.config,
        }
    }

    /// Whether `rpc.discover` answers with the service's OpenRPC document (default: on).
    pub fn discover(self, on: bool) -> Self {
        self.with(|c| c.discover = on)
    }

    /// The API version the OpenRPC document states (default `0.0.0`).
    pub fn api_version(self, version: impl Into<String>) -> Self {
        let version = version.into();
        self.with(|c| c.api_version = version)
    }

    /// Whether a `GET` asking to upgrade to a WebSocket gets one (default: on). Over the socket
    /// every method answers as over HTTP, batches and notifications included, and
    /// subscriptions push their items (see [`rpc_core::subscription`]).
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// let http_only = rpc_server::RpcService::new(PingServer(P)).websocket(false);
    /// # drop(http_only);
    /// ```
    pub fn websocket(self, on: bool) -> Self {
        self.with(|c| c.websocket_on = on)
    }

    /// Web pages from these origins may open a WebSocket to the endpoint, besides pages from
    /// the endpoint's own origin (default: none). A browser sends cookies and HTTP auth with
    /// a WebSocket handshake from any page, and WebSockets have no CORS: so a handshake whose
    /// `Origin` is another site's is refused with `403`, unless listed here (`"*"` allows
    /// any; fit only for endpoints that authenticate nothing by cookie). A handshake without
    /// `Origin` (a program, not a browser) is always accepted. "Own origin" means the
    /// `Origin`'s host and port are the request's `Host`: behind a proxy, pass `Host` through
    /// (nginx: `proxy_set_header Host $host`) or list the public origin here.
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// let route = rpc_server::RpcService::new(PingServer(P))
    ///     .websocket_origins(["https://app.example.com"]);
    /// # drop(route);
    /// ```
    pub fn websocket_origins<I>(self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        self.with(|c| c.websocket_origins = origins)
    }

    /// The hosts whose name a request's `Host` may carry, over HTTP and WebSocket alike; any
    /// other is answered `403 Forbidden` before anything runs. Each entry is a name (any port),
    /// `name:port`, `*.suffix`, or `"*"` for any host.
    ///
    /// By default, an endpoint reached on a loopback address (`127.0.0.1`, `::1`) answers
    /// loopback names only (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`): a web page on
    /// another site whose name is made to resolve to `127.0.0.1` (DNS rebinding) sends its
    /// own name, and gets nothing. Reached on another address, any name is answered unless a
    /// list is set. The address is known under [`serve`]; under `axum::serve` the default
    /// checks nothing, so set the list for a local server there.
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// let route = rpc_server::RpcService::new(PingServer(P))
    ///     .allowed_hosts(["localhost", "rpc.example.com", "*.internal.example.com"]);
    /// # drop(route);
    /// ```
    pub fn allowed_hosts<I>(self, hosts: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let hosts = hosts::Hosts::List(hosts.into_iter().map(Into::into).collect());
        self.with(|c| c.hosts = hosts)
    }

    /// The limits of each WebSocket connection: calls in flight, subscriptions, each
    /// subscription's buffer, pings. See [`WsLimits`] for the defaults and what happens past
    /// each; the endpoint's body limit applies to each message.
    ///
    /// ```
    /// use rpc_server::WsLimits;
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// let route = rpc_server::RpcService::new(PingServer(P))
    ///     .websocket_limits(WsLimits::default().max_subscriptions(16));
    /// # drop(route);
    /// ```
    pub fn websocket_limits(self, limits: WsLimits) -> Self {
        self.with(|c| c.websocket = limits)
    }

    /// How the ends of a message connection (WebSocket, Unix socket, stdio) tell each other
    /// that a caller gave up on a call (default: [`Cancellation::None`], calls run to their
    /// end): the Language Server Protocol's `$/cancelRequest` (the cancelled call is answered
    /// `-32800`) or the Model Context Protocol's `notifications/cancelled` (it gets no answer).
    /// A cancelled call's future is dropped where it stands, which frees its slot; the server's
    /// own calls to its peer ([`RequestContext::peer`]) that are dropped or time out are
    /// cancelled the same way. Counted in `rpc.server.calls.cancelled`. Over HTTP a call is
    /// cancelled when its client disconnects, whatever this says.
    ///
    /// [`Cancellation::None`]: rpc_core::peer::Cancellation::None
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// use rpc_core::peer::Cancellation;
    /// let endpoint = rpc_server::RpcService::new(PingServer(P)).cancellation(Cancellation::Lsp);
    /// # drop(endpoint);
    /// ```
    pub fn cancellation(self, cancellation: rpc_core::peer::Cancellation) -> Self {
        self.with(|c| c.cancellation = cancellation)
    }

    /// Says that each connection's client is expected to serve `service` (a trait's
    /// `{Trait}Server::INFO`), which the endpoint's methods call back
    /// ([`RequestContext::peer`]): `rpc.discover`'s document lists its methods under
    /// `x-peer-methods`, and the trait's name under `x-peer-services`. Documentation only:
    /// the calls back are made whatever this says.
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Noisy { async fn noisy(&self, line: String); }
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// let endpoint = rpc_server::RpcService::new(PingServer(P)).peer_serves(&NoisyServer::INFO);
    /// # drop(endpoint);
    /// ```
    pub fn peer_serves(self, service: &'static rpc_core::meta::ServiceInfo) -> Self {
        self.with(|c| c.peer_services.push(service))
    }

    /// Whether `system.listMethods`, `system.methodHelp` and `system.methodSignature` answer,
    /// as on an XML-RPC server (default: off).
    pub fn introspection(self, on: bool) -> Self {
        self.with(|c| c.introspection = on)
    }

    /// Whether a `GET` on the route serves the explorer: one self-contained HTML page that
    /// lists the methods with their docs and schemas, makes calls, and subscribes over a
    /// WebSocket to the same route, showing items as they arrive (default: off). It reads
    /// the methods through `rpc.discover`, which it turns on.
    pub fn explorer(self, on: bool) -> Self {
        self.with(|c| {
            c.explorer = on;
            c.discover |= on;
        })
    }

    /// The endpoint as a method router, to mount with `Router::route` at any path, in a
    /// `Router` with any state.
    pub fn into_method_router<St>(self) -> MethodRouter<St>
    where
        St: Clone + Send + Sync + 'static,
    {
        // One `Arc` for the route to clone per request (axum clones its handler for each), not
        // the endpoint's three.
        any_service(handle::Route(Arc::new(self)))
    }

    /// The endpoint as a `Router` answering at `/`, to `nest` or `merge` into an application.
    pub fn into_router<St>(self) -> axum::Router<St>
    where
        St: Clone + Send + Sync + 'static,
    {
        // Built as a `Router<()>` by a function that is not generic, so that axum's routing code
        // is compiled once, in this crate, not in every crate that serves a trait.
        mount::at_root(self.into_method_router()).with_state(())
    }
}

/// A router serving `service` at `/`, with default settings: the shortest way from a trait
/// implementation to an app.
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// let app: axum::Router = axum::Router::new().nest("/rpc", rpc_server::router(PingServer(P)));
/// ```
pub fn router<S: Service, St>(service: S) -> axum::Router<St>
where
    St: Clone + Send + Sync + 'static,
{
    RpcService::new(service).into_router()
}
