//! Serving an app on the open internet: [`serve`], with limits on what slow, stalled and
//! flooding clients may hold, and graceful shutdown.

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioTimer;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

mod body;
mod conn;
mod listener;
mod server;
mod socket;

pub(crate) use body::{BodyShed, BodyTimedOut};
pub(crate) use conn::{Closing, Upgrade};
pub use listener::Listener;
#[cfg(unix)]
pub use listener::UnixSocket;
pub(crate) use server::Closed;

/// What a connection carries: HTTP requests for an app, or JSON-RPC messages for one endpoint.
#[derive(Clone)]
pub(crate) enum Mode {
    Http(App),
    Messages(MessageHandler),
}

/// An HTTP app as `serve` holds it: any tower service of requests, boxed once.
pub(crate) type App = tower::util::BoxCloneSyncService<
    axum::extract::Request,
    axum::response::Response,
    std::convert::Infallible,
>;

/// Serves one connection's messages: its two halves, what the server lends it, and its
/// network (`network.transport`: `tcp`, `unix`).
pub(crate) type MessageHandler = Arc<
    dyn Fn(
            Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
            Upgrade,
            &'static str,
        ) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;
use server::{Conns, Server};

/// Serves `app` on `listener` the way a public endpoint should be served: every client is
/// held to time and size limits, connections stay below the process's file limit, and
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) stops it cleanly.
///
/// `app` is an axum [`Router`](axum::Router) or any other tower service of HTTP requests (a
/// router under tower-http's layers, a `service_fn`); `listener` a TCP listener or a
/// [`UnixSocket`] (HTTP over a Unix socket, as Docker's API is served). Each request carries
/// its peer's address as axum's `ConnectInfo<SocketAddr>` over TCP (see
/// [`RequestContext::peer_addr`](crate::RequestContext::peer_addr)).
///
/// The defaults are no looser than nginx's, and each has a setter on [`Serve`]:
///
/// | Setting | Default | Protects against |
/// |---|---|---|
/// | [`header_timeout`](Serve::header_timeout) | 30 s | a client sending its request head slowly, to hold a connection |
/// | [`max_header_bytes`](Serve::max_header_bytes) | 64 KiB | a huge head (answered `431`) |
/// | [`body_timeout`](Serve::body_timeout) | 30 s | a body that stalls (answered `408`, then closed) |
/// | [`receive_deadline`](Serve::receive_deadline) | 60 s | a body or WebSocket message sent a byte now and then, to be held forever (`408`, or the socket closed) |
/// | [`max_receiving_bytes`](Serve::max_receiving_bytes) | 64 MiB | many slow bodies or unfinished WebSocket messages together: past it, the connection receiving the most is closed |
/// | [`idle_timeout`](Serve::idle_timeout) | 60 s | idle keep-alive connections, and WebSockets with no call and no subscription, piling up |
/// | [`send_timeout`](Serve::send_timeout) | 60 s | a client that does not read its answer |
/// | [`max_unsent_bytes`](Serve::max_unsent_bytes) | 256 MiB | many clients that do not read large answers: past it, the connections stalled longest are closed |
/// | [`max_connections`](Serve::max_connections) | 10 000, and below the file limit | running out of files: at the cap the longest-idle connection is closed to let a new one in |
/// | [`max_connections_per_peer`](Serve::max_connections_per_peer) | 256, or half the cap when less | one client address holding every slot: past it, its own idlest connection is closed, else the new one is refused |
/// | [`shutdown_deadline`](Serve::shutdown_deadline) | 20 s | a shutdown waiting forever on a slow call |
/// | [`shutdown_idle_grace`](Serve::shutdown_idle_grace) | 1 s | a shutdown closing a kept-alive connection under a request its client (a load balancer) is sending |
///
/// At start the soft limit on open files is raised to the hard one (on Unix), and the
/// connection cap is kept a margin below it (1/16 of it, at least 16 files) for the files the
/// application opens itself. HTTP/1.1 only, with `TCP_NODELAY` set.
///
/// ```no_run
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// use std::time::Duration;
///
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new().nest("/rpc", rpc_server::router(PingServer(P)));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// rpc_server::serve(listener, app)
///     .send_timeout(Duration::from_secs(20))
///     .max_connections(2_000)
///     .with_graceful_shutdown(rpc_server::shutdown_signal())
///     .await
/// # }
/// ```
pub fn serve<L, A, B>(listener: L, app: A) -> Serve<L>
where
    L: Listener,
    A: tower::Service<axum::extract::Request, Response = axum::http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Error: Into<std::convert::Infallible>,
    A::Future: Send + 'static,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use tower::ServiceExt as _;
    let app = app
        .map_response(|response| response.map(axum::body::Body::new))
        .map_err(Into::into);
    Serve::new(listener, Mode::Http(App::new(app)))
}

/// Serves `endpoint` on `listener` with one message connection per client: JSON-RPC messages
/// framed by `framing` both ways, without HTTP, as Ethereum nodes serve IPC on a Unix socket
/// and local daemons serve their clients. Each connection carries calls, batches, notifications
/// and subscriptions under the endpoint's limits ([`WsLimits`](crate::WsLimits), its body
/// limit per message) and [`Serve`]'s (connection cap, idle timeout, receive deadline and
/// budget, graceful shutdown).
///
/// ```no_run
/// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// use rpc_core::framing::Framing;
///
/// # async fn run() -> std::io::Result<()> {
/// let endpoint = rpc_server::RpcService::new(PingServer(P));
/// let socket = rpc_server::UnixSocket::bind("/tmp/node.ipc")?;
/// rpc_server::serve_messages(socket, endpoint, Framing::Ethereum)
///     .with_graceful_shutdown(rpc_server::shutdown_signal())
///     .await
/// # }
/// ```
pub fn serve_messages<L, S, M>(
    listener: L,
    endpoint: crate::RpcService<S, M>,
    framing: rpc_core::framing::Framing,
) -> Serve<L>
where
    L: Listener,
    S: rpc_core::Service,
    M: crate::middleware::Calls,
{
    let handler: MessageHandler = Arc::new(move |reader, writer, upgrade, network| {
        Box::pin(endpoint.messages_on(reader, writer, framing, Some(upgrade), network))
    });
    Serve::new(listener, Mode::Messages(handler))
}

impl<L: Listener> Serve<L> {
    fn new(listener: L, mode: Mode) -> Self {
        Serve {
            listener,
            mode,
            limits: Limits::default(),
            max_connections: 10_000,
            max_connections_per_peer: None,
            max_unsent_bytes: 256 * 1024 * 1024,
            max_receiving_bytes: 64 * 1024 * 1024,
            raise_file_limit: true,
            shutdown: Box::pin(std::future::pending()),
            shutdown_deadline: Duration::from_secs(20),
            shutdown_idle_grace: Duration::from_secs(1),
        }
    }
}

/// A future that resolves when the process is asked to stop: on `SIGTERM` (what container
/// runtimes and service managers send) or Ctrl-C (`SIGINT`). For
/// [`Serve::with_graceful_shutdown`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// A server in the making, from [`serve`]: set its limits, then `.await` it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<L = tokio::net::TcpListener> {
    listener: L,
    mode: Mode,
    limits: Limits,
    max_connections: usize,
    max_connections_per_peer: Option<usize>,
    max_unsent_bytes: u64,
    max_receiving_bytes: u64,
    raise_file_limit: bool,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    shutdown_deadline: Duration,
    shutdown_idle_grace: Duration,
}

/// The per-connection limits.
#[derive(Clone, Copy, Debug)]
struct Limits {
    header_timeout: Duration,
    max_header_bytes: usize,
    body_timeout: Duration,
    receive_deadline: Duration,
    idle_timeout: Duration,
    send_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            body_timeout: Duration::from_secs(30),
            receive_deadline: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
        }
    }
}

impl<L> std::fmt::Debug for Serve<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_peer", &self.max_connections_per_peer)
            .field("max_unsent_bytes", &self.max_unsent_bytes)
            .field("max_receiving_bytes", &self.max_receiving_bytes)
            .field("raise_file_limit", &self.raise_file_limit)
            .field("shutdown_deadline", &self.shutdown_deadline)
            .field("shutdown_idle_grace", &self.shutdown_idle_grace)
            .finish_non_exhaustive()
    }
}

/// The smallest head limit the HTTP server can work with.
const MIN_HEADER_BYTES: usize = 8 * 1024;

impl<L: Listener> Serve<L> {
    /// How long a client has to send a whole request head, from its first byte (default 30 s);
    /// the connection is closed after. A connection that sends nothing is held to
    /// [`idle_timeout`](Self::idle_timeout) instead.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_timeout = timeout;
        self
    }

    /// The largest request head, in bytes (default 64 KiB, at least 8 KiB); a larger one is
    /// answered `431 Request Header Fields Too Large` and the connection closed.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_header_bytes = bytes.max(MIN_HEADER_BYTES);
        self
    }

    /// How long a request body may go without sending a byte while it is read (default 30 s);
    /// a stalled body is answered `408 Request Timeout` and the connection closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// How long a connection may wait for its next request (default 60 s) before it is
    /// closed: a new connection that sends nothing, and a keep-alive one between requests. A
    /// WebSocket with no call running and no subscription open for this long is closed too
    /// (close code 1000), whatever pings and pongs cross it. A connection also waits at most
    /// [`header_timeout`](Self::header_timeout) for a head it has started.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long one request body, or one WebSocket message, may take to arrive whole, from its
    /// first byte (default 60 s), however steadily it trickles in: past it the body is answered
    /// `408 Request Timeout` and the connection closed, and a WebSocket is closed.
    /// [`body_timeout`](Self::body_timeout) bounds the time between two bytes; this bounds the
    /// whole.
    pub fn receive_deadline(mut self, deadline: Duration) -> Self {
        self.limits.receive_deadline = deadline;
        self
    }

    /// The most bytes of request bodies and unfinished WebSocket messages the server holds
    /// while they arrive, all connections together (default 64 MiB). When a read takes it past
    /// this, the connection receiving the most is closed (its body, if it was reading one, is
    /// answered `503`), so that many clients each sending a large message slowly cannot fill
    /// the memory, and a client sending a small one is still served.
    pub fn max_receiving_bytes(mut self, bytes: usize) -> Self {
        self.max_receiving_bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self
    }

    /// The most connections one peer address may hold at once (default: 256, or half of
    /// [`max_connections`](Self::max_connections) when that is less), so that no one client
    /// takes every slot. A peer at its share that connects again has its own idlest connection closed to
    /// make room; when none of its connections is idle, the new one is closed at once.
    /// Behind a proxy every client has the proxy's address: raise it there.
    pub fn max_connections_per_peer(mut self, connections: usize) -> Self {
        self.max_connections_per_peer = Some(connections.max(1));
        self
    }

    /// How long the client may leave an answer unread: when no byte of it could be written for
    /// this long (default 60 s), the connection is closed and the answer's memory freed.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.limits.send_timeout = timeout;
        self
    }

    /// The most connections open at once (default 10 000). It is lowered to stay below the
    /// process's limit on open files. At the cap the connection idle longest (between
    /// requests, or still sending its head) is closed so that a new client is served; when
    /// every connection has a call running, new clients wait in the listen queue.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// The most bytes of answers the server holds for clients that have not read them yet, all
    /// connections together (default 256 MiB). When a new answer takes it past this, the
    /// connections whose reader has stalled longest are closed and their answers freed, so
    /// that clients asking for large answers and never reading them cannot fill the memory
    /// while they wait out [`send_timeout`](Self::send_timeout).
    pub fn max_unsent_bytes(mut self, bytes: usize) -> Self {
        self.max_unsent_bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self
    }

    /// Whether to raise the soft limit on open files to the hard limit at start (default: on,
    /// on Unix; elsewhere nothing is done).
    pub fn raise_file_limit(mut self, on: bool) -> Self {
        self.raise_file_limit = on;
        self
    }

    /// Stops the server when `signal` resolves: no new connection is accepted (those the
    /// kernel had already queued are taken and served), the calls in flight finish (for up to [`shutdown_deadline`](Self::shutdown_deadline)), every answer
    /// from then on carries `Connection: close`, and a connection is closed after its answer,
    /// or once it has been idle for [`shutdown_idle_grace`](Self::shutdown_idle_grace); then
    /// the server's future returns. [`shutdown_signal`] is the usual `signal`.
    ///
    /// ```no_run
    /// # async fn run(app: axum::Router) -> std::io::Result<()> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = tokio::spawn(
    ///     rpc_server::serve(listener, app)
    ///         .with_graceful_shutdown(async { stopped.await.ok(); })
    ///         .into_future(),
    /// );
    /// // ... later:
    /// let _ = stop.send(());
    /// server.await.expect("the server does not panic")?;
    /// # Ok(()) }
    /// ```
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.shutdown = Box::pin(signal);
        self
    }

    /// How long a graceful shutdown waits for the calls in flight (default 20 s) before it
    /// closes their connections anyway.
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = deadline;
        self
    }

    /// How long a graceful shutdown leaves a kept-alive connection open while it is idle
    /// (default 1 s), counted from the shutdown or from its last answer, whichever is later.
    ///
    /// A connection closed by the server while idle may have a request on its way in: the
    /// client (a load balancer most of all, which keeps connections busy) cannot tell whether
    /// that request ran, so it must not send it again unless it is idempotent. During the
    /// grace, a connection that carries one more request is answered with `Connection: close`
    /// and closed by the client, which then connects elsewhere; only connections idle for the
    /// whole grace, which a busy client was not about to use, are closed by the server.
    /// `Duration::ZERO` closes idle connections at once.
    pub fn shutdown_idle_grace(mut self, grace: Duration) -> Self {
        self.shutdown_idle_grace = grace;
        self
    }

    async fn run(self) -> io::Result<()> {
        let files = if self.raise_file_limit {
            raise_file_limit()
        } else {
            file_limit()
        };
        let cap = match files {
            Some(files) => {
                let margin = (files / 16).max(16);
                self.max_connections
                    .min(usize::try_from(files.saturating_sub(margin)).unwrap_or(usize::MAX))
                    .max(1)
            }
            None => self.max_connections,
        };
        tracing::debug!(max_connections = cap, limits = ?self.limits, "serving");
        let per_peer = self
            .max_connections_per_peer
            .unwrap_or((cap / 2).clamp(1, 256))
            .min(cap);
        let mut http = hyper::server::conn::http1::Builder::new();
        // The head's timeout is the socket's (`Guarded`): hyper's runs from the moment it waits
        // for a head, which would close idle keep-alive connections at the header timeout.
        http.timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_header_size(self.limits.max_header_bytes)
            .max_buf_size(self.limits.max_header_bytes);
        let server = Arc::new(Server {
            http,
            mode: self.mode,
            limits: self.limits,
            conns: Mutex::new(Conns::default()),
            next_id: AtomicU64::new(0),
            per_peer,
            receiving: AtomicU64::new(0),
            max_receiving: self.max_receiving_bytes,
            unsent: AtomicU64::new(0),
            max_unsent: self.max_unsent_bytes,
            epoch: Instant::now(),
            draining: AtomicBool::new(false),
            idle_grace: self.shutdown_idle_grace,
        });
        let slots = Arc::new(Semaphore::new(cap));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut shutdown = self.shutdown;
        let mut listener = self.listener;
        'accepting: loop {
            while tasks.try_join_next().is_some() {}
            let (stream, peer) = tokio::select! {
                accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)) => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of files or memory, or a connection reset before it was accepted:
                        // the listener itself is fine, so try again after a pause.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
                // A finished connection's task keeps its memory until it is joined: join it now,
                // not at the next client, which may come much later.
                Some(_) = tasks.join_next() => continue,
            };
            // At the cap, a client that is here (not one that might come) has the idlest
            // connection closed for it; it waits, unserved, until a slot frees.
            let slot = loop {
                if let Ok(slot) = slots.clone().try_acquire_owned() {
                    break slot;
                }
                server.evict_idle();
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => break slot,
                        Err(_) => break 'accepting,
                    },
                    // A connection too fresh to evict now may be idle later.
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    () = &mut shutdown => {
                        // Served past the cap, as the listen queue's are below.
                        if let Some(conn) = server.admit(peer, true) {
                            tasks.spawn(server.clone().serve_accepted::<L>(
                                stream,
                                conn,
                                stop_rx.clone(),
                                None,
                            ));
                        }
                        break 'accepting;
                    }
                }
            };
            let Some(conn) = server.admit(peer, false) else {
                continue;
            };
            tasks.spawn(server.clone().serve_accepted::<L>(
                stream,
                conn,
                stop_rx.clone(),
                Some(slot),
            ));
        }
        // Connections the kernel has completed but the server has not taken yet would be reset
        // when the listener closes, after their clients may have written a request that then
        // cannot safely be sent elsewhere: take them and answer them, past the connection cap
        // if need be (the listen queue bounds them).
        while let Some(Ok((stream, peer))) = std::future::poll_fn(|cx| {
            Poll::Ready(match listener.poll_accept(cx) {
                Poll::Ready(accepted) => Some(accepted),
                Poll::Pending => None,
            })
        })
        .await
        {
            let slot = slots.clone().try_acquire_owned().ok();
            let Some(conn) = server.admit(peer, true) else {
                continue;
            };
            tasks.spawn(
                server
                    .clone()
                    .serve_accepted::<L>(stream, conn, stop_rx.clone(), slot),
            );
        }
        drop(listener);
        server.draining.store(true, Ordering::Release);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(self.shutdown_deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                connections = tasks.len(),
                "calls still running at the shutdown deadline are dropped"
            );
            tasks.shutdown().await;
        }
        Ok(())
    }
}

impl<L: Listener> IntoFuture for Serve<L> {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The soft limit on open files, when there is one.
fn file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Raises the soft limit on open files to the hard one, as far as the system allows, and
/// returns the soft limit in force after.
fn raise_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current.is_some() && limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(error = %e, "the limit on open files could not be raised");
            }
        }
    }
    file_limit()
}
