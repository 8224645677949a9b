//! Each method's metric handles, resolved once per endpoint, and once per batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::by_address::{ByAddress, address};
use crate::call::Transport;

/// One method's metric handles.
pub(crate) struct Handles {
    pub(super) active: metrics::Gauge,
    /// `rpc.server.duration` and `rpc.server.calls` of the calls answered with a result.
    pub(super) answered: metrics::Histogram,
    pub(super) calls: metrics::Counter,
}

/// An endpoint's metric handles by method and transport, keyed by the addresses of the
/// method's `&'static str` name and the transport's: the names come from the service and the
/// transports from the framework, so the map is as large as the API times a handful at most.
#[derive(Default)]
pub(crate) struct Metrics {
    by_method: ByAddress<HandlesKey, Handles>,
}

/// The addresses of a method's name, a transport's protocol and its network.
type HandlesKey = (usize, usize, usize);

impl Metrics {
    /// `method`'s handles over `transport` (`method` being [`OTHER`] for an unknown name).
    pub(crate) fn handles(&self, method: &'static str, transport: Transport) -> Arc<Handles> {
        let (protocol, network) = (transport.protocol(), transport.network());
        let key = (address(method), address(protocol), address(network));
        self.by_method.get_or_make(key, || Handles {
            active: metrics::gauge!(
                "rpc.server.active_calls",
                "rpc.system" => "jsonrpc",
                "rpc.method" => method,
                "network.protocol.name" => protocol,
                "network.transport" => network,
            ),
            answered: metrics::histogram!(
                "rpc.server.duration",
                "rpc.system" => "jsonrpc",
                "rpc.method" => method,
                "network.protocol.name" => protocol,
                "network.transport" => network,
            ),
            calls: metrics::counter!(
                "rpc.server.calls",
                "rpc.system" => "jsonrpc",
                "rpc.method" => method,
                "network.protocol.name" => protocol,
                "network.transport" => network,
            ),
        })
    }
}

/// The handles of a batch's methods, each resolved once, and the batch's calls of each method:
/// counted in its active-calls gauge from [`BatchHandles::start`] until this is dropped, and
/// those answered with a result recorded then, at once.
pub(crate) struct BatchHandles {
    /// A batch names a handful of methods at most.
    by_method: Vec<BatchMethod>,
    started: bool,
}

/// One method's calls in a batch.
pub(crate) struct BatchMethod {
    /// The address of the method's name.
    key: usize,
    handles: Arc<Handles>,
    calls: u32,
    /// The calls answered with a result so far, and their time in nanoseconds. Atomics for
    /// `Sync` only: a batch's calls are polled one at a time on its task, so a load and a
    /// store (no locked operation) add to them.
    answered: AtomicU32,
    nanos: AtomicU64,
}

impl BatchMethod {
    pub(crate) fn handles(&self) -> &Handles {
        &self.handles
    }

    /// One more call answered with a result, which took `nanos`.
    pub(super) fn answered(&self, nanos: u64) {
        self.answered
            .store(self.answered.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        self.nanos.store(
            self.nanos.load(Ordering::Relaxed).saturating_add(nanos),
            Ordering::Relaxed,
        );
    }
}

impl BatchHandles {
    pub(crate) fn new() -> Self {
        BatchHandles {
            by_method: Vec::new(),
            started: false,
        }
    }

    /// Counts a call of `method` (its `rpc.method`), resolving its handles on its first call.
    pub(crate) fn count(&mut self, metrics: &Metrics, method: &'static str, transport: Transport) {
        let key = address(method);
        match self.by_method.iter_mut().find(|m| m.key == key) {
            Some(m) => m.calls += 1,
            None => self.by_method.push(BatchMethod {
                key,
                handles: metrics.handles(method, transport),
                calls: 1,
                answered: AtomicU32::new(0),
                nanos: AtomicU64::new(0),
            }),
        }
    }

    /// The batch's calls are in flight: each method's gauge moves once, by its calls.
    pub(crate) fn start(&mut self) {
        for m in &self.by_method {
            m.handles.active.increment(f64::from(m.calls));
        }
        self.started = true;
    }

    /// The calls of `method`, which [`count`](Self::count) saw.
    pub(crate) fn get(&self, method: &'static str) -> Option<&BatchMethod> {
        let key = address(method);
        self.by_method.iter().find(|m| m.key == key)
    }
}

impl Drop for BatchHandles {
    fn drop(&mut self) {
        for m in &self.by_method {
            if self.started {
                m.handles.active.decrement(f64::from(m.calls));
            }
            let answered = m.answered.load(Ordering::Relaxed);
            if answered > 0 {
                m.handles.calls.increment(u64::from(answered));
                m.handles
                    .answered
                    .record(m.nanos.load(Ordering::Relaxed) as f64 / 1e6);
            }
        }
    }
}
