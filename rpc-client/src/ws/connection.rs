//! One WebSocket connection: its writer and reader tasks, the calls waiting for an answer, the
//! subscriptions whose items it routes, and what happens when it is lost.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::wire::Response;
use rpc_core::{Error, ErrorObject};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::subscription::{End, Slot};
use super::{OUTGOING_QUEUE, Shared, closed, own_id};
use crate::retry::Failure;

/// How long the reader waits for the server's close frame after the writer sent ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A request waiting for its answer.
pub(crate) enum Pending {
    /// A call or a batch: the answer's bytes.
    Call(oneshot::Sender<Bytes>),
    /// A subscribe call: the answer's bytes, and the slot to register under the id it carries.
    Subscribe(oneshot::Sender<Bytes>, Arc<Slot>),
}

/// An open connection, as callers hold it.
pub(crate) struct Connection {
    outgoing: mpsc::Sender<Message>,
    table: Arc<Table>,
}

/// What the reader routes answers and items to.
struct Table {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    /// By the subscription id's JSON text (servers send strings or numbers).
    subscriptions: HashMap<Box<str>, Arc<Slot>>,
    /// Why the connection was lost, once it is: nothing is registered after that.
    lost: Option<String>,
}

impl Table {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a waiting call when its caller stops waiting: answered, timed out or cancelled.
pub(crate) struct Waiting<'c> {
    table: &'c Table,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.table.state().pending.remove(&self.id);
    }
}

impl Connection {
    /// Connects to the shared settings' URL and starts the writer and reader tasks.
    pub(crate) async fn open(shared: &Arc<Shared>) -> Result<Arc<Self>, (Error, Option<Failure>)> {
        let not_sent = |e: Error| (e, Some(Failure::NotSent));
        let settings = &shared.settings;
        let mut request = shared
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| not_sent(Error::Request(e.to_string())))?;
        for (name, value) in &settings.headers {
            request.headers_mut().insert(name, value.clone());
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(settings.max_message_size))
            .max_frame_size(Some(settings.max_message_size));
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (socket, _) = match tokio::time::timeout(settings.connect_timeout, connect).await {
            Err(_) => return Err(not_sent(Error::Timeout)),
            Ok(Err(e)) => return Err(not_sent(handshake_error(e))),
            Ok(Ok(connected)) => connected,
        };
        tracing::debug!(url = %shared.url, "WebSocket connected");
        let (sink, stream) = socket.split();
        let (outgoing, queued) = mpsc::channel(OUTGOING_QUEUE);
        let (stop, stopped) = oneshot::channel();
        let (writer_done, writer_gone) = oneshot::channel();
        let table = Arc::new(Table {
            state: Mutex::new(State::default()),
        });
        tokio::spawn(write(sink, queued, stopped, writer_done));
        let reader = Reader {
            table: table.clone(),
            outgoing: outgoing.downgrade(),
            shared: Arc::downgrade(shared),
            ping_interval: settings.ping_interval,
        };
        tokio::spawn(reader_task(stream, reader, stop, writer_gone));
        Ok(Arc::new(Connection { outgoing, table }))
    }

    pub(crate) fn is_open(&self) -> bool {
        !self.outgoing.is_closed() && self.table.state().lost.is_none()
    }

    /// Registers a request whose answer is awaited, until the returned guard drops.
    pub(crate) fn expect(
        &self,
        id: u64,
        pending: Pending,
    ) -> Result<Waiting<'_>, (Error, Option<Failure>)> {
        let mut state = self.table.state();
        if state.lost.is_some() {
            return Err((
                closed("before the request was sent"),
                Some(Failure::NotSent),
            ));
        }
        state.pending.insert(id, pending);
        Ok(Waiting {
            table: &self.table,
            id,
        })
    }

    /// Queues a frame for the writer.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), (Error, Option<Failure>)> {
        let text = Utf8Bytes::try_from(body)
            .map_err(|_| (Error::Request("a request is not UTF-8".into()), None))?;
        self.outgoing.send(Message::Text(text)).await.map_err(|_| {
            (
                closed("before the request was sent"),
                Some(Failure::NotSent),
            )
        })
    }

    /// The error of a call whose answer will not come: the connection was lost after it was
    /// sent.
    pub(crate) fn lost(&self) -> (Error, Option<Failure>) {
        let why = self.table.state().lost.clone();
        let why = why.as_deref().unwrap_or("before the answer arrived");
        (closed(why), Some(Failure::MaySucceedLater))
    }

    /// Stops routing items to `slot`, and when `tell`, sends its unsubscribe call without
    /// waiting.
    pub(crate) fn forget(&self, slot: &Slot, tell: bool) {
        let id = slot.id();
        let removed = self.table.state().subscriptions.remove(&*id);
        if tell && removed.is_some() {
            unsubscribe(&self.outgoing, slot, &id);
        }
    }
}

/// Sends `slot`'s unsubscribe call for the server's id `id`, without waiting for room in the
/// queue or for the answer (which the reader drops, its id being no one's).
fn unsubscribe(outgoing: &mpsc::Sender<Message>, slot: &Slot, id: &str) {
    let mut body = Vec::with_capacity(64 + id.len());
    let params = RawValue::from_string(format!("[{id}]")).ok();
    if rpc_core::wire::write_request(
        &mut body,
        slot.unsubscribe(),
        params.as_deref(),
        Some(own_id()),
    )
    .is_err()
    {
        return;
    }
    let Ok(text) = Utf8Bytes::try_from(body) else {
        return;
    };
    if let Err(mpsc::error::TrySendError::Full(message)) = outgoing.try_send(Message::Text(text)) {
        // A full queue must not lose the unsubscribe: send it when there is room.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let outgoing = outgoing.clone();
            runtime.spawn(async move { outgoing.send(message).await });
        }
    }
}

/// A failed opening handshake, told apart from a transport failure: a server that refuses the
/// upgrade answers with an HTTP status.
fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(crate::BODY_EXCERPT)]))
                .unwrap_or_default();
            Error::Status {
                status,
                body: body.trim().to_owned(),
            }
        }
        tungstenite::Error::Url(e) => Error::Request(e.to_string()),
        other => Error::Transport(Box::new(other)),
    }
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;
type Stream = futures_util::stream::SplitStream<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

/// The writer task: sends queued frames, several per flush when they queue up; sends a close
/// frame when every sender is gone; stops when the reader says the connection is lost.
async fn write(
    mut sink: Sink,
    mut queued: mpsc::Receiver<Message>,
    mut stopped: oneshot::Receiver<()>,
    _done: oneshot::Sender<()>,
) {
    loop {
        let message = tokio::select! {
            message = queued.recv() => message,
            _ = &mut stopped => return,
        };
        let Some(message) = message else {
            let _ = sink.send(Message::Close(None)).await;
            return;
        };
        if sink.feed(message).await.is_err() {
            return;
        }
        while let Ok(message) = queued.try_recv() {
            if sink.feed(message).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// What the reader task holds: never the connection's sender itself, so that the connection
/// closes when its last user is gone.
struct Reader {
    table: Arc<Table>,
    outgoing: mpsc::WeakSender<Message>,
    shared: Weak<Shared>,
    ping_interval: Duration,
}

/// The reader task, boxed: it may reconnect, which opens a connection, which starts a reader
/// task; the box ends that cycle of future types.
fn reader_task(
    stream: Stream,
    reader: Reader,
    stop: oneshot::Sender<()>,
    writer_gone: oneshot::Receiver<()>,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(read(stream, reader, stop, writer_gone))
}

/// The reader task: routes every frame until the connection ends, then fails the calls still
/// waiting and ends (or resubscribes) the subscriptions.
async fn read(
    mut stream: Stream,
    reader: Reader,
    stop: oneshot::Sender<()>,
    mut writer_gone: oneshot::Receiver<()>,
) {
    let mut closing: Option<tokio::time::Instant> = None;
    // A connection that went silent (a peer gone without closing, a dead route) shows no error
    // of its own: a ping every interval, and two intervals without a frame, end it.
    let every = reader.ping_interval;
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
                _ = ping.tick() => {
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
    let subscriptions: Vec<_> = subscriptions.into_values().collect();
    if subscriptions.is_empty() {
        return;
    }
    match reader.shared.upgrade() {
        Some(shared) if shared.settings.reconnect.is_some() => {
            drop(shared);
            resubscribe(reader.shared, subscriptions, why).await;
        }
        _ => {
            for slot in subscriptions {
                slot.end(End::Lost(closed(&why)));
            }
        }
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
            (None, Some(method)) => match incoming.params {
                Some(params) => self.route_item(&method, params, &frame),
                None => tracing::debug!(%method, "dropping a notification without params"),
            },
            _ => tracing::debug!("dropping a request from the server: the client serves none"),
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

/// Reconnects with the policy's backoff and subscribes each live subscription again with its
/// original params; the streams carry on under their new ids.
async fn resubscribe(shared: Weak<Shared>, mut slots: Vec<Arc<Slot>>, why: String) {
    let mut last = why;
    let mut attempt = 0;
    loop {
        slots.retain(|slot| slot.is_wanted());
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let Some(retrier) = &strong.settings.reconnect else {
            return;
        };
        attempt += 1;
        if slots.is_empty() {
            return;
        }
        if attempt > retrier.policy.attempts {
            break;
        }
        let wait = retrier.backoff(attempt);
        tracing::info!(
            url = %strong.url,
            attempt,
            wait_ms = wait.as_millis() as u64,
            subscriptions = slots.len(),
            reason = %last,
            "WebSocket connection lost; reconnecting"
        );
        drop(strong);
        tokio::time::sleep(wait).await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let connection = match strong.connection().await {
            Ok(connection) => connection,
            Err((e, _)) => {
                last = e.to_string();
                continue;
            }
        };
        let timeout = strong.settings.timeout;
        drop(strong);
        let mut answers = Vec::with_capacity(slots.len());
        for slot in std::mem::take(&mut slots) {
            let (answer, answered) = oneshot::channel();
            let id = own_id();
            let body = slot.subscribe_request(id);
            let waiting = match connection.expect(id, Pending::Subscribe(answer, slot.clone())) {
                Ok(waiting) => waiting,
                Err((e, _)) => {
                    last = e.to_string();
                    slots.push(slot);
                    continue;
                }
            };
            if let Err((e, _)) = connection.send(body).await {
                last = e.to_string();
                slots.push(slot);
                continue;
            }
            answers.push((slot, answered, waiting));
        }
        let mut resubscribed = 0;
        for (slot, answered, _waiting) in answers {
            let Ok(Ok(frame)) = tokio::time::timeout(timeout, answered).await else {
                slots.push(slot);
                continue;
            };
            match Response::parse(&frame) {
                Ok(Response {
                    error: Some(error), ..
                }) => slot.end(End::Failed(error)),
                Ok(_) => resubscribed += 1,
                Err(e) => slot.end(End::Lost(Error::Malformed(e))),
            }
        }
        tracing::info!(
            resubscribed,
            retrying = slots.len(),
            "WebSocket reconnected"
        );
        if slots.is_empty() {
            return;
        }
    }
    tracing::info!(reason = %last, subscriptions = slots.len(), "WebSocket reconnect gave up");
    for slot in slots {
        slot.end(End::Lost(closed(&last)));
    }
}
