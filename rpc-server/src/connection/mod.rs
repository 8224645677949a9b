//! The message connection: one connection carrying JSON-RPC messages both ways, whatever
//! carries them (a WebSocket, or a byte stream framed into messages: a Unix socket, stdio, a
//! pipe; see [`transport`]). Every message is a request or a batch, answered on the connection
//! as it would be over HTTP, and subscriptions push their items as notifications (the format is
//! in [`rpc_core::subscription`]). The endpoint lends the connection what answers its messages
//! ([`answering`]); the server's methods may call the other end back ([`peer`]).
//!
//! One connection is three kinds of task: this reader (the connection's own task), which
//! reads of a message only what the connection acts on itself ([`control`]: a cancellation, an
//! answer to a call back) and hands each message to a call task, lending its calls the
//! connection to push to ([`Pushes`](crate::call::Pushes)); one writer, the only one that
//! touches the transport's sending half, fed by the connection's outbox; and a pump per
//! subscription, pulling its stream. Every buffer is bounded:
//! - calls: at most [`WsLimits::max_calls`] are in flight or have an answer waiting to be
//!   written; past that the reader stops reading, and the transport pushes back on the client;
//! - bytes: at most [`WsLimits::max_queued_bytes`] wait in the outbox before the reader stops
//!   reading and items wait, all under the endpoint's outbound budget
//!   ([`RpcService::max_outbound_bytes`](crate::RpcService::max_outbound_bytes));
//! - subscriptions: at most [`WsLimits::max_subscriptions`] per connection,
//!   [`WsLimits::max_peer_subscriptions`] per peer address, and
//!   [`WsLimits::max_endpoint_subscriptions`] on all the endpoint's connections together;
//! - items: at most [`WsLimits::subscription_buffer`] of a subscription's items wait to be
//!   written; while the buffer is full the subscription's stream is not polled, and when it
//!   stays full for [`WsLimits::slow_reader_grace`] the subscription is dropped with a last
//!   notification saying so ([`ErrorCode::SUBSCRIPTION_DROPPED`]); the connection goes on;
//! - messages: the endpoint's body limit applies to each message;
//! - calls back: at most [`WsLimits::max_peer_calls`] of the server's calls to the peer wait
//!   at once, each for at most [`WsLimits::peer_call_timeout`].
//!
//! [`ErrorCode::SUBSCRIPTION_DROPPED`]: rpc_core::ErrorCode::SUBSCRIPTION_DROPPED

mod answering;
mod control;
mod limits;
mod outbox;
mod peer;
mod subscriptions;
mod transport;
mod writer;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rpc_core::subscription::ItemStream;
use tokio::sync::{Semaphore, watch};

use crate::RequestContext;
use crate::serve::Upgrade;

pub(crate) use answering::{Answerer, Answering, Opened};
pub(crate) use control::Ending;
use control::{Envelope, Running, cancel, request_id};
pub use limits::WsLimits;
use outbox::{Outbox, Pending};
pub(crate) use subscriptions::PeerSubscriptions;
use subscriptions::start;
pub(crate) use transport::{Inbound, MessagesIn, MessagesOut, close_code};
use writer::write;

/// One message's calls, on one connection: what the connection lends them to push with
/// ([`Pushes`](crate::call::Pushes)).
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

/// Serves one message connection until either side closes it.
pub(crate) async fn run(halves: (impl MessagesIn, impl MessagesOut), opened: Opened) {
    use tracing::Instrument as _;
    let span = tracing::debug_span!(
        "connection",
        network.protocol.name = opened.transport.protocol(),
        network.transport = opened.transport.network(),
    );
    serve_connection(halves, opened).instrument(span).await
}

async fn serve_connection(
    (mut incoming, outgoing): (impl MessagesIn, impl MessagesOut),
    opened: Opened,
) {
    let Opened {
        transport,
        answering,
        config,
        parts,
        upgrade,
    } = opened;
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
    let peer_addr = upgrade.as_ref().and_then(|u| u.peer()).or_else(|| {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
    });
    let shared = Arc::new(Socket {
        outbox: outbox.clone(),
        limits,
        max_item_bytes: config.max_response_bytes,
        subscriptions: Mutex::new(HashMap::new()),
        endpoint_subscriptions: config.subscriptions.clone(),
        peer_subscriptions: config.peer_subscriptions.clone(),
        peer: peer_addr.map(|a| a.ip()),
        upgrade: upgrade.clone(),
    });
    // The connection's client, for its calls' methods to call back; lent to each call through
    // the request context.
    let layers = answering.to_peer();
    let peer = Arc::new(peer::ConnectionPeer::new(
        &outbox,
        peer::Route {
            max_calls: limits.max_peer_calls,
            cancellation: config.cancellation,
            timeout: limits.peer_call_timeout,
            layers,
            transport,
            peer_addr,
        },
    ));
    let (closing, mut closed) = watch::channel(false);
    let parts = {
        let mut lent = (*parts).clone();
        let outgoing: Arc<dyn rpc_core::peer::Outgoing> = peer.clone();
        lent.extensions.insert(rpc_core::peer::Peer::new(outgoing));
        lent.extensions.insert(Ending {
            reading: Arc::new(closing),
            outbox: Arc::downgrade(&outbox),
        });
        Arc::new(lent)
    };
    let cancellation = config.cancellation;
    let running = Arc::new(Running::default());
    let reader_sender = outbox.sender();
    let heard = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (writer_done, mut writer_ended) = watch::channel(false);
    let writer = tokio::spawn(write(
        outgoing,
        outbox.clone(),
        upgrade.clone(),
        limits.ping_interval,
        heard.clone(),
        started,
        writer_done,
    ));
    let gauge = metrics::gauge!(
        "rpc.server.connections.open",
        "network.protocol.name" => transport.protocol(),
        "network.transport" => transport.network(),
    );
    gauge.increment(1);
    if transport.protocol() == "websocket" {
        metrics::gauge!("rpc.server.websocket.connections").increment(1);
    }
    tracing::debug!("message connection opened");
    let calls = Arc::new(Semaphore::new(limits.max_calls));
    // The notifications that run in arrival order (`#[rpc(ordered)]`), by every name they
    // answer to; the last one dispatched, while it runs; and the messages read meanwhile.
    let ordered = answering.ordered();
    let mut in_order: Option<tokio::task::JoinHandle<()>> = None;
    let mut stash: std::collections::VecDeque<Inbound> = std::collections::VecDeque::new();
    loop {
        let message = match stash.pop_front() {
            Some(message) => message,
            None => {
                // Nothing more is read while the answers already made wait unread past the
                // socket's cap: the client's own TCP window then holds what it sends.
                tokio::select! {
                    _ = outbox.room(0, None) => {}
                    _ = writer_ended.wait_for(|ended| *ended) => break,
                }
                let message = tokio::select! {
                    message = incoming.next() => message,
                    _ = writer_ended.wait_for(|ended| *ended) => break,
                    // A method ended the connection: as at the end of its input.
                    _ = closed.wait_for(|closed| *closed) => Inbound::End,
                };
                heard.store(millis(started), Ordering::Relaxed);
                if let Some(upgrade) = &upgrade {
                    upgrade.message_done();
                }
                message
            }
        };
        let body = match message {
            Inbound::Message(body) => body,
            Inbound::Heard => continue,
            Inbound::End => break,
            Inbound::Failed(code, reason) => {
                metrics::counter!("rpc.server.websocket.closed", "reason" => reason).increment(1);
                outbox.close_with(code, reason);
                break;
            }
            Inbound::Refused { code, why, fatal } => {
                tracing::debug!(why, fatal, "a message was refused");
                metrics::counter!("rpc.server.messages.refused", "reason" => why).increment(1);
                let mut answer = Vec::with_capacity(128);
                let error = rpc_core::ErrorObject::new(
                    code,
                    if code == rpc_core::ErrorCode::PARSE_ERROR {
                        "Parse error"
                    } else {
                        "Invalid Request"
                    },
                )
                .with_data(why);
                rpc_core::wire::write_error(&mut answer, &error, None);
                outbox.answer(answer, None);
                if fatal {
                    outbox.close_with(close_code::PROTOCOL, why);
                    break;
                }
                continue;
            }
        };
        // An answer to one of the server's own calls to the peer: read even while every call
        // slot is taken (by methods waiting for exactly such answers).
        if peer.route(&body) {
            continue;
        }
        // What the connection itself reads of a message, read once and only when it needs to:
        // whether it cancels a call, the id of a call it may cancel, whether it runs in order.
        let (is_ordered, call_id) = match (cancellation != rpc_core::peer::Cancellation::None
            || !ordered.is_empty())
        .then(|| Envelope::of(&body))
        .flatten()
        {
            Some(envelope) => {
                if cancel(&running, &envelope, cancellation, &outbox) {
                    continue;
                }
                let is_ordered = envelope.id.is_none()
                    && envelope
                        .method
                        .as_deref()
                        .is_some_and(|m| ordered.contains(&m));
                (is_ordered, envelope.id.map(|id| Box::<str>::from(id.get())))
            }
            None => (false, None),
        };
        // An ordered notification still running: this message waits for it, and meanwhile
        // the answers to the server's calls are still read (the notification may be waiting
        // for one), the rest kept in order, at most `max_calls` of them.
        if let Some(mut previous) = in_order.take() {
            let mut reading = true;
            loop {
                if !reading || stash.len() >= limits.max_calls {
                    let _ = previous.await;
                    break;
                }
                tokio::select! {
                    _ = &mut previous => break,
                    _ = closed.wait_for(|closed| *closed), if reading => {
                        reading = false;
                        stash.push_back(Inbound::End);
                    }
                    message = incoming.next() => {
                        heard.store(millis(started), Ordering::Relaxed);
                        if let Some(upgrade) = &upgrade {
                            upgrade.message_done();
                        }
                        match message {
                            Inbound::Message(answer) if peer.route(&answer) => {}
                            other => {
                                reading = !matches!(other, Inbound::End | Inbound::Failed(..));
                                stash.push_back(other);
                            }
                        }
                    }
                }
            }
        }
        let permit = match calls.clone().try_acquire_owned() {
            Ok(permit) => permit,
            // Every slot is taken while methods wait for answers from the peer: waiting for a
            // slot would stop reading, and the answers they wait for may be behind this very
            // message. It is refused instead (a request answered busy), so that a method
            // waiting on the peer while the peer waits on it never deadlocks.
            Err(_) if peer.waiting() => {
                metrics::counter!("rpc.server.messages.refused", "reason" => "busy").increment(1);
                tracing::debug!("every call slot is taken while the peer is awaited; refused");
                if let Some(id) = call_id.or_else(|| request_id(&body)) {
                    let mut answer = Vec::with_capacity(128);
                    let error =
                        rpc_core::ErrorObject::new(rpc_core::ErrorCode::SERVER_BUSY, "Server busy")
                            .with_data("every call slot of the connection is taken");
                    let id = serde_json::value::RawValue::from_string(id.into()).ok();
                    rpc_core::wire::write_error(&mut answer, &error, id.as_deref());
                    outbox.answer(answer, None);
                }
                continue;
            }
            Err(_) => tokio::select! {
                permit = calls.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                _ = writer_ended.wait_for(|ended| *ended) => break,
            },
        };
        let scope = Arc::new(CallScope {
            socket: shared.clone(),
            started: Mutex::new(Vec::new()),
        });
        let (answering, config, parts) = (answering.clone(), config.clone(), parts.clone());
        let sender = outbox.sender();
        let busy = upgrade.as_ref().map(Upgrade::busy);
        // Under a cancellation protocol, a single call can be cancelled by its id.
        let cancellable = call_id
            .filter(|_| cancellation != rpc_core::peer::Cancellation::None)
            .map(|id| {
                let call = running.start(id.clone());
                (id, call, running.clone())
            });
        let this_call = cancellable.as_ref().map(|(_, call, _)| call.clone());
        let task = tokio::spawn(async move {
            let answering = answering.answer(&body, &config, &*scope, (transport, peer_addr));
            let answer = RequestContext::scope_shared(parts, answering).await;
            drop(body);
            // A call cancelled as it ended was answered by the canceller, or is owed none.
            let cancelled = cancellable
                .as_ref()
                .is_some_and(|(id, call, running)| !running.finish(id, call));
            if let Some(text) = answer
                && !cancelled
            {
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
        });
        if let Some(call) = this_call {
            call.set_handle(task.abort_handle());
        }
        if is_ordered {
            in_order = Some(task);
        }
    }
    peer.close();
    // The subscriptions end with the connection; their pumps hold the outbox open.
    let ended: Vec<Live> = shared.subscriptions().drain().map(|(_, l)| l).collect();
    shared.forget(&ended, true);
    let ended = ended.len();
    drop(shared);
    drop(reader_sender);
    // The writer ends once every call task has queued its answer and dropped its sender.
    let _ = writer.await;
    config.outbound.unregister(registered);
    gauge.decrement(1);
    if transport.protocol() == "websocket" {
        metrics::gauge!("rpc.server.websocket.connections").decrement(1);
    }
    tracing::debug!(subscriptions_ended = ended, "message connection closed");
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
