//! One connection: its entry in the server's map, its limits on the socket (idle, stalled
//! reader), and its requests, upgraded ones included.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    pub(super) conns: Mutex<HashMap<u64, Arc<Conn>>>,
    pub(super) next_id: AtomicU64,
    /// Bytes of large answers made and not wholly written to their socket yet, all
    /// connections together: each stays in memory until its last byte is written.
    pub(super) unsent: AtomicU64,
    pub(super) max_unsent: u64,
    pub(super) epoch: Instant,
    /// Set when a graceful shutdown starts: answers carry `Connection: close`.
    pub(super) draining: AtomicBool,
    pub(super) idle_grace: Duration,
}

/// One open connection, as the eviction of idle connections sees it.
pub(super) struct Conn {
    /// Requests whose answer is being made.
    pub(super) in_flight: AtomicUsize,
    /// Milliseconds from the server's start to the connection's last request's end.
    pub(super) idle_since: AtomicU64,
    pub(super) evicted: AtomicBool,
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

    /// Serves an accepted connection, holding its `slot` of the connection cap until it ends.
    pub(super) async fn serve_accepted(
        self: Arc<Self>,
        stream: TcpStream,
        stop: watch::Receiver<bool>,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let _slot = slot;
        let _ = stream.set_nodelay(true);
        self.connection(stream, stop).await;
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
            evicted: AtomicBool::new(false),
            close: Notify::new(),
            unsent: AtomicU64::new(0),
            stalled_since: AtomicU64::new(0),
            activity: Notify::new(),
        });
        self.lock().insert(id, conn.clone());
        // Removed however the connection ends, a panic in the app included.
        let _registered = Registered {
            server: self.clone(),
            id,
        };
        // Dropped with the socket: when the connection is upgraded (to a WebSocket), the
        // socket outlives hyper's part of the connection, and the connection still counts.
        let (alive, socket_closed) = tokio::sync::oneshot::channel::<()>();
        let io = TokioIo::new(Guarded {
            stream,
            server: self.clone(),
            conn: conn.clone(),
            limits: self.limits,
            read_timer: None,
            write_timer: None,
            _alive: alive,
        });
        let server = self.clone();
        let on_request = conn.clone();
        let upgrade_stop = stop.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = Busy::new(&server, &on_request);
            let body_timeout = server.limits.body_timeout;
            let mut request = request.map(|body| Body::new(TimedBody::new(body, body_timeout)));
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
                () = conn.close.notified() => return,
                _ = stop.changed() => {
                    tokio::select! {
                        // The client closed it, an answer with `Connection: close` ended it, or
                        // an upgrade took it over.
                        _ = serving.as_mut() => {}
                        () = conn.close.notified() => return,
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
        // itself on shutdown (it holds the same stop signal).
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
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
            .values()
            .filter(|c| c.stalled_since.load(Ordering::Relaxed) != 0)
            .filter(|c| c.unsent.load(Ordering::Relaxed) > 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .collect();
        stalled.sort_by_key(|c| c.stalled_since.load(Ordering::Relaxed));
        let mut over = total - self.max_unsent;
        for conn in stalled {
            over = over.saturating_sub(conn.unsent.load(Ordering::Relaxed));
            conn.evicted.store(true, Ordering::Relaxed);
            conn.close.notify_one();
            tracing::debug!("a connection whose reader stalled is closed: too many unsent bytes");
            if over == 0 {
                break;
            }
        }
    }

    /// Closes the connection idle longest, if any is idle.
    pub(super) fn evict_idle(&self) {
        let conns = self.lock();
        let idlest = conns
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        if let Some(conn) = idlest {
            conn.evicted.store(true, Ordering::Relaxed);
            conn.close.notify_one();
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
        self.server.lock().remove(&self.id);
    }
}

/// In each request's extensions when served by [`serve`]: what a request that upgrades its
/// connection (to a WebSocket) needs to keep it counted as busy, and to hear of a shutdown.
#[derive(Clone)]
pub(crate) struct Upgrade {
    stop: watch::Receiver<bool>,
    server: Arc<Server>,
    conn: Arc<Conn>,
}

impl Upgrade {
    /// Marks the connection busy for as long as the guard lives: never evicted as idle, and
    /// its idle timeout off (an upgraded protocol keeps itself alive, as WebSocket pings do).
    pub(crate) fn busy(&self) -> impl Send + Sync + 'static {
        Busy::new(&self.server, &self.conn)
    }

    /// Resolves once the server shuts down.
    pub(crate) async fn stopping(mut self) {
        let _ = self.stop.wait_for(|stopped| *stopped).await;
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
        conn.activity.notify_one();
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
        self.conn.activity.notify_one();
    }
}

/// A connection's socket, closed when it stays idle or its reader stalls for too long.
struct Guarded {
    stream: TcpStream,
    server: Arc<Server>,
    conn: Arc<Conn>,
    limits: Limits,
    read_timer: Option<Pin<Box<Sleep>>>,
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
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(done) => {
                this.read_timer = None;
                Poll::Ready(done)
            }
            // While a request is answered, its body has its own timeout and the next head
            // waits for the answer.
            Poll::Pending if this.conn.in_flight.load(Ordering::Acquire) > 0 => {
                this.read_timer = None;
                Poll::Pending
            }
            Poll::Pending if expired(&mut this.read_timer, this.limits.idle_timeout, cx) => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was idle too long",
                )))
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
