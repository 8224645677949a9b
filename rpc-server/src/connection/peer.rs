//! The connection's client, called back: requests the server's methods send to the peer
//! through a [`Peer`](rpc_core::peer::Peer), their ids, the answers the reader routes back,
//! and the bound on how many may wait at once.
//!
//! The requests go out through the connection's outbox, like answers, and wait for room
//! under its byte cap. Their answers come in among the peer's own requests: the reader tells
//! them apart by shape (an answer has no `method`), and reads on while methods wait for their
//! answers, so a method that awaits the peer while the peer awaits it never deadlocks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use rpc_core::Error;
use rpc_core::peer::{Cancellation, Outgoing, Sending};
use serde_json::value::RawValue;
use tokio::sync::{Semaphore, oneshot};

use super::outbox::Outbox;
use crate::call::Transport;
use crate::middleware::{PeerCall, PeerChain, Wire};

/// One connection's calls to its peer.
pub(super) struct ConnectionPeer {
    outbox: Weak<Outbox>,
    /// Answers awaited, by request id.
    pending: Mutex<HashMap<u64, oneshot::Sender<Vec<u8>>>>,
    next_id: AtomicU64,
    /// Calls to the peer waiting for an answer: at most `WsLimits::max_peer_calls`.
    slots: Semaphore,
    /// Whether a request was ever sent: until then every message read is the peer's own.
    used: AtomicBool,
    closed: AtomicBool,
    cancellation: Cancellation,
    timeout: Duration,
    /// The endpoint's layers that see calls to the peer, when any does.
    layers: Option<Arc<dyn PeerChain>>,
    transport: Transport,
    peer_addr: Option<SocketAddr>,
}

/// Where a connection's calls to its peer go, and through what.
pub(super) struct Route {
    pub(super) max_calls: usize,
    pub(super) cancellation: Cancellation,
    pub(super) timeout: Duration,
    pub(super) layers: Option<Arc<dyn PeerChain>>,
    pub(super) transport: Transport,
    pub(super) peer_addr: Option<SocketAddr>,
}

impl ConnectionPeer {
    pub(super) fn new(outbox: &Arc<Outbox>, route: Route) -> Self {
        ConnectionPeer {
            outbox: Arc::downgrade(outbox),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            slots: Semaphore::new(route.max_calls),
            used: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            cancellation: route.cancellation,
            timeout: route.timeout,
            layers: route.layers,
            transport: route.transport,
            peer_addr: route.peer_addr,
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Vec<u8>>>> {
        // Every operation on the map is one insert or remove: a panic leaves it whole.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When `message` is an answer to one of our requests, hands it to its caller and says so;
    /// anything else is the peer's own message. Costs nothing until a request was sent.
    pub(super) fn route(&self, message: &[u8]) -> bool {
        if !self.used.load(Ordering::Acquire) {
            return false;
        }
        #[derive(serde::Deserialize)]
        struct Shape<'a> {
            #[serde(borrow, default)]
            method: Option<&'a RawValue>,
            #[serde(borrow, default)]
            id: Option<&'a RawValue>,
            // Present even when `null` (a method returning nothing answers `"result":null`).
            #[serde(borrow, default, deserialize_with = "present")]
            result: Option<&'a RawValue>,
            #[serde(borrow, default, deserialize_with = "present")]
            error: Option<&'a RawValue>,
        }
        if message.trim_ascii_start().first() != Some(&b'{') {
            return false;
        }
        let Ok(shape) = serde_json::from_slice::<Shape<'_>>(message) else {
            return false;
        };
        if shape.method.is_some() || (shape.result.is_none() && shape.error.is_none()) {
            return false;
        }
        let waiting = shape
            .id
            .and_then(|id| id.get().parse::<u64>().ok())
            .and_then(|id| self.pending().remove(&id));
        match waiting {
            Some(caller) => {
                let _ = caller.send(message.to_vec());
            }
            None => {
                metrics::counter!("rpc.server.peer.answers.dropped").increment(1);
                tracing::debug!(
                    id = shape.id.map(RawValue::get),
                    "dropping an answer from the peer that no call waits for"
                );
            }
        }
        true
    }

    /// Whether a method is waiting for an answer from the peer.
    pub(super) fn waiting(&self) -> bool {
        self.used.load(Ordering::Acquire) && !self.pending().is_empty()
    }

    /// The connection ended: calls waiting for an answer fail, and no more are sent.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.slots.close();
        self.pending().clear();
    }

    async fn call(&self, message: Vec<u8>, id: Option<u64>) -> Result<Vec<u8>, Error> {
        let gone = || Error::Transport("the connection to the peer has closed".into());
        let started = Instant::now();
        let _slot = self.slots.acquire().await.map_err(|_| gone())?;
        let Some(outbox) = self.outbox.upgrade().filter(|_| self.is_open()) else {
            return Err(gone());
        };
        let answered = id.map(|id| {
            let (answer, answered) = oneshot::channel();
            self.pending().insert(id, answer);
            self.used.store(true, Ordering::Release);
            answered
        });
        let mut waiting = Waiting {
            peer: self,
            id,
            outbox: Arc::downgrade(&outbox),
        };
        let exchange = async {
            outbox.room(message.len(), None).await;
            outbox.answer(message, None);
            drop(outbox);
            match answered {
                Some(answered) => answered.await.map_err(|_| {
                    Error::Transport("the connection to the peer closed before it answered".into())
                }),
                None => Ok(Vec::new()),
            }
        };
        let (result, outcome) = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(answer)) => (Ok(answer), if id.is_some() { "answered" } else { "sent" }),
            Ok(Err(e)) => (Err(e), "lost"),
            Err(_) => (Err(Error::Timeout), "timeout"),
        };
        if result.is_ok() || outcome == "lost" {
            // Answered, or nothing left to cancel.
            waiting.id = None;
        }
        record(outcome, started);
        result
    }
}

impl ConnectionPeer {
    /// Sends `message` through the endpoint's layers that see calls to the peer.
    async fn through(
        &self,
        layers: &Arc<dyn PeerChain>,
        message: Vec<u8>,
        id: Option<u64>,
    ) -> Result<Vec<u8>, Error> {
        use tracing::Instrument as _;
        // The layers see the request while the connection keeps it to send at their end.
        let seen = message.clone();
        let parts = serde_json::from_slice::<Request<'_>>(&seen)
            .map_err(|e| Error::Request(format!("a call to the peer is not a request: {e}")))?;
        let call = PeerCall {
            method: &parts.method,
            params: parts.params,
            id,
            transport: self.transport,
            peer: self.peer_addr,
        };
        let wire = Unsent {
            peer: self,
            message: Mutex::new(Some(message)),
            id,
        };
        layers
            .to_peer(call, &wire)
            .instrument(span(&parts.method, id))
            .await
    }
}

/// A call to the peer that the layers have seen, to be sent once at the end of them.
struct Unsent<'a> {
    peer: &'a ConnectionPeer,
    message: Mutex<Option<Vec<u8>>>,
    id: Option<u64>,
}

impl Wire for Unsent<'_> {
    fn send(&self) -> Sending<'_> {
        let message = self
            .message
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match message {
            Some(message) => Box::pin(self.peer.call(message, self.id)),
            None => Box::pin(std::future::ready(Err(Error::Request(
                "a call to the peer was sent twice".into(),
            )))),
        }
    }
}

/// A request's hold on its answer: dropped before the answer came (the caller gave up, or
/// timed out), it forgets the request and tells the peer as the connection's cancellation
/// protocol says.
struct Waiting<'a> {
    peer: &'a ConnectionPeer,
    id: Option<u64>,
    outbox: Weak<Outbox>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        if self.peer.pending().remove(&id).is_none() {
            return;
        }
        metrics::counter!("rpc.server.peer.calls.cancelled").increment(1);
        if let (Some(notification), Some(outbox)) = (
            self.peer.cancellation.notification(&id.to_string()),
            self.outbox.upgrade(),
        ) && self.peer.is_open()
        {
            outbox.answer(notification, None);
        }
    }
}

impl Outgoing for ConnectionPeer {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn send(&self, message: Vec<u8>, id: Option<u64>) -> Sending<'_> {
        use tracing::Instrument as _;
        match &self.layers {
            None => {
                let method = serde_json::from_slice::<Request<'_>>(&message)
                    .map_or_else(|_| "_OTHER".into(), |r| r.method.into_owned());
                Box::pin(self.call(message, id).instrument(span(&method, id)))
            }
            Some(layers) => Box::pin(self.through(layers, message, id)),
        }
    }

    fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }
}

/// What a request to the peer names, for its span and the layers.
#[derive(serde::Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// The span of a call to the peer.
fn span(method: &str, id: Option<u64>) -> tracing::Span {
    tracing::debug_span!(
        "jsonrpc call",
        otel.name = %method,
        otel.kind = "client",
        rpc.system = "jsonrpc",
        rpc.method = %method,
        rpc.direction = "to_peer",
        rpc.jsonrpc.request_id = id,
    )
}

/// Records a call to the peer, inside its span: `rpc.server.peer.duration` by method (the
/// span's) and outcome.
fn record(outcome: &'static str, started: Instant) {
    let millis = started.elapsed().as_secs_f64() * 1e3;
    metrics::histogram!("rpc.server.peer.duration", "rpc.system" => "jsonrpc", "outcome" => outcome)
        .record(millis);
    tracing::debug!(outcome, duration_ms = millis, "call to the peer ended");
}

/// A member that is there, whatever its value (`null` included).
pub(super) fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue as serde::Deserialize>::deserialize(d).map(Some)
}
