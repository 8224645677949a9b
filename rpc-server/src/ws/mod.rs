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

mod limits;
mod outbox;
mod subscriptions;
mod writer;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket, close_code};
use axum::http::request::Parts;
use futures_util::StreamExt as _;
use rpc_core::Service;
use rpc_core::subscription::ItemStream;
use tokio::sync::{Semaphore, watch};

use crate::middleware::Calls;
use crate::serve::Upgrade;
use crate::{Config, RequestContext, dispatch};

pub use limits::WsLimits;
use outbox::{Outbox, Pending};
use subscriptions::start;
pub(crate) use subscriptions::{PeerSubscriptions, subscribe, unsubscribe};
use writer::write;

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

/// A live subscription: its pump once it runs, its items waiting, and the connection's busy
/// mark it holds (a socket with a subscription is not idle).
struct Live {
    pump: Option<tokio::task::AbortHandle>,
    pending: Arc<Pending>,
    _busy: Option<Box<dyn Send + Sync>>,
}

/// What the tasks of one connection share.
struct Socket {
    outbox: Arc<Outbox>,
    limits: WsLimits,
    max_item_bytes: usize,
    /// Live subscriptions by id.
    subscriptions: Mutex<HashMap<Arc<str>, Live>>,
    /// The subscriptions of all the endpoint's connections.
    endpoint_subscriptions: Arc<std::sync::atomic::AtomicUsize>,
    /// The subscriptions of each peer address, on all the endpoint's connections.
    peer_subscriptions: Arc<PeerSubscriptions>,
    /// The peer's address, when the server knows it.
    peer: Option<IpAddr>,
    upgrade: Option<Upgrade>,
}

impl Socket {
    fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Live>> {
        // A panic while the map is held leaves it whole: every operation is one insert or
        // remove.
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts `ended` subscriptions out of the endpoint's and the peer's totals and the gauge;
    /// when they were dropped (not ended by their stream), takes their waiting items out of
    /// the outbox at once.
    fn forget(&self, ended: &[Live], dropped: bool) {
        if ended.is_empty() {
            return;
        }
        for live in ended {
            if let Some(pump) = &live.pump {
                pump.abort();
            }
            if dropped {
                self.outbox.forget(&live.pending);
            }
        }
        self.endpoint_subscriptions
            .fetch_sub(ended.len(), Ordering::AcqRel);
        self.peer_subscriptions.release(self.peer, ended.len());
        metrics::gauge!("rpc.server.subscriptions.active").decrement(ended.len() as f64);
    }
}

/// Whether the calls running now came over a WebSocket.
pub(crate) fn in_socket() -> bool {
    CALL.try_with(|_| ()).is_ok()
}

/// The close code and reason for a message the socket could not read.
fn read_error_close(e: &axum::Error) -> (u16, &'static str) {
    use tungstenite::error::Error;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(e) = c.downcast_ref::<Error>() {
            return match e {
                Error::Capacity(_) => (close_code::SIZE, "message too large"),
                Error::Utf8(_) => (close_code::INVALID, "text message is not UTF-8"),
                Error::Protocol(_) => (close_code::PROTOCOL, "protocol error"),
                _ => (close_code::ERROR, "read failed"),
            };
        }
        cause = c.source();
    }
    (close_code::ERROR, "read failed")
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
    if let Some(upgrade) = &upgrade {
        upgrade.upgraded();
    }
    let outbox = Arc::new(Outbox::new(
        limits.max_queued_bytes,
        config.outbound.clone(),
    ));
    let holder: Arc<dyn crate::budget::Holder> = outbox.clone();
    let registered = config.outbound.register(Arc::downgrade(&holder));
    drop(holder);
    let peer = upgrade.as_ref().map(|u| u.peer().ip()).or_else(|| {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let shared = Arc::new(Socket {
        outbox: outbox.clone(),
        limits,
        max_item_bytes: config.max_response_bytes,
        subscriptions: Mutex::new(HashMap::new()),
        endpoint_subscriptions: config.subscriptions.clone(),
        peer_subscriptions: config.peer_subscriptions.clone(),
        peer,
        upgrade: upgrade.clone(),
    });
    let reader_sender = outbox.sender();
    let (sink, mut stream) = socket.split();
    let heard = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (writer_done, mut writer_ended) = watch::channel(false);
    let writer = tokio::spawn(write(
        sink,
        outbox.clone(),
        upgrade.clone(),
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
        // Nothing more is read while the answers already made wait unread past the socket's
        // cap: the client's own TCP window then holds what it sends.
        tokio::select! {
            _ = outbox.room(0, None) => {}
            _ = writer_ended.wait_for(|ended| *ended) => break,
        }
        let message = tokio::select! {
            message = stream.next() => message,
            _ = writer_ended.wait_for(|ended| *ended) => break,
        };
        heard.store(millis(started), Ordering::Relaxed);
        if let Some(upgrade) = &upgrade {
            upgrade.message_done();
        }
        let body = match message {
            Some(Ok(Message::Text(text))) => axum::body::Bytes::from(text),
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(e)) => {
                let (code, reason) = read_error_close(&e);
                tracing::debug!(error = %e, code, "websocket read failed");
                metrics::counter!("rpc.server.websocket.closed", "reason" => reason).increment(1);
                outbox.close_with(code, reason);
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
        let sender = outbox.sender();
        let busy = upgrade.as_ref().map(Upgrade::busy);
        tokio::spawn(CALL.scope(scope.clone(), async move {
            let endpoint = dispatch::Endpoint {
                service: &*service,
                stack: &*stack,
                config: &config,
            };
            let answer =
                RequestContext::scope_shared(parts, dispatch::handle(endpoint, &body)).await;
            drop(body);
            if let Some(text) = answer {
                sender.answer(text, Some(permit));
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
            drop(busy);
            drop(sender);
        }));
    }
    // The subscriptions end with the connection; their pumps hold the outbox open.
    let ended: Vec<Live> = shared.subscriptions().drain().map(|(_, l)| l).collect();
    shared.forget(&ended, true);
    let ended = ended.len();
    drop(shared);
    drop(reader_sender);
    // The writer ends once every call task has queued its answer and dropped its sender.
    let _ = writer.await;
    config.outbound.unregister(registered);
    metrics::gauge!("rpc.server.websocket.connections").decrement(1);
    tracing::debug!(subscriptions_ended = ended, "websocket closed");
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
