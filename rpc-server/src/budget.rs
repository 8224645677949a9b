//! The endpoint's outbound budget: every byte of an answer or a subscription item made for a
//! peer and not yet handed to its socket, HTTP and WebSocket alike.
//!
//! Work already accepted always gets its answer queued ([`Budget::hold`]); past the budget,
//! new calls are refused with the retryable `-32005` ([`Budget::over`], checked as each call
//! is admitted), subscription items wait for room (and a subscriber that leaves them waiting
//! past its grace loses the subscription), and the WebSocket holding the most unread bytes is
//! closed ([`Budget::shed`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// Something holding queued bytes that the budget can close: a WebSocket's outbox.
pub(crate) trait Holder: Send + Sync {
    /// The bytes it holds now.
    fn held(&self) -> usize;
    /// Drops what it holds and closes its connection.
    fn shed(&self);
}

/// The endpoint's outbound bytes, and the sockets that hold them.
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
    holders: Mutex<Vec<(u64, Weak<dyn Holder>)>>,
    next: AtomicU64,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
            holders: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }

    /// The bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether the budget is spent: new calls are refused.
    pub(crate) fn over(&self) -> bool {
        self.used() >= self.max
    }

    /// Whether `bytes` more fit.
    pub(crate) fn fits(&self, bytes: usize) -> bool {
        self.used().saturating_add(bytes) <= self.max
    }

    /// Counts `bytes` until the returned guard drops, past the budget if need be (accepted
    /// work is never lost); past it, the costliest holder is shed.
    pub(crate) fn hold(self: &Arc<Self>, bytes: usize) -> Held {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.max {
            self.shed();
        }
        Held {
            budget: self.clone(),
            bytes,
        }
    }

    /// Registers a holder the budget may shed; the returned key unregisters it.
    pub(crate) fn register(&self, holder: Weak<dyn Holder>) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().push((key, holder));
        key
    }

    pub(crate) fn unregister(&self, key: u64) {
        self.lock().retain(|(k, _)| *k != key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Weak<dyn Holder>)>> {
        // Pushes and removals only: a panic leaves the list whole.
        self.holders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the holder of the most bytes, if it holds any.
    fn shed(&self) {
        let costliest = self
            .lock()
            .iter()
            .filter_map(|(_, h)| h.upgrade())
            .max_by_key(|h| h.held());
        if let Some(holder) = costliest.filter(|h| h.held() > 0) {
            tracing::warn!(
                bytes = holder.held(),
                budget = self.max,
                "the endpoint's outbound budget is spent; the socket holding the most unread bytes is closed"
            );
            metrics::counter!("rpc.server.outbound.shed").increment(1);
            holder.shed();
        }
    }
}

/// Bytes counted against a [`Budget`] until dropped.
pub(crate) struct Held {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// An HTTP answer's bytes, counted against the budget until the HTTP server drops them.
pub(crate) struct HeldBytes {
    pub(crate) bytes: Vec<u8>,
    pub(crate) _held: Held,
}

impl AsRef<[u8]> for HeldBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}
