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
mod subscriptions;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket};
use axum::http::request::Parts;
use futures_util::StreamExt as _;
use rpc_core::Service;
use rpc_core::subscription::ItemStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::middleware::Calls;
use crate::serve::Upgrade;
use crate::{Config, RequestContext, dispatch};

pub use limits::WsLimits;
use subscriptions::start;
pub(crate) use subscriptions::{subscribe, unsubscribe};
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
