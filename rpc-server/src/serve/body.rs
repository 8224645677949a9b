//! Request and answer bodies under the server's limits: a request body that stalls fails, and
//! a large answer counts against the unsent bytes until it is written.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, Incoming, SizeHint};

use super::BoxError;
use super::server::{Conn, Server, expired};
use tokio::time::Sleep;

/// Answers from this size on count against [`Serve::max_unsent_bytes`]; smaller ones cost
/// nothing to track (no allocation), and thousands of them are still small.
pub(super) const TRACKED_ANSWER_BYTES: u64 = 64 * 1024;

/// An answer body whose data counts against the server's unsent bytes for as long as the
/// data lives, that is until the HTTP server has written its last byte (or dropped it with
/// its connection).
pub(super) struct TrackedBody {
    pub(super) body: Body,
    pub(super) server: Arc<Server>,
    pub(super) conn: Arc<Conn>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let frame = match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                this.server.add_unsent(&this.conn, len);
                Frame::data(Bytes::from_owner(Unsent {
                    data,
                    server: this.server.clone(),
                    conn: this.conn.clone(),
                }))
            }
            Err(frame) => frame,
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Answer data on its way out, taken off the unsent bytes when dropped.
struct Unsent {
    data: Bytes,
    server: Arc<Server>,
    conn: Arc<Conn>,
}

impl AsRef<[u8]> for Unsent {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Unsent {
    fn drop(&mut self) {
        let len = u64::try_from(self.data.len()).unwrap_or(u64::MAX);
        self.conn.unsent.fetch_sub(len, Ordering::Relaxed);
        self.server.unsent.fetch_sub(len, Ordering::Relaxed);
    }
}

/// The error of a request body that sent nothing for the server's
/// [`body_timeout`](Serve::body_timeout), or was not whole within its
/// [`receive_deadline`](Serve::receive_deadline).
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stalled or took too long")
    }
}

impl std::error::Error for BodyTimedOut {}

/// The error of a request body whose connection the server closed while it was read: it held
/// the most of the bytes being received when they went past their budget.
#[derive(Debug)]
pub(crate) struct BodyShed;

impl std::fmt::Display for BodyShed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is receiving too many bytes; this body was the largest")
    }
}

impl std::error::Error for BodyShed {}

/// A request body that fails when it sends nothing for too long, or is not whole within the
/// receive deadline; its bytes count as being received until it is whole or dropped.
pub(super) struct TimedBody {
    body: Incoming,
    server: Arc<Server>,
    conn: Arc<Conn>,
    timer: Option<Pin<Box<Sleep>>>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl TimedBody {
    pub(super) fn new(body: Incoming, server: Arc<Server>, conn: Arc<Conn>) -> Self {
        TimedBody {
            body,
            server,
            conn,
            timer: None,
            deadline: None,
        }
    }
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        self.server.done_receiving(&self.conn);
    }
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.conn.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(Box::new(BodyShed))));
        }
        let deadline = this.server.limits.receive_deadline;
        if expired(&mut this.deadline, deadline, cx) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                match &frame {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            this.server.add_receiving(&this.conn, data.len() as u64);
                        }
                    }
                    _ => this.server.done_receiving(&this.conn),
                }
                if this.body.is_end_stream() {
                    this.server.done_receiving(&this.conn);
                }
                Poll::Ready(frame.map(|f| f.map_err(BoxError::from)))
            }
            Poll::Pending if expired(&mut this.timer, this.server.limits.body_timeout, cx) => {
                Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
