//! A connection's socket under the server's timers: idle, a head or a WebSocket message taking
//! too long, a reader that stalls; and its bytes counted as being received.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::Limits;
use super::server::{Conn, Server, expired};

/// A connection's socket, closed when it stays idle, a head or a WebSocket message takes too
/// long, or its reader stalls for too long.
pub(super) struct Guarded<I> {
    pub(super) stream: I,
    pub(super) server: Arc<Server>,
    pub(super) conn: Arc<Conn>,
    pub(super) limits: Limits,
    /// The idle timer while no head has started, then the head's deadline.
    pub(super) read_timer: Option<Pin<Box<Sleep>>>,
    /// Whether bytes of a new head have arrived since the last request started.
    pub(super) head_started: bool,
    /// [`Conn::requests`] when the socket last looked.
    pub(super) requests_seen: u64,
    /// An upgraded connection's deadline for the message it is receiving.
    pub(super) message_timer: Option<Pin<Box<Sleep>>>,
    pub(super) write_timer: Option<Pin<Box<Sleep>>>,
    /// Tells the connection's task the socket is gone.
    pub(super) _alive: tokio::sync::oneshot::Sender<()>,
}

fn timed_out(why: &'static str) -> Poll<io::Result<()>> {
    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
}

impl<I: AsyncRead + AsyncWrite + Unpin> Guarded<I> {
    fn poll_send<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut I>, &mut Context<'_>) -> Poll<io::Result<T>>,
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

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<I> {
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

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<I> {
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
