//! What the connection itself reads of a message and does about it, apart from answering it:
//! a cancellation protocol's cancel, the id of a call it may cancel, and the end a method asks
//! for ([`RequestContext::close_connection`](crate::RequestContext::close_connection)).

use std::sync::Arc;

use tokio::sync::watch;

use super::close_code;
use super::outbox::Outbox;

/// A connection's end, as its calls' methods may ask for it
/// ([`RequestContext::close_connection`](crate::RequestContext::close_connection)): the reader
/// then reads no more.
#[derive(Clone)]
pub(crate) struct Ending {
    pub(super) reading: Arc<watch::Sender<bool>>,
    pub(super) outbox: std::sync::Weak<Outbox>,
}

impl Ending {
    pub(crate) fn close(&self) {
        // Said once every answer is written (a WebSocket's close code and reason).
        if let Some(outbox) = self.outbox.upgrade() {
            outbox.close_with(close_code::NORMAL, "closed by a method");
        }
        if !self.reading.send_replace(true) {
            metrics::counter!("rpc.server.connections.closed", "reason" => "method").increment(1);
            tracing::debug!("a method closes its connection");
        }
    }
}

/// What the connection reads of a single message itself: its method, params and id (present
/// even when `null`). Batches, and what does not parse, are the dispatcher's to answer.
#[derive(serde::Deserialize)]
pub(super) struct Envelope<'a> {
    #[serde(borrow, default)]
    pub(super) method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) params: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default, deserialize_with = "super::peer::present")]
    pub(super) id: Option<&'a serde_json::value::RawValue>,
}

impl<'a> Envelope<'a> {
    /// The envelope of `body`, when it is a single message that parses.
    pub(super) fn of(body: &'a [u8]) -> Option<Self> {
        if body.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(body).ok()
    }
}

/// The id of a single request, as raw JSON; `None` for a notification or a batch.
pub(super) fn request_id(body: &[u8]) -> Option<Box<str>> {
    Some(Envelope::of(body)?.id?.get().into())
}

/// The calls of a connection that a cancellation may stop.
pub(super) type Running = rpc_core::peer::Running<tokio::task::AbortHandle>;

/// When `body` is the protocol's cancellation of a call: stops the call, answers it `-32800`
/// when the protocol wants an answer, and says the message was taken.
pub(super) fn cancel(
    running: &Running,
    message: &Envelope<'_>,
    cancellation: rpc_core::peer::Cancellation,
    outbox: &Outbox,
) -> bool {
    let (Some(method), None) = (&message.method, message.id) else {
        return false;
    };
    let Some(id) = cancellation.cancelled(method, message.params) else {
        return false;
    };
    let call = running.cancel(id.get());
    match call {
        Some(call) => {
            if let Some(task) = call.handle() {
                task.abort();
            }
            metrics::counter!("rpc.server.calls.cancelled").increment(1);
            tracing::debug!(id = id.get(), "call cancelled by its caller");
            if cancellation.answers_cancelled() {
                let mut answer = Vec::with_capacity(96);
                let error = rpc_core::ErrorObject::new(
                    rpc_core::ErrorCode::REQUEST_CANCELLED,
                    "Request cancelled",
                );
                rpc_core::wire::write_error(&mut answer, &error, Some(id));
                outbox.answer(answer, None);
            }
        }
        None => tracing::debug!(id = id.get(), "a cancellation of no running call"),
    }
    true
}
