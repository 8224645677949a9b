//! The reader of a connection: it reads every frame, routes each answer to the call waiting for
//! its id and each subscription item to its stream, pings a silent server, and when the
//! connection ends fails the calls still waiting and hands the subscriptions to the
//! connection's owner ([`Shared::watch`](super::Shared::watch)), which decides what becomes of
//! them.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use rpc_core::peer::{Cancellation, Running};
use rpc_core::wire::Response;
use rpc_core::{Error, ErrorCode, ErrorObject};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::served::Served;
use super::subscription::{End, Slot};
use super::table::{Pending, Table, unsubscribe};

/// How long the reader waits for the server's close frame after the writer sent ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

type Stream = super::Frames;

/// What the reader task holds: never the connection's sender itself, so that the connection
/// closes when its last user is gone.
pub(super) struct Reader {
    pub(super) table: Arc<Table>,
    pub(super) outgoing: mpsc::WeakSender<Message>,
    /// `None` over a transport without pings (a Unix socket), whose end is its peer's.
    pub(super) ping_interval: Option<Duration>,
    /// What the client serves the server, if anything.
    pub(super) served: Option<Served>,
    pub(super) cancellation: Cancellation,
    /// The served calls the server may cancel.
    pub(super) running: Arc<Running<tokio::task::AbortHandle>>,
    /// Ends when the last ordered notification served has finished.
    pub(super) last_ordered: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

/// How a connection ended: why, and the subscriptions it was carrying.
pub(super) struct Lost {
    pub(super) why: String,
    pub(super) subscriptions: Vec<Arc<Slot>>,
}

/// Routes every frame until the connection ends, then fails the calls still waiting and returns
/// the subscriptions it carried.
pub(super) async fn read(
    mut stream: Stream,
    reader: Reader,
    stop: oneshot::Sender<()>,
    mut writer_gone: oneshot::Receiver<()>,
) -> Lost {
    let mut closing: Option<tokio::time::Instant> = None;
    // A connection that went silent (a peer gone without closing, a dead route) shows no error
    // of its own: a ping every interval, and two intervals without a frame, end it.
    let pings = reader.ping_interval.is_some();
    let every = reader.ping_interval.unwrap_or(Duration::from_secs(3600));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    // The code and reason of the server's close frame, for the errors it causes.
    let mut close: Option<String> = None;
    // Why the connection ended, for the errors of everything that was waiting on it.
    let why: String = loop {
        let frame = match closing {
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(frame) => frame,
                Err(_) => break "the server did not answer the close frame".into(),
            },
            None => tokio::select! {
                frame = stream.next() => frame,
                _ = &mut writer_gone => {
                    closing = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                    continue;
                }
                _ = ping.tick(), if pings => {
                    if heard.elapsed() > 2 * every {
                        break format!(
                            "the server sent nothing, not even a pong, for {} ms",
                            heard.elapsed().as_millis()
                        );
                    }
                    if let Some(outgoing) = reader.outgoing.upgrade() {
                        let _ = outgoing.try_send(Message::Ping(Bytes::new()));
                    }
                    continue;
                }
            },
        };
        heard = tokio::time::Instant::now();
        match frame {
            None => {
                break close.map_or_else(
                    || "the server closed it".into(),
                    |why| format!("the server closed it ({why})"),
                );
            }
            Some(Err(e)) => break e.to_string(),
            Some(Ok(Message::Text(text))) => reader.route(Bytes::from(text)),
            Some(Ok(Message::Binary(bytes))) => reader.route(bytes),
            // The protocol layer answers a close frame, and the stream ends after it.
            Some(Ok(Message::Close(frame))) => {
                close = frame.map(|f| format!("{}: {}", u16::from(f.code), f.reason));
                continue;
            }
            // Pings are answered by the protocol layer.
            Some(Ok(_)) => continue,
        }
        // Frames already in the read buffer come without a wait: without this yield, a burst
        // would be routed whole before a consumer on the same thread ran, filling its buffer
        // although it keeps up.
        tokio::task::coop::consume_budget().await;
    };
    drop(stop);
    let subscriptions = {
        let mut state = reader.table.state();
        state.lost = Some(why.clone());
        // Dropping the answer senders fails each waiting call with "lost".
        state.pending.clear();
        std::mem::take(&mut state.subscriptions)
    };
    Lost {
        why,
        subscriptions: subscriptions.into_values().collect(),
    }
}

/// The members of an incoming frame the reader routes by.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
}

/// A subscription notification's params.
#[derive(Deserialize)]
struct Notification<'a> {
    #[serde(borrow)]
    subscription: &'a RawValue,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// Keeps a member holding `null` apart from a missing one.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct AnswerId<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
}

impl Reader {
    /// Routes one frame: an answer to its caller, a notification to its subscription.
    fn route(&self, frame: Bytes) {
        if frame.trim_ascii_start().first() == Some(&b'[') {
            return self.route_batch(frame);
        }
        let incoming: Incoming<'_> = match serde_json::from_slice(&frame) {
            Ok(incoming) => incoming,
            Err(e) => {
                tracing::debug!(error = %e, "dropping a WebSocket frame that is not a JSON-RPC message");
                return;
            }
        };
        match (incoming.id, incoming.method) {
            (Some(id), None) => self.route_answer(id, &frame),
            (id, Some(method)) if self.serve(&method, incoming.params, id, &frame) => {}
            (None, Some(method)) => match incoming.params {
                Some(params) => self.route_item(&method, params, &frame),
                None => tracing::debug!(%method, "dropping a notification without params"),
            },
            (Some(id), Some(method)) => {
                tracing::debug!(%method, "a request from the server: the client serves none");
                let error = ErrorObject::new(ErrorCode::METHOD_NOT_FOUND, "Method not found")
                    .with_data("this client serves no methods");
                self.send_answer(error_answer(&error, id));
            }
            (None, None) => {
                tracing::debug!("dropping a message that is neither answer nor request")
            }
        }
    }

    /// Serves a request or notification from the server when the client serves `method` (or
    /// it cancels one of the served calls): says whether it was taken.
    fn serve(
        &self,
        method: &str,
        params: Option<&RawValue>,
        id: Option<&RawValue>,
        frame: &Bytes,
    ) -> bool {
        if id.is_none()
            && let Some(cancelled) = self.cancellation.cancelled(method, params)
        {
            if let Some(call) = self.running.cancel(cancelled.get()) {
                if let Some(task) = call.handle() {
                    task.abort();
                }
                tracing::debug!(id = cancelled.get(), "the server cancelled a served call");
                if self.cancellation.answers_cancelled() {
                    let error = ErrorObject::new(ErrorCode::REQUEST_CANCELLED, "Request cancelled");
                    self.send_answer(error_answer(&error, cancelled));
                }
            }
            return true;
        }
        let Some(served) = &self.served else {
            return false;
        };
        if id.is_none() && served.known(method).is_none() {
            // Not one of the served notifications: a subscription's item, perhaps.
            return false;
        }
        let Ok(slot) = served.slots.clone().try_acquire_owned() else {
            tracing::debug!(method, "too many served calls at once; refused");
            crate::measure::served_refused();
            if let Some(id) = id {
                let error = ErrorObject::new(ErrorCode::SERVER_BUSY, "Server busy")
                    .with_data("the client runs as many of the server's calls as it allows");
                self.send_answer(error_answer(&error, id));
            }
            return true;
        };
        let cancellable = id
            .filter(|_| self.cancellation != Cancellation::None)
            .map(|id| {
                let id: Box<str> = id.get().into();
                (self.running.start(id.clone()), id)
            });
        let handle = cancellable.as_ref().map(|(call, _)| call.clone());
        // An ordered notification runs after the one before it has finished, in arrival order,
        // while the reader goes on routing.
        let (after, done) = match id.is_none() && served.is_ordered(method) {
            true => {
                let (done, finished) = tokio::sync::oneshot::channel::<()>();
                let mut last = self
                    .last_ordered
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                (last.replace(finished), Some(done))
            }
            false => (None, None),
        };
        let (served, frame) = (served.clone(), frame.clone());
        let (outgoing, running) = (self.outgoing.clone(), self.running.clone());
        let task = tokio::spawn(async move {
            if let Some(previous) = after {
                let _ = previous.await;
            }
            let answer = served.answer(frame).await;
            drop(done);
            drop(slot);
            let cancelled = cancellable
                .as_ref()
                .is_some_and(|(call, id)| !running.finish(id, call));
            if let (Some(answer), false) = (answer, cancelled)
                && let Ok(text) = Utf8Bytes::try_from(answer)
                && let Some(outgoing) = outgoing.upgrade()
            {
                let _ = outgoing.send(Message::Text(text)).await;
            }
        });
        if let Some(call) = handle {
            call.set_handle(task.abort_handle());
        }
        true
    }

    /// Queues an answer to the server, without waiting: a full queue drops it.
    fn send_answer(&self, answer: Vec<u8>) {
        if let (Ok(text), Some(outgoing)) = (Utf8Bytes::try_from(answer), self.outgoing.upgrade()) {
            let _ = outgoing.try_send(Message::Text(text));
        }
    }

    fn route_answer(&self, id: &RawValue, frame: &Bytes) {
        let mut state = self.table.state();
        let pending = match id.get().parse::<u64>() {
            Ok(id) => state.pending.remove(&id),
            // An error the server could not tie to a request has id null: it can only be the
            // answer to the one request waiting, if there is one.
            Err(_) if id.get() == "null" && state.pending.len() == 1 => {
                let id = *state.pending.keys().next().unwrap_or(&0);
                state.pending.remove(&id)
            }
            Err(_) => None,
        };
        match pending {
            Some(Pending::Call(answer)) => {
                let _ = answer.send(frame.clone());
            }
            Some(Pending::Subscribe(answer, slot)) => {
                // Registered before the next frame is read, so no item is lost.
                if let Ok(Response {
                    result: Some(sub_id),
                    error: None,
                    ..
                }) = Response::parse(frame)
                {
                    let key: Box<str> = sub_id.get().into();
                    slot.set_id(&key);
                    state.subscriptions.insert(key, slot);
                }
                let _ = answer.send(frame.clone());
            }
            None => tracing::debug!(id = id.get(), "dropping an answer no call waits for"),
        }
    }

    fn route_batch(&self, frame: Bytes) {
        let ids: Vec<AnswerId<'_>> = match serde_json::from_slice(&frame) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::debug!(error = %e, "dropping a batch answer that does not parse");
                return;
            }
        };
        let mut state = self.table.state();
        // The batch waits under one of its ids; any answer in it names the batch.
        let waiting = ids
            .iter()
            .filter_map(|a| a.id.get().parse::<u64>().ok())
            .find_map(|id| state.pending.remove(&id));
        match waiting {
            Some(Pending::Call(answer)) | Some(Pending::Subscribe(answer, _)) => {
                let _ = answer.send(frame.clone());
            }
            None => tracing::debug!("dropping a batch answer no call waits for"),
        }
    }

    fn route_item(&self, method: &str, params: &RawValue, frame: &Bytes) {
        let Ok(notification) = serde_json::from_str::<Notification<'_>>(params.get()) else {
            tracing::debug!(%method, "dropping a notification that is not a subscription's");
            return;
        };
        let key = notification.subscription.get();
        let mut state = self.table.state();
        let Some(slot) = state.subscriptions.get(key) else {
            tracing::debug!(%method, subscription = key, "dropping an item of an unknown subscription");
            return;
        };
        if slot.notification() != method {
            tracing::debug!(%method, subscription = key, "dropping an item sent under another notification name");
            return;
        }
        let end = match (notification.result, notification.error) {
            (Some(item), _) => match slot.push(frame.slice_ref(item.get().as_bytes())) {
                Ok(()) => return,
                Err(end) => end,
            },
            (None, Some(error)) if error.get() == "null" => End::Normal,
            (None, Some(error)) => match serde_json::from_str::<ErrorObject>(error.get()) {
                Ok(error) => End::Failed(error),
                Err(_) => End::Lost(Error::Malformed(format!(
                    "the subscription ended with an error that is not an error object: {}",
                    error.get()
                ))),
            },
            (None, None) => {
                tracing::debug!(%method, "dropping a notification with neither result nor error");
                return;
            }
        };
        let Some(slot) = state.subscriptions.remove(key) else {
            return;
        };
        drop(state);
        // The server ended it, or its consumer is gone or behind: in the last two cases the
        // server still sends, so it is told to stop.
        let unsubscribe_it = !matches!(end, End::Normal | End::Failed(_));
        if unsubscribe_it && let Some(outgoing) = self.outgoing.upgrade() {
            unsubscribe(&outgoing, &slot, key);
        }
        slot.end(end);
    }
}

/// An error answer to the request with id `id`.
fn error_answer(error: &ErrorObject, id: &RawValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    rpc_core::wire::write_error(&mut out, error, Some(id));
    out
}
