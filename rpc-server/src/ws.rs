//! JSON-RPC over WebSocket, on the same route as HTTP: every message is a request or a batch,
//! answered on the socket as it would be over HTTP, and subscriptions push their items as
//! notifications (the format is in [`rpc_core::subscription`]).
//!
//! One connection is three kinds of task: this reader (the connection's own task), which
//! parses nothing itself and hands each message to a call task; one writer, the only one that
//! touches the socket's sending half, fed by a channel; and a pump per subscription, pulling
//! its stream. Every buffer is bounded:
//! - calls: at most [`WsLimits::max_calls`] are in flight or have an answer waiting to be
//!   written; past that the reader stops reading, and TCP pushes back on the client;
//! - subscriptions: at most [`WsLimits::max_subscriptions`] per connection, and
//!   [`WsLimits::max_endpoint_subscriptions`] on all the endpoint's connections together;
//! - items: at most [`WsLimits::subscription_buffer`] of a subscription's items wait to be
//!   written; while the buffer is full the subscription's stream is not polled, and when it
//!   stays full for [`WsLimits::slow_reader_grace`] the subscription is dropped with a last
//!   notification saying so ([`ErrorCode::SUBSCRIPTION_DROPPED`]); the connection goes on;
//! - messages: the endpoint's body limit applies to each message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use axum::http::request::Parts;
use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::subscription::ItemStream;
use rpc_core::{ErrorCode, ErrorObject, Service};
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::middleware::Calls;
use crate::serve::Upgrade;
use crate::{Config, RequestContext, dispatch};

/// The limits of each WebSocket connection. Set with
/// [`RpcService::websocket_limits`](crate::RpcService::websocket_limits).
///
/// ```
/// use std::time::Duration;
/// let limits = rpc_server::WsLimits::default()
///     .max_subscriptions(64)
///     .subscription_buffer(1024)
///     .ping_interval(Duration::from_secs(10));
/// assert_eq!(limits.max_calls, 64);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WsLimits {
    /// Calls of one connection running or waiting to have their answer written (default 64).
    pub max_calls: usize,
    /// Subscriptions one connection may hold (default 1024).
    pub max_subscriptions: usize,
    /// Subscriptions all the endpoint's connections may hold together (default 100,000): the
    /// bound on what many connections, each under its own limit, can make the server hold.
    pub max_endpoint_subscriptions: usize,
    /// Items of one subscription that may wait to be written (default 256). When the buffer is
    /// full the subscription's stream is not polled; if it stays full for
    /// [`slow_reader_grace`](Self::slow_reader_grace), the subscriber is reading too slowly
    /// and loses that subscription (the connection goes on).
    pub subscription_buffer: usize,
    /// How long a full subscription buffer may stay full (default 5 s).
    pub slow_reader_grace: Duration,
    /// How often the server pings (default 30 s); a connection that sends nothing, not even
    /// a pong, for two intervals is closed.
    pub ping_interval: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_calls: 64,
            max_subscriptions: 1024,
            max_endpoint_subscriptions: 100_000,
            subscription_buffer: 256,
            slow_reader_grace: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
        }
    }
}

impl WsLimits {
    /// See [`max_calls`](Self::max_calls); at least 1.
    pub fn max_calls(mut self, calls: usize) -> Self {
        self.max_calls = calls.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// See [`max_subscriptions`](Self::max_subscriptions).
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_subscriptions = subscriptions;
        self
    }

    /// See [`max_endpoint_subscriptions`](Self::max_endpoint_subscriptions).
    pub fn max_endpoint_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_endpoint_subscriptions = subscriptions;
        self
    }

    /// See [`subscription_buffer`](Self::subscription_buffer); at least 1.
    pub fn subscription_buffer(mut self, items: usize) -> Self {
        self.subscription_buffer = items.max(1);
        self
    }

    /// See [`slow_reader_grace`](Self::slow_reader_grace).
    pub fn slow_reader_grace(mut self, grace: Duration) -> Self {
        self.slow_reader_grace = grace;
        self
    }

    /// See [`ping_interval`](Self::ping_interval); at least 10 ms.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval.max(Duration::from_millis(10));
        self
    }
}

tokio::task_local! {
    /// The connection a call came in on, while it runs: how the end of the middleware chain
    /// starts and ends subscriptions.
    static CALL: Arc<CallScope>;
}

/// One message's calls, on one connection.
struct CallScope {
    socket: Arc<Socket>,
    /// Subscriptions made by this message's calls, started once its answer is queued, so that
    /// a subscriber always has the id before the first item.
    started: Mutex<Vec<(Arc<str>, &'static str, ItemStream)>>,
}

/// What the tasks of one connection share.
struct Socket {
    out: mpsc::UnboundedSender<Outbound>,
    limits: WsLimits,
    max_item_bytes: usize,
    /// Live subscriptions by id: the pump's abort handle once it runs.
    subscriptions: Mutex<HashMap<Arc<str>, Option<tokio::task::AbortHandle>>>,
    /// The subscriptions of all the endpoint's connections.
    endpoint_subscriptions: Arc<AtomicUsize>,
}

impl Socket {
    fn subscriptions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Option<tokio::task::AbortHandle>>> {
        // A panic while the map is held leaves it whole: every operation is one insert or
        // remove.
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts `ended` subscriptions out of the endpoint's total and the gauge.
    fn forget(&self, ended: usize) {
        if ended > 0 {
            self.endpoint_subscriptions
                .fetch_sub(ended, Ordering::AcqRel);
            metrics::gauge!("rpc.server.subscriptions.active").decrement(ended as f64);
        }
    }
}

/// One message for the writer.
struct Outbound {
    text: Vec<u8>,
    /// Its subscription's count of items not written yet, when it is an item.
    pending: Option<Arc<Pending>>,
    /// The call slot its answer holds until it is written.
    _permit: Option<OwnedSemaphorePermit>,
}

/// A subscription's items queued and not written yet.
#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    /// Signalled each time one is written.
    written: tokio::sync::Notify,
}

/// Whether the calls running now came over a WebSocket.
pub(crate) fn in_socket() -> bool {
    CALL.try_with(|_| ()).is_ok()
}

/// Subscribes for the call running now: the subscription id's JSON, written into `out`.
pub(crate) fn subscribe(
    notification: &'static str,
    items: ItemStream,
    out: &mut Vec<u8>,
) -> Result<(), ErrorObject> {
    let scope = CALL
        .try_with(Arc::clone)
        .map_err(|_| ErrorObject::internal_error())?;
    let id = new_id();
    {
        let mut subscriptions = scope.socket.subscriptions();
        if subscriptions.len() >= scope.socket.limits.max_subscriptions {
            metrics::counter!("rpc.server.subscriptions.refused", "reason" => "limit").increment(1);
            return Err(ErrorObject::new(
                ErrorCode::TOO_MANY_SUBSCRIPTIONS,
                format!(
                    "Too many subscriptions: this connection holds {}, the most it may",
                    subscriptions.len()
                ),
            ));
        }
        let limit = scope.socket.limits.max_endpoint_subscriptions;
        let total = &scope.socket.endpoint_subscriptions;
        if total.fetch_add(1, Ordering::AcqRel) >= limit {
            total.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("rpc.server.subscriptions.refused", "reason" => "endpoint_limit")
                .increment(1);
            return Err(ErrorObject::new(
                ErrorCode::TOO_MANY_SUBSCRIPTIONS,
                format!("Too many subscriptions: the server holds {limit}, the most it may"),
            ));
        }
        subscriptions.insert(id.clone(), None);
        metrics::gauge!("rpc.server.subscriptions.active").increment(1);
    }
    // A string holds no character JSON escapes: the id is hexadecimal.
    out.push(b'"');
    out.extend_from_slice(id.as_bytes());
    out.push(b'"');
    scope
        .started
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((id, notification, items));
    Ok(())
}

/// Ends a subscription of the call's connection: `true` (written into `out`) when it held it.
pub(crate) fn unsubscribe(params: Option<&RawValue>, out: &mut Vec<u8>) -> Result<(), ErrorObject> {
    let scope = CALL
        .try_with(Arc::clone)
        .map_err(|_| ErrorObject::internal_error())?;
    let id = subscription_id(params)?;
    let removed = scope.socket.subscriptions().remove(id.as_str());
    if let Some(pump) = &removed {
        if let Some(pump) = pump {
            pump.abort();
        }
        scope.socket.forget(1);
    }
    out.extend_from_slice(if removed.is_some() { b"true" } else { b"false" });
    Ok(())
}

/// The id in an unsubscribe call's params: `[ID]` or `{"subscription": ID}`, a string or a
/// number.
fn subscription_id(params: Option<&RawValue>) -> Result<String, ErrorObject> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Params {
        Positional((Id,)),
        Named { subscription: Id },
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    let invalid = || {
        ErrorObject::invalid_params("expected the subscription id: [ID] or {\"subscription\": ID}")
    };
    let params = params.ok_or_else(invalid)?;
    let (Params::Positional((id,)) | Params::Named { subscription: id }) =
        serde_json::from_str(params.get()).map_err(|_| invalid())?;
    Ok(match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

/// A subscription id: unique in the process, and not guessable from another's.
fn new_id() -> Arc<str> {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut hasher = KEYS.get_or_init(Default::default).build_hasher();
    hasher.write_u64(n);
    // The counter in the low half keeps ids unique; the keyed hash hides the order.
    let id = (hasher.finish() & 0xffff_ffff_0000_0000) | (n & 0xffff_ffff);
    format!("0x{id:016x}").into()
}

/// Serves one upgraded connection until either side closes it.
pub(crate) async fn run<S: Service, M: Calls>(
    socket: WebSocket,
    service: Arc<S>,
    stack: Arc<M>,
    config: Arc<Config>,
    parts: Arc<Parts>,
    upgrade: Option<Upgrade>,
) {
    let limits = config.websocket;
    let _busy = upgrade.as_ref().map(Upgrade::busy);
    let (out, outbound) = mpsc::unbounded_channel();
    let shared = Arc::new(Socket {
        out,
        limits,
        max_item_bytes: config.max_response_bytes,
        subscriptions: Mutex::new(HashMap::new()),
        endpoint_subscriptions: config.subscriptions.clone(),
    });
    let (sink, mut stream) = socket.split();
    let heard = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (writer_done, mut writer_ended) = watch::channel(false);
    let writer = tokio::spawn(write(
        sink,
        outbound,
        upgrade,
        limits.ping_interval,
        heard.clone(),
        started,
        writer_done,
    ));
    metrics::gauge!("rpc.server.websocket.connections").increment(1);
    tracing::debug!("websocket opened");
    let calls = Arc::new(Semaphore::new(limits.max_calls));
    loop {
        let permit = tokio::select! {
            permit = calls.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = writer_ended.wait_for(|ended| *ended) => break,
        };
        let message = tokio::select! {
            message = stream.next() => message,
            _ = writer_ended.wait_for(|ended| *ended) => break,
        };
        heard.store(millis(started), Ordering::Relaxed);
        let body = match message {
            Some(Ok(Message::Text(text))) => axum::body::Bytes::from(text),
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "websocket read failed");
                break;
            }
        };
        let scope = Arc::new(CallScope {
            socket: shared.clone(),
            started: Mutex::new(Vec::new()),
        });
        let (service, stack, config, parts) = (
            service.clone(),
            stack.clone(),
            config.clone(),
            parts.clone(),
        );
        tokio::spawn(CALL.scope(scope.clone(), async move {
            let endpoint = dispatch::Endpoint {
                service: &*service,
                stack: &*stack,
                config: &config,
            };
            let answer =
                RequestContext::scope_shared(parts, dispatch::handle(endpoint, &body)).await;
            if let Some(text) = answer {
                let _ = scope.socket.out.send(Outbound {
                    text,
                    pending: None,
                    _permit: Some(permit),
                });
            }
            let started = std::mem::take(
                &mut *scope
                    .started
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            for (id, notification, items) in started {
                start(&scope.socket, id, notification, items);
            }
        }));
    }
    // The subscriptions end with the connection; their pumps hold the writer's channel open.
    let ended: Vec<_> = shared.subscriptions().drain().collect();
    for (_, pump) in &ended {
        if let Some(pump) = pump {
            pump.abort();
        }
    }
    shared.forget(ended.len());
    drop(shared);
    // The writer ends once every call task has queued its answer and dropped its sender.
    let _ = writer.await;
    metrics::gauge!("rpc.server.websocket.connections").decrement(1);
    tracing::debug!(subscriptions_ended = ended.len(), "websocket closed");
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Starts the pump of a subscription made by a call whose answer is now queued, unless it was
/// ended in the meantime.
fn start(socket: &Arc<Socket>, id: Arc<str>, notification: &'static str, items: ItemStream) {
    let mut subscriptions = socket.subscriptions();
    let Some(slot) = subscriptions.get_mut(&id) else {
        return;
    };
    let pump = tokio::spawn(pump(socket.clone(), id, notification, items));
    *slot = Some(pump.abort_handle());
}

/// Pushes a subscription's items until its stream ends or fails, or its subscriber falls
/// behind.
async fn pump(
    socket: Arc<Socket>,
    id: Arc<str>,
    notification: &'static str,
    mut items: ItemStream,
) {
    let pending = Arc::new(Pending::default());
    let limit = socket.limits.subscription_buffer;
    loop {
        let item = items.next().await;
        let last = !matches!(item, Some(Ok(_)));
        let mut text = Vec::with_capacity(128);
        match item {
            Some(Ok(json)) if json.len() > socket.max_item_bytes => {
                tracing::error!(
                    notification,
                    bytes = json.len(),
                    "a subscription item is larger than the endpoint sends; the subscription ends"
                );
                let error = ErrorObject::new(ErrorCode::RESPONSE_TOO_LARGE, "Response too large");
                write_notification(&mut text, notification, &id, Err(Some(&error)));
                send_last(&socket, &id, text);
                return;
            }
            Some(Ok(json)) => {
                if !room(&pending, limit, socket.limits.slow_reader_grace).await {
                    tracing::warn!(notification, subscription = %id, buffered = limit, "a subscriber reads too slowly; its subscription is dropped");
                    metrics::counter!("rpc.server.subscriptions.dropped", "reason" => "slow_reader")
                        .increment(1);
                    let error = ErrorObject::new(
                        ErrorCode::SUBSCRIPTION_DROPPED,
                        "Subscription dropped: the subscriber reads too slowly",
                    );
                    write_notification(&mut text, notification, &id, Err(Some(&error)));
                    send_last(&socket, &id, text);
                    return;
                }
                write_notification(&mut text, notification, &id, Ok(&json));
            }
            Some(Err(error)) => write_notification(&mut text, notification, &id, Err(Some(&error))),
            None => write_notification(&mut text, notification, &id, Err(None)),
        }
        if last {
            send_last(&socket, &id, text);
            return;
        }
        pending.count.fetch_add(1, Ordering::AcqRel);
        metrics::counter!("rpc.server.subscriptions.items").increment(1);
        let sent = socket.out.send(Outbound {
            text,
            pending: Some(pending.clone()),
            _permit: None,
        });
        if sent.is_err() {
            return;
        }
    }
}

/// Waits until fewer than `limit` items are pending, for at most `grace`: `false` when the
/// buffer stayed full.
async fn room(pending: &Pending, limit: usize, grace: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        let written = pending.written.notified();
        if pending.count.load(Ordering::Acquire) < limit {
            return true;
        }
        if tokio::time::timeout_at(deadline, written).await.is_err() {
            return pending.count.load(Ordering::Acquire) < limit;
        }
    }
}

/// Sends a subscription's last notification and forgets it.
fn send_last(socket: &Socket, id: &str, text: Vec<u8>) {
    if socket.subscriptions().remove(id).is_some() {
        socket.forget(1);
        let _ = socket.out.send(Outbound {
            text,
            pending: None,
            _permit: None,
        });
    }
}

/// `{"jsonrpc":"2.0","method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`, or
/// with `"error"`: an error object, or `null` for a stream that ended.
fn write_notification(
    out: &mut Vec<u8>,
    notification: &str,
    id: &str,
    item: Result<&[u8], Option<&ErrorObject>>,
) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    // A `&str` always serializes.
    let _ = serde_json::to_writer(&mut *out, notification);
    out.extend_from_slice(br#","params":{"subscription":""#);
    out.extend_from_slice(id.as_bytes());
    match item {
        Ok(json) => {
            out.extend_from_slice(br#"","result":"#);
            out.extend_from_slice(json);
        }
        Err(error) => {
            out.extend_from_slice(br#"","error":"#);
            // An error object always serializes.
            let _ = serde_json::to_writer(&mut *out, &error);
        }
    }
    out.extend_from_slice(b"}}");
}

/// The writer: sends what the connection's tasks queue, pings, and closes the socket when the
/// server shuts down or the client stops answering pings.
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    upgrade: Option<Upgrade>,
    interval: Duration,
    heard: Arc<AtomicU64>,
    started: Instant,
    done: watch::Sender<bool>,
) {
    let stopping = async move {
        match upgrade {
            Some(upgrade) => upgrade.stopping().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopping);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let close = loop {
        tokio::select! {
            message = outbound.recv() => {
                let Some(message) = message else { break None };
                // Built by the server from JSON it wrote: always UTF-8.
                let text = match String::from_utf8(message.text) {
                    Ok(text) => text,
                    Err(_) => continue,
                };
                // A message with more queued behind it is only buffered: the last of a burst
                // flushes them all in one write, not one write (one syscall) each.
                let text = Message::Text(Utf8Bytes::from(text));
                let written = if outbound.is_empty() {
                    sink.send(text).await
                } else {
                    sink.feed(text).await
                };
                if written.is_err() {
                    break None;
                }
                if let Some(pending) = message.pending {
                    pending.count.fetch_sub(1, Ordering::AcqRel);
                    pending.written.notify_one();
                }
            }
            _ = ping.tick() => {
                let silent = millis(started).saturating_sub(heard.load(Ordering::Relaxed));
                if silent > 2 * u64::try_from(interval.as_millis()).unwrap_or(u64::MAX) {
                    tracing::debug!(silent_ms = silent, "websocket peer stopped answering pings");
                    break Some((close_code::POLICY, "keep-alive timed out"));
                }
                if sink.send(Message::Ping(axum::body::Bytes::new())).await.is_err() {
                    break None;
                }
            }
            () = &mut stopping => break Some((close_code::AWAY, "server shutting down")),
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // Bounded: a peer that reads nothing gets no more of the server's time.
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    } else {
        // The peer closed: the reply to its close frame is queued in the socket, and goes out
        // only on a flush. Without it the peer sees the connection drop (1006), not a close.
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    }
    let _ = done.send(true);
}
