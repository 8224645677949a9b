//! One connection's life: its requests served by hyper, upgraded ones included, until it
//! closes, the server closes it, or a shutdown ends it; and what an upgraded connection (a
//! WebSocket) is lent to stay counted: busy marks, its close reasons, its messages' bytes.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::body::{TRACKED_ANSWER_BYTES, TimedBody, TrackedBody};
use super::server::{Closed, Conn, Registered, Server};
use super::socket::Guarded;
use super::{Listener, Mode};
use crate::call::Network;

impl Server {
    /// Serves an accepted connection, holding its `slot` of the connection cap until it ends.
    pub(super) async fn serve_accepted<L: Listener>(
        self: Arc<Self>,
        stream: L::Io,
        (id, conn): (u64, Arc<Conn>),
        stop: watch::Receiver<bool>,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let _slot = slot;
        let local = L::prepare(&stream);
        // Removed however the connection ends, a panic in the app included.
        let _registered = Registered {
            server: self.clone(),
            id,
        };
        match &self.mode {
            Mode::Http(_) => {
                self.connection(stream, (local, L::NETWORK), conn, stop)
                    .await
            }
            Mode::Messages(serve) => {
                let serve = serve.clone();
                let upgrade = Upgrade {
                    stop,
                    server: self.clone(),
                    conn: conn.clone(),
                };
                let (alive, _socket_closed) = tokio::sync::oneshot::channel::<()>();
                let io = self.guard(stream, &conn, alive);
                let (reader, writer) = tokio::io::split(io);
                serve(Box::new(reader), Box::new(writer), upgrade, L::NETWORK).await;
            }
        }
    }

    /// `stream` under the server's timers and budgets.
    fn guard<I>(
        self: &Arc<Self>,
        stream: I,
        conn: &Arc<Conn>,
        alive: tokio::sync::oneshot::Sender<()>,
    ) -> Guarded<I> {
        Guarded {
            stream,
            server: self.clone(),
            conn: conn.clone(),
            limits: self.limits,
            read_timer: None,
            head_started: false,
            requests_seen: 0,
            message_timer: None,
            write_timer: None,
            _alive: alive,
        }
    }

    async fn connection<I>(
        self: Arc<Self>,
        stream: I,
        (local, network): (Option<SocketAddr>, &'static str),
        conn: Arc<Conn>,
        mut stop: watch::Receiver<bool>,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Mode::Http(app) = &self.mode else { return };
        let app = app.clone();
        let local = local.map(crate::hosts::LocalAddr);
        // Dropped with the socket: when the connection is upgraded (to a WebSocket), the
        // socket outlives hyper's part of the connection, and the connection still counts.
        let (alive, socket_closed) = tokio::sync::oneshot::channel::<()>();
        let io = TokioIo::new(self.guard(stream, &conn, alive));
        let server = self.clone();
        let on_request = conn.clone();
        let upgrade_stop = stop.clone();
        let peer = conn.peer.map(axum::extract::ConnectInfo);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = Busy::new(&server, &on_request);
            let mut request = request
                .map(|body| Body::new(TimedBody::new(body, server.clone(), on_request.clone())));
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            if let Some(local) = local {
                request.extensions_mut().insert(local);
            }
            request.extensions_mut().insert(Network(network));
            request.extensions_mut().insert(Upgrade {
                stop: upgrade_stop.clone(),
                server: server.clone(),
                conn: on_request.clone(),
            });
            let app = app.clone();
            let server = server.clone();
            let conn = on_request.clone();
            async move {
                let response = tower::ServiceExt::oneshot(app, request).await;
                drop(busy);
                response.map(|mut response| {
                    // The client closes the connection after this answer, and sends its next
                    // request elsewhere: no request is lost on a connection the server closes.
                    // (An upgrade's answer keeps its `Connection: upgrade`.)
                    if server.draining.load(Ordering::Acquire)
                        && response.status() != axum::http::StatusCode::SWITCHING_PROTOCOLS
                    {
                        response.headers_mut().insert(
                            axum::http::header::CONNECTION,
                            axum::http::HeaderValue::from_static("close"),
                        );
                    }
                    let size = hyper::body::Body::size_hint(response.body()).lower();
                    if size < TRACKED_ANSWER_BYTES {
                        return response;
                    }
                    response.map(|body| Body::new(TrackedBody { body, server, conn }))
                })
            }
        });
        {
            let mut serving = pin!(self.http.serve_connection(io, service).with_upgrades());
            tokio::select! {
                _ = serving.as_mut() => {}
                () = conn.closed() => return,
                _ = stop.changed() => {
                    tokio::select! {
                        // The client closed it, an answer with `Connection: close` ended it, or
                        // an upgrade took it over.
                        _ = serving.as_mut() => {}
                        () = conn.closed() => return,
                        () = self.idle_for_grace(&conn) => {
                            serving.as_mut().graceful_shutdown();
                            let _ = serving.await;
                        }
                    }
                }
            }
            // Dropped here with the socket, unless an upgrade took the socket away.
        }
        // An upgraded connection is over when its socket is dropped; the WebSocket closes
        // itself on shutdown and when the server closes it (it holds the same signals).
        let _ = socket_closed.await;
    }

    /// Returns once `conn` has had no request for the idle grace, counted from the later of
    /// now and its last answer.
    async fn idle_for_grace(&self, conn: &Conn) {
        self.idle_for(conn, self.idle_grace, self.now()).await;
    }

    /// Returns once `conn` has had nothing running (no request, no busy mark) for `limit`,
    /// counted from the later of `from` and the end of its last request.
    async fn idle_for(&self, conn: &Conn, limit: Duration, from: u64) {
        let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            // Registered before the state is read, so a request starting in between wakes it.
            let activity = conn.activity.notified();
            let mut activity = pin!(activity);
            activity.as_mut().enable();
            if conn.in_flight.load(Ordering::Acquire) > 0 {
                activity.await;
                continue;
            }
            let since = conn.idle_since.load(Ordering::Relaxed).max(from);
            let left = since.saturating_add(limit).saturating_sub(self.now());
            if left == 0 {
                return;
            }
            tokio::select! {
                () = activity => {}
                () = tokio::time::sleep(Duration::from_millis(left)) => {}
            }
        }
    }
}

/// In each request's extensions when served by [`serve`]: what a request that upgrades its
/// connection (to a WebSocket) needs to keep it counted as busy while it works, to hear of a
/// shutdown or of the server closing it, and to have its messages' bytes counted.
#[derive(Clone)]
pub(crate) struct Upgrade {
    stop: watch::Receiver<bool>,
    server: Arc<Server>,
    conn: Arc<Conn>,
}

/// Why an upgraded connection must close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closing {
    /// The server shuts down.
    Stopping,
    /// No call and no subscription for the idle timeout.
    Idle,
    /// Closed by the server for one of its limits.
    Closed(Closed),
}

impl Upgrade {
    /// Marks the connection upgraded: from now on its reads are counted as a message being
    /// received until [`message_done`](Self::message_done), and its idle time is what the
    /// socket does ([`busy`](Self::busy)), not what bytes (pings) cross it.
    pub(crate) fn upgraded(&self) {
        self.conn.upgraded.store(true, Ordering::Release);
    }

    /// Marks the connection busy for as long as the guard lives: never evicted as idle. A
    /// WebSocket holds one per call running and per subscription open.
    pub(crate) fn busy(&self) -> impl Send + Sync + 'static {
        Busy::new(&self.server, &self.conn)
    }

    /// A whole message (or control frame) was read: its bytes are no longer being received.
    pub(crate) fn message_done(&self) {
        if self.conn.receiving.load(Ordering::Relaxed) > 0 {
            self.server.done_receiving(&self.conn);
        }
    }

    /// The peer's address; `None` over a Unix socket.
    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        self.conn.peer
    }

    /// Resolves with the reason once the connection must close: the server shuts down, closes
    /// it, or it stays idle (no [`busy`](Self::busy) guard) for the idle timeout.
    pub(crate) async fn closing(mut self) -> Closing {
        let idle = self
            .server
            .idle_for(&self.conn, self.server.limits.idle_timeout, 0);
        tokio::select! {
            _ = self.stop.wait_for(|stopped| *stopped) => Closing::Stopping,
            () = self.conn.closed() => Closing::Closed(self.conn.reason()),
            () = idle => Closing::Idle,
        }
    }
}

/// Marks a connection busy while one of its requests is answered.
struct Busy {
    conn: Arc<Conn>,
    server: Arc<Server>,
}

impl Busy {
    fn new(server: &Arc<Server>, conn: &Arc<Conn>) -> Self {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.served.store(true, Ordering::Relaxed);
        conn.requests.fetch_add(1, Ordering::Release);
        conn.activity.notify_waiters();
        Busy {
            conn: conn.clone(),
            server: server.clone(),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn
            .idle_since
            .store(self.server.now(), Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.conn.activity.notify_waiters();
    }
}
