//! One connection: its entry in the server's map, its limits on the socket (idle, stalled
//! reader), and its requests, upgraded ones included.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Sleep;

use super::Limits;
use super::body::{TRACKED_ANSWER_BYTES, TimedBody, TrackedBody};

/// What every connection shares.
pub(super) struct Server {
    pub(super) http: hyper::server::conn::http1::Builder,
    pub(super) app: Router,
    pub(super) limits: Limits,
    pub(super) conns: Mutex<Conns>,
    pub(super) next_id: AtomicU64,
    /// The most connections one peer address may hold.
    pub(super) per_peer: usize,
    /// Bytes of request bodies and of unfinished WebSocket messages being received, all
    /// connections together.
    pub(super) receiving: AtomicU64,
    pub(super) max_receiving: u64,
    /// Bytes of large answers made and not wholly written to their socket yet, all
    /// connections together: each stays in memory until its last byte is written.
    pub(super) unsent: AtomicU64,
    pub(super) max_unsent: u64,
    pub(super) epoch: Instant,
    /// Set when a graceful shutdown starts: answers carry `Connection: close`.
    pub(super) draining: AtomicBool,
    pub(super) idle_grace: Duration,
}

/// The open connections, and how many each peer address holds.
#[derive(Default)]
pub(super) struct Conns {
    pub(super) by_id: HashMap<u64, Arc<Conn>>,
    pub(super) per_peer: HashMap<IpAddr, usize>,
}

/// Why the server closed a connection; a WebSocket says it in its close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Closed {
    /// Idle when the server needed its slot for a new client.
    Evicted = 1,
    /// Its reader stalled while the server held too many unsent bytes.
    Unsent = 2,
    /// It held the most of the bytes being received when they went past their budget.
    Receiving = 3,
}

impl Closed {
    fn from_u8(n: u8) -> Option<Self> {
        match n {
            1 => Some(Closed::Evicted),
            2 => Some(Closed::Unsent),
            3 => Some(Closed::Receiving),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Closed::Evicted => "evicted",
            Closed::Unsent => "unsent_bytes",
            Closed::Receiving => "receiving_bytes",
        }
    }
}

/// A new connection becomes evictable as idle once it has had a request, or this long after
/// it was accepted: the last free slot is not taken back before its client sent a head.
const FRESH_GRACE_MS: u64 = 1000;

/// One open connection, as the eviction of idle connections sees it.
pub(super) struct Conn {
    pub(super) peer: SocketAddr,
    /// Milliseconds from the server's start to the connection's accept.
    accepted_at: u64,
    /// Whether it has had a request.
    served: AtomicBool,
    /// Requests started, to tell the socket that a new head begins after the last one.
    requests: AtomicU64,
    /// Set once the connection is upgraded (to a WebSocket): its reads are messages' bytes.
    upgraded: AtomicBool,
    /// Why the server closed it ([`Closed`] as a number), 0 while it did not.
    close_reason: AtomicU8,
    /// This connection's share of [`Server::receiving`]: a body being read, or the bytes of
    /// an upgraded connection's message not finished yet.
    pub(super) receiving: AtomicU64,
    /// Milliseconds from the server's start to the first byte of what is being received; 0
    /// while nothing is.
    pub(super) receiving_since: AtomicU64,
    /// Requests whose answer is being made.
    pub(super) in_flight: AtomicUsize,
    /// Milliseconds from the server's start to the connection's last request's end.
    pub(super) idle_since: AtomicU64,
    pub(super) evicted: AtomicBool,
    /// Notified (every waiter) when the server closes the connection.
    pub(super) close: Notify,
    /// This connection's share of [`Server::unsent`].
    pub(super) unsent: AtomicU64,
    /// Milliseconds from the server's start to the moment its socket stopped taking bytes;
    /// 0 while it takes them.
    pub(super) stalled_since: AtomicU64,
    /// Notified when a request starts or ends, for a shutdown waiting for the connection to
    /// go idle.
    pub(super) activity: Notify,
}

impl Server {
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a connection just accepted from `peer`, unless that peer holds its share of
    /// the connections already and none of them is idle (then `None`: the caller drops it).
    /// A connection taken from the listen queue during a shutdown is always admitted: the queue
    /// bounds them, and its client may have sent a call already.
    pub(super) fn admit(&self, peer: SocketAddr, draining: bool) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.lock();
        let held = conns.per_peer.get(&peer.ip()).copied().unwrap_or(0);
        if !draining && held >= self.per_peer && !self.evict_idlest(&conns, Some(peer.ip())) {
            drop(conns);
            metrics::counter!("rpc.server.connections.refused", "reason" => "per_peer")
                .increment(1);
            tracing::debug!(peer = %peer, held, "a connection is refused: its peer holds its share");
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        let conn = Arc::new(Conn {
            peer,
            accepted_at: now,
            served: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            upgraded: AtomicBool::new(false),
            close_reason: AtomicU8::new(0),
            receiving: AtomicU64::new(0),
            receiving_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            evicted: AtomicBool::new(false),
            close: Notify::new(),
            unsent: AtomicU64::new(0),
            stalled_since: AtomicU64::new(0),
            activity: Notify::new(),
        });
        conns.by_id.insert(id, conn.clone());
        *conns.per_peer.entry(peer.ip()).or_default() += 1;
        Some((id, conn))
    }

    /// Serves an accepted connection, holding its `slot` of the connection cap until it ends.
    pub(super) async fn serve_accepted(
        self: Arc<Self>,
        stream: TcpStream,
        (id, conn): (u64, Arc<Conn>),
        stop: watch::Receiver<bool>,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let _slot = slot;
        let _ = stream.set_nodelay(true);
        // Removed however the connection ends, a panic in the app included.
        let _registered = Registered {
            server: self.clone(),
            id,
        };
        self.connection(stream, conn, stop).await;
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        conn: Arc<Conn>,
        mut stop: watch::Receiver<bool>,
    ) {
        let local = stream.local_addr().ok().map(crate::hosts::LocalAddr);
        // Dropped with the socket: when the connection is upgraded (to a WebSocket), the
        // socket outlives hyper's part of the connection, and the connection still counts.
        let (alive, socket_closed) = tokio::sync::oneshot::channel::<()>();
        let io = TokioIo::new(Guarded {
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
        });
        let server = self.clone();
        let on_request = conn.clone();
        let upgrade_stop = stop.clone();
        let peer = axum::extract::ConnectInfo(conn.peer);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = Busy::new(&server, &on_request);
            let mut request = request
                .map(|body| Body::new(TimedBody::new(body, server.clone(), on_request.clone())));
            request.extensions_mut().insert(peer);
            if let Some(local) = local {
                request.extensions_mut().insert(local);
            }
            request.extensions_mut().insert(Upgrade {
                stop: upgrade_stop.clone(),
                server: server.clone(),
                conn: on_request.clone(),
            });
            let app = server.app.clone();
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
        let grace = u64::try_from(self.idle_grace.as_millis()).unwrap_or(u64::MAX);
        let stopped = self.now();
        loop {
            // Registered before the state is read, so a request starting in between wakes it.
            let activity = conn.activity.notified();
            let mut activity = pin!(activity);
            activity.as_mut().enable();
            if conn.in_flight.load(Ordering::Acquire) > 0 {
                activity.await;
                continue;
            }
            let since = conn.idle_since.load(Ordering::Relaxed).max(stopped);
            let left = since.saturating_add(grace).saturating_sub(self.now());
            if left == 0 {
                return;
            }
            tokio::select! {
                () = activity => {}
                () = tokio::time::sleep(Duration::from_millis(left)) => {}
            }
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Conns> {
        // A panic while the map is locked leaves it whole: insert and remove only.
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `bytes` of a new answer on `conn`.
    pub(super) fn add_unsent(&self, conn: &Conn, bytes: u64) {
        conn.unsent.fetch_add(bytes, Ordering::Relaxed);
        self.unsent.fetch_add(bytes, Ordering::Relaxed);
        self.shed_unsent();
    }

    /// When the server holds too many unsent bytes, closes the connections stalled longest
    /// until it does not. Run when an answer is made and when a reader stalls.
    pub(super) fn shed_unsent(&self) {
        let total = self.unsent.load(Ordering::Relaxed);
        if total <= self.max_unsent {
            return;
        }
        let conns = self.lock();
        let mut stalled: Vec<&Arc<Conn>> = conns
            .by_id
            .values()
            .filter(|c| c.stalled_since.load(Ordering::Relaxed) != 0)
            .filter(|c| c.unsent.load(Ordering::Relaxed) > 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .collect();
        stalled.sort_by_key(|c| c.stalled_since.load(Ordering::Relaxed));
        let mut over = total - self.max_unsent;
        for conn in stalled {
            over = over.saturating_sub(conn.unsent.load(Ordering::Relaxed));
            conn.close(Closed::Unsent);
            tracing::debug!("a connection whose reader stalled is closed: too many unsent bytes");
            if over == 0 {
                break;
            }
        }
    }

    /// Counts `bytes` more being received on `conn`; past the budget, closes the connection
    /// receiving the most (which may be this one).
    pub(super) fn add_receiving(&self, conn: &Conn, bytes: u64) {
        if conn.receiving.fetch_add(bytes, Ordering::Relaxed) == 0 {
            conn.receiving_since
                .store(self.now().max(1), Ordering::Relaxed);
        }
        let total = self.receiving.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total <= self.max_receiving {
            return;
        }
        let conns = self.lock();
        // Connections closed already free theirs as their tasks end: only what is left over
        // after them calls for another.
        let closing: u64 = conns
            .by_id
            .values()
            .filter(|c| c.evicted.load(Ordering::Relaxed))
            .map(|c| c.receiving.load(Ordering::Relaxed))
            .sum();
        if total.saturating_sub(closing) <= self.max_receiving {
            return;
        }
        let costliest = conns
            .by_id
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .max_by_key(|c| c.receiving.load(Ordering::Relaxed));
        if let Some(costliest) = costliest.filter(|c| c.receiving.load(Ordering::Relaxed) > 0) {
            tracing::debug!(
                peer = %costliest.peer,
                bytes = costliest.receiving.load(Ordering::Relaxed),
                "the connection receiving the most is closed: too many bytes being received"
            );
            costliest.close(Closed::Receiving);
        }
    }

    /// Takes what `conn` was receiving off the total: its message is whole, or gone.
    pub(super) fn done_receiving(&self, conn: &Conn) {
        let bytes = conn.receiving.swap(0, Ordering::Relaxed);
        conn.receiving_since.store(0, Ordering::Relaxed);
        self.receiving.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Closes the connection idle longest, if any is idle.
    pub(super) fn evict_idle(&self) -> bool {
        let conns = self.lock();
        self.evict_idlest(&conns, None)
    }

    /// Closes the connection idle longest (of `peer` only, when given), if any is idle: no
    /// request running, no WebSocket call or subscription, and (for another peer's) past its
    /// first request or [`FRESH_GRACE_MS`]: a peer over its share gives up its own newest
    /// connection before a client waiting for its first answer loses its slot.
    fn evict_idlest(&self, conns: &Conns, peer: Option<IpAddr>) -> bool {
        let now = self.now();
        let idlest = conns
            .by_id
            .values()
            .filter(|c| peer.is_none_or(|p| c.peer.ip() == p))
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter(|c| {
                peer.is_some()
                    || c.served.load(Ordering::Relaxed)
                    || now.saturating_sub(c.accepted_at) >= FRESH_GRACE_MS
            })
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        match idlest {
            Some(conn) => {
                conn.close(Closed::Evicted);
                true
            }
            None => false,
        }
    }
}

impl Conn {
    /// Closes the connection (once) for `reason`.
    pub(super) fn close(&self, reason: Closed) {
        if self.evicted.swap(true, Ordering::AcqRel) {
            return;
        }
        self.close_reason.store(reason as u8, Ordering::Release);
        metrics::counter!("rpc.server.connections.closed", "reason" => reason.label()).increment(1);
        self.close.notify_waiters();
    }

    /// Resolves once the server closes the connection.
    pub(super) async fn closed(&self) {
        loop {
            let notified = self.close.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if self.evicted.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// A connection's entry in the server's map, for as long as the connection lives.
struct Registered {
    server: Arc<Server>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut conns = self.server.lock();
        if let Some(conn) = conns.by_id.remove(&self.id) {
            self.server.done_receiving(&conn);
            let ip = conn.peer.ip();
            if let Some(held) = conns.per_peer.get_mut(&ip) {
                *held -= 1;
                if *held == 0 {
                    conns.per_peer.remove(&ip);
                }
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

    /// The peer's address.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.conn.peer
    }

    /// Resolves with the reason once the connection must close: the server shuts down, closes
    /// it, or it stays idle (no [`busy`](Self::busy) guard) for the idle timeout.
    pub(crate) async fn closing(mut self) -> Closing {
        let idle = async {
            let limit =
                u64::try_from(self.server.limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
            loop {
                let activity = self.conn.activity.notified();
                let mut activity = pin!(activity);
                activity.as_mut().enable();
                if self.conn.in_flight.load(Ordering::Acquire) > 0 {
                    activity.await;
                    continue;
                }
                let since = self.conn.idle_since.load(Ordering::Relaxed);
                let left = since
                    .saturating_add(limit)
                    .saturating_sub(self.server.now());
                if left == 0 {
                    return;
                }
                tokio::select! {
                    () = activity => {}
                    () = tokio::time::sleep(Duration::from_millis(left)) => {}
                }
            }
        };
        tokio::select! {
            _ = self.stop.wait_for(|stopped| *stopped) => Closing::Stopping,
            () = self.conn.closed() => Closing::Closed(
                Closed::from_u8(self.conn.close_reason.load(Ordering::Acquire))
                    .unwrap_or(Closed::Evicted),
            ),
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

/// A connection's socket, closed when it stays idle, a head or a WebSocket message takes too
/// long, or its reader stalls for too long.
struct Guarded {
    stream: TcpStream,
    server: Arc<Server>,
    conn: Arc<Conn>,
    limits: Limits,
    /// The idle timer while no head has started, then the head's deadline.
    read_timer: Option<Pin<Box<Sleep>>>,
    /// Whether bytes of a new head have arrived since the last request started.
    head_started: bool,
    /// [`Conn::requests`] when the socket last looked.
    requests_seen: u64,
    /// An upgraded connection's deadline for the message it is receiving.
    message_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    /// Tells the connection's task the socket is gone.
    _alive: tokio::sync::oneshot::Sender<()>,
}

/// Whether `timer` (set to `after` on first use) has run out.
pub(super) fn expired(
    timer: &mut Option<Pin<Box<Sleep>>>,
    after: Duration,
    cx: &mut Context<'_>,
) -> bool {
    timer
        .get_or_insert_with(|| Box::pin(tokio::time::sleep(after)))
        .as_mut()
        .poll(cx)
        .is_ready()
}

fn timed_out(why: &'static str) -> Poll<io::Result<()>> {
    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
}

impl Guarded {
    fn poll_send<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.stream), cx) {
            Poll::Ready(done) => {
                if self.write_timer.take().is_some() {
                    self.conn.stalled_since.store(0, Ordering::Relaxed);
                }
                Poll::Ready(done)
            }
            Poll::Pending if expired(&mut self.write_timer, self.limits.send_timeout, cx) => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not read its answer in time",
                )))
            }
            Poll::Pending => {
                let now = self.server.now().max(1);
                let stalled = self.conn.stalled_since.compare_exchange(
                    0,
                    now,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                if stalled.is_ok() {
                    self.server.shed_unsent();
                }
                Poll::Pending
            }
        }
    }

    /// An upgraded connection's read: its bytes count as a message being received, which
    /// must be whole within the receive deadline. Idle time is the socket's business.
    fn poll_upgraded(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        let bytes = (buf.filled().len() - before) as u64;
        if bytes > 0 {
            self.server.add_receiving(&self.conn, bytes);
        }
        if read.is_ready() {
            return read;
        }
        let since = self.conn.receiving_since.load(Ordering::Relaxed);
        if since == 0 {
            self.message_timer = None;
            return Poll::Pending;
        }
        let deadline = u64::try_from(self.limits.receive_deadline.as_millis()).unwrap_or(u64::MAX);
        let left = since
            .saturating_add(deadline)
            .saturating_sub(self.server.now());
        let timer = self
            .message_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(left))));
        timer
            .as_mut()
            .reset(tokio::time::Instant::now() + Duration::from_millis(left));
        if left == 0 || timer.as_mut().poll(cx).is_ready() {
            metrics::counter!("rpc.server.connections.closed", "reason" => "message_deadline")
                .increment(1);
            return timed_out("a message was not finished within the receive deadline");
        }
        Poll::Pending
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A connection the server closed takes in nothing more while it winds down.
        if this.conn.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed by the server",
            )));
        }
        if this.conn.upgraded.load(Ordering::Acquire) {
            return this.poll_upgraded(cx, buf);
        }
        let requests = this.conn.requests.load(Ordering::Acquire);
        if requests != this.requests_seen {
            // A request started since: the next head has not.
            this.requests_seen = requests;
            this.head_started = false;
            this.read_timer = None;
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(done) => {
                let idle = this.conn.in_flight.load(Ordering::Acquire) == 0;
                if idle && !this.head_started && buf.filled().len() > before {
                    // The first bytes of a head: it has the header timeout from now on.
                    this.head_started = true;
                    this.read_timer = None;
                }
                Poll::Ready(done)
            }
            // While a request is answered, its body has its own timeout and the next head
            // waits for the answer.
            Poll::Pending if this.conn.in_flight.load(Ordering::Acquire) > 0 => {
                this.read_timer = None;
                Poll::Pending
            }
            Poll::Pending if this.head_started => {
                if expired(&mut this.read_timer, this.limits.header_timeout, cx) {
                    return timed_out("the request head took too long");
                }
                Poll::Pending
            }
            Poll::Pending if expired(&mut this.read_timer, this.limits.idle_timeout, cx) => {
                timed_out("the connection was idle too long")
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_send(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
