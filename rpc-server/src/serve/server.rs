//! What every connection of a server shares: the map of open connections and each peer's
//! share of them, the budgets of bytes being received and not yet sent, and the eviction of
//! idle connections.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::time::Sleep;

use super::Limits;

/// What every connection shares.
pub(super) struct Server {
    pub(super) http: hyper::server::conn::http1::Builder,
    pub(super) mode: super::Mode,
    pub(super) limits: Limits,
    pub(super) conns: Mutex<Conns>,
    pub(super) next_id: AtomicU64,
    /// The most connections one peer address may hold.
    pub(super) per_peer: usize,
    /// Bytes of request bodies and of unfinished WebSocket messages being received, all
    /// connections together.
    pub(super) receiving: AtomicU64,
    pub(super) max_receiving: u64,
    /// Bytes of large answers made and not wholly written to their socket yet, all
    /// connections together: each stays in memory until its last byte is written.
    pub(super) unsent: AtomicU64,
    pub(super) max_unsent: u64,
    pub(super) epoch: Instant,
    /// Set when a graceful shutdown starts: answers carry `Connection: close`.
    pub(super) draining: AtomicBool,
    pub(super) idle_grace: Duration,
}

/// The open connections, and how many each peer address holds.
#[derive(Default)]
pub(super) struct Conns {
    pub(super) by_id: HashMap<u64, Arc<Conn>>,
    pub(super) per_peer: HashMap<IpAddr, usize>,
}

/// Why the server closed a connection; a WebSocket says it in its close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Closed {
    /// Idle when the server needed its slot for a new client.
    Evicted = 1,
    /// Its reader stalled while the server held too many unsent bytes.
    Unsent = 2,
    /// It held the most of the bytes being received when they went past their budget.
    Receiving = 3,
}

impl Closed {
    fn from_u8(n: u8) -> Option<Self> {
        match n {
            1 => Some(Closed::Evicted),
            2 => Some(Closed::Unsent),
            3 => Some(Closed::Receiving),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Closed::Evicted => "evicted",
            Closed::Unsent => "unsent_bytes",
            Closed::Receiving => "receiving_bytes",
        }
    }
}

/// A new connection becomes evictable as idle once it has had a request, or this long after
/// it was accepted: the last free slot is not taken back before its client sent a head.
const FRESH_GRACE_MS: u64 = 1000;

/// One open connection, as the eviction of idle connections sees it.
pub(super) struct Conn {
    /// The peer's address; `None` over a Unix socket.
    pub(super) peer: Option<SocketAddr>,
    /// Milliseconds from the server's start to the connection's accept.
    pub(super) accepted_at: u64,
    /// Whether it has had a request.
    pub(super) served: AtomicBool,
    /// Requests started, to tell the socket that a new head begins after the last one.
    pub(super) requests: AtomicU64,
    /// Set once the connection is upgraded (to a WebSocket): its reads are messages' bytes.
    pub(super) upgraded: AtomicBool,
    /// Why the server closed it ([`Closed`] as a number), 0 while it did not.
    pub(super) close_reason: AtomicU8,
    /// This connection's share of [`Server::receiving`]: a body being read, or the bytes of
    /// an upgraded connection's message not finished yet.
    pub(super) receiving: AtomicU64,
    /// Milliseconds from the server's start to the first byte of what is being received; 0
    /// while nothing is.
    pub(super) receiving_since: AtomicU64,
    /// Requests whose answer is being made.
    pub(super) in_flight: AtomicUsize,
    /// Milliseconds from the server's start to the connection's last request's end.
    pub(super) idle_since: AtomicU64,
    pub(super) evicted: AtomicBool,
    /// Notified (every waiter) when the server closes the connection.
    pub(super) close: Notify,
    /// This connection's share of [`Server::unsent`].
    pub(super) unsent: AtomicU64,
    /// Milliseconds from the server's start to the moment its socket stopped taking bytes;
    /// 0 while it takes them.
    pub(super) stalled_since: AtomicU64,
    /// Notified when a request starts or ends, for a shutdown waiting for the connection to
    /// go idle.
    pub(super) activity: Notify,
}

impl Server {
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a connection just accepted from `peer`, unless that peer holds its share of
    /// the connections already and none of them is idle (then `None`: the caller drops it).
    /// A connection taken from the listen queue during a shutdown is always admitted: the queue
    /// bounds them, and its client may have sent a call already.
    /// Peers without an address (a Unix socket's, whose file mode says who may connect) have
    /// no share of their own.
    pub(super) fn admit(
        &self,
        peer: Option<SocketAddr>,
        draining: bool,
    ) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.lock();
        if let Some(peer) = peer {
            let held = conns.per_peer.get(&peer.ip()).copied().unwrap_or(0);
            if !draining && held >= self.per_peer && !self.evict_idlest(&conns, Some(peer.ip())) {
                drop(conns);
                metrics::counter!("rpc.server.connections.refused", "reason" => "per_peer")
                    .increment(1);
                tracing::debug!(peer = %peer, held, "a connection is refused: its peer holds its share");
                return None;
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        let conn = Arc::new(Conn {
            peer,
            accepted_at: now,
            served: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            upgraded: AtomicBool::new(false),
            close_reason: AtomicU8::new(0),
            receiving: AtomicU64::new(0),
            receiving_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            evicted: AtomicBool::new(false),
            close: Notify::new(),
            unsent: AtomicU64::new(0),
            stalled_since: AtomicU64::new(0),
            activity: Notify::new(),
        });
        conns.by_id.insert(id, conn.clone());
        if let Some(peer) = peer {
            *conns.per_peer.entry(peer.ip()).or_default() += 1;
        }
        Some((id, conn))
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Conns> {
        // A panic while the map is locked leaves it whole: insert and remove only.
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `bytes` of a new answer on `conn`.
    pub(super) fn add_unsent(&self, conn: &Conn, bytes: u64) {
        conn.unsent.fetch_add(bytes, Ordering::Relaxed);
        self.unsent.fetch_add(bytes, Ordering::Relaxed);
        self.shed_unsent();
    }

    /// When the server holds too many unsent bytes, closes the connections stalled longest
    /// until it does not. Run when an answer is made and when a reader stalls.
    pub(super) fn shed_unsent(&self) {
        let total = self.unsent.load(Ordering::Relaxed);
        if total <= self.max_unsent {
            return;
        }
        let conns = self.lock();
        let mut stalled: Vec<&Arc<Conn>> = conns
            .by_id
            .values()
            .filter(|c| c.stalled_since.load(Ordering::Relaxed) != 0)
            .filter(|c| c.unsent.load(Ordering::Relaxed) > 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .collect();
        stalled.sort_by_key(|c| c.stalled_since.load(Ordering::Relaxed));
        let mut over = total - self.max_unsent;
        for conn in stalled {
            over = over.saturating_sub(conn.unsent.load(Ordering::Relaxed));
            conn.close(Closed::Unsent);
            tracing::debug!("a connection whose reader stalled is closed: too many unsent bytes");
            if over == 0 {
                break;
            }
        }
    }

    /// Counts `bytes` more being received on `conn`; past the budget, closes the connection
    /// receiving the most (which may be this one).
    pub(super) fn add_receiving(&self, conn: &Conn, bytes: u64) {
        if conn.receiving.fetch_add(bytes, Ordering::Relaxed) == 0 {
            conn.receiving_since
                .store(self.now().max(1), Ordering::Relaxed);
        }
        let total = self.receiving.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total <= self.max_receiving {
            return;
        }
        let conns = self.lock();
        // Connections closed already free theirs as their tasks end: only what is left over
        // after them calls for another.
        let closing: u64 = conns
            .by_id
            .values()
            .filter(|c| c.evicted.load(Ordering::Relaxed))
            .map(|c| c.receiving.load(Ordering::Relaxed))
            .sum();
        if total.saturating_sub(closing) <= self.max_receiving {
            return;
        }
        let costliest = conns
            .by_id
            .values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .max_by_key(|c| c.receiving.load(Ordering::Relaxed));
        if let Some(costliest) = costliest.filter(|c| c.receiving.load(Ordering::Relaxed) > 0) {
            tracing::debug!(
                peer = ?costliest.peer,
                bytes = costliest.receiving.load(Ordering::Relaxed),
                "the connection receiving the most is closed: too many bytes being received"
            );
            costliest.close(Closed::Receiving);
        }
    }

    /// Takes what `conn` was receiving off the total: its message is whole, or gone.
    pub(super) fn done_receiving(&self, conn: &Conn) {
        let bytes = conn.receiving.swap(0, Ordering::Relaxed);
        conn.receiving_since.store(0, Ordering::Relaxed);
        self.receiving.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Closes the connection idle longest, if any is idle.
    pub(super) fn evict_idle(&self) -> bool {
        let conns = self.lock();
        self.evict_idlest(&conns, None)
    }

    /// Closes the connection idle longest (of `peer` only, when given), if any is idle: no
    /// request running, no WebSocket call or subscription, and (for another peer's) past its
    /// first request or [`FRESH_GRACE_MS`]: a peer over its share gives up its own newest
    /// connection before a client waiting for its first answer loses its slot.
    fn evict_idlest(&self, conns: &Conns, peer: Option<IpAddr>) -> bool {
        let now = self.now();
        let idlest = conns
            .by_id
            .values()
            .filter(|c| peer.is_none_or(|p| c.peer.map(|a| a.ip()) == Some(p)))
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .filter(|c| !c.evicted.load(Ordering::Relaxed))
            .filter(|c| {
                peer.is_some()
                    || c.served.load(Ordering::Relaxed)
                    || now.saturating_sub(c.accepted_at) >= FRESH_GRACE_MS
            })
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        match idlest {
            Some(conn) => {
                conn.close(Closed::Evicted);
                true
            }
            None => false,
        }
    }
}

impl Conn {
    /// Closes the connection (once) for `reason`.
    pub(super) fn close(&self, reason: Closed) {
        if self.evicted.swap(true, Ordering::AcqRel) {
            return;
        }
        self.close_reason.store(reason as u8, Ordering::Release);
        metrics::counter!("rpc.server.connections.closed", "reason" => reason.label()).increment(1);
        self.close.notify_waiters();
    }

    /// Why the server closed it (evicted, when it has not).
    pub(super) fn reason(&self) -> Closed {
        Closed::from_u8(self.close_reason.load(Ordering::Acquire)).unwrap_or(Closed::Evicted)
    }

    /// Resolves once the server closes the connection.
    pub(super) async fn closed(&self) {
        loop {
            let notified = self.close.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if self.evicted.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// A connection's entry in the server's map, for as long as the connection lives.
pub(super) struct Registered {
    pub(super) server: Arc<Server>,
    pub(super) id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut conns = self.server.lock();
        if let Some(conn) = conns.by_id.remove(&self.id) {
            self.server.done_receiving(&conn);
            if let Some(ip) = conn.peer.map(|a| a.ip())
                && let Some(held) = conns.per_peer.get_mut(&ip)
            {
                *held -= 1;
                if *held == 0 {
                    conns.per_peer.remove(&ip);
                }
            }
        }
    }
}

/// Whether `timer` (set to `after` on first use) has run out.
pub(super) fn expired(
    timer: &mut Option<Pin<Box<Sleep>>>,
    after: Duration,
    cx: &mut Context<'_>,
) -> bool {
    timer
        .get_or_insert_with(|| Box::pin(tokio::time::sleep(after)))
        .as_mut()
        .poll(cx)
        .is_ready()
}
