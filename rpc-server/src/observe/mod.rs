//! Every call traced and measured, with OpenTelemetry's names for RPC and JSON-RPC.
//!
//! **Tracing:** a span per call, `jsonrpc call` at DEBUG, with `otel.name` (the method),
//! `otel.kind = "server"`, `rpc.system = "jsonrpc"`, `rpc.method`, `rpc.jsonrpc.version`,
//! `rpc.jsonrpc.request_id`, `network.protocol.name` (`http`, `websocket` or `stream`),
//! `network.transport` (`tcp`, `unix` or `pipe`) and, on failure, `rpc.jsonrpc.error_code`,
//! `rpc.jsonrpc.error_message` and `otel.status_code = "ERROR"`. When the call ends, one event:
//! DEBUG for a result; WARN for a caller's mistake (`-32700`, `-32600`, `-32601`, `-32602`), a
//! call refused by a limit, or the method's own error; ERROR for the server's failures
//! (`-32603`, a timeout, an answer too large).
//!
//! With the `opentelemetry` feature, a call whose request carries a W3C `traceparent` header
//! joins the caller's trace: its span's parent is the caller's span (through
//! tracing-opentelemetry's layer, which the application installs).
//!
//! **Metrics**, through the `metrics` facade (install any recorder, such as
//! `metrics-exporter-prometheus`; without one they cost an atomic load):
//! - `rpc.server.calls`: counter of every call, labelled `rpc.system`, `rpc.method`,
//!   `network.protocol.name`, `network.transport` and, on failure, `rpc.jsonrpc.error_code`:
//!   the calls by method, transport and outcome, exact.
//! - `rpc.server.duration`: histogram, in milliseconds, of each method's time in each request,
//!   with the same labels: for a single call, the call's time; for a batch, one sample per
//!   method that answered with a result, the sum of those calls' times (a batch's calls are
//!   answered together, so that sum is what the method cost the request). A failed call is
//!   always a sample of its own, labelled with its error code. The histogram's sum is so the
//!   exact time spent in each method, and divided by `rpc.server.calls` the mean per call.
//! - `rpc.server.active_calls`: gauge of calls in flight, by `rpc.method` and transport.
//! - `rpc.server.requests_per_rpc`: histogram of the calls in each batch.
//!
//! `rpc.method` is the method's declared name, or `_OTHER` for a name the endpoint does not
//! have: request data never makes a new label value.
//!
//! Each method's handles are registered with the recorder on its first call and kept by the
//! endpoint, so a call costs no registry lookup: install the recorder before serving. A batch
//! resolves them once per method ([`BatchHandles`]) and records once per method: its gauge moves
//! by the method's calls when the batch starts and back when its answer is done (its calls are
//! in flight until then), and when the batch is answered its counter and histogram take the
//! calls that answered with a result at once. A recorder's histogram keeps every sample until
//! it is read (Prometheus's exporter stores each with a clock read, in a lock-free list of
//! blocks): one sample per call would make a batch's cost grow with that store, one per method
//! does not. Each call reads the clock once ([`BatchClock`]). On the success path nothing is
//! formatted or allocated per call, and the span is only entered when enabled.

use std::sync::atomic::{AtomicU64, Ordering};
// The calls' clock: quanta reads the TSC, a fraction of the cost of `std::time::Instant::now`
// (a vDSO `clock_gettime`), which a batch's calls each pay once.
use quanta::Instant;

use rpc_core::{ErrorCode, ErrorObject};

use crate::call::{Call, Outcome};

mod handles;

pub(crate) use handles::{BatchHandles, BatchMethod, Handles, Metrics};

/// The `rpc.method` of a name the endpoint does not have.
pub(crate) const OTHER: &str = "_OTHER";

/// Who a failure is on, which picks its level.
enum Fault {
    Caller,
    Server,
}

fn fault(code: i64) -> Fault {
    match code {
        ErrorCode::INTERNAL_ERROR | ErrorCode::TIMEOUT | ErrorCode::RESPONSE_TOO_LARGE => {
            Fault::Server
        }
        _ => Fault::Caller,
    }
}

/// Calibrates the calls' clock, once per process (a few milliseconds at most, against the
/// system's clock), so that an endpoint's first call does not wait for it.
pub(crate) fn calibrate_clock() {
    let _ = Instant::now();
}

/// Whether a call runs alone, moving its method's active-calls gauge and recording its
/// outcome itself, or in a batch, which moved the gauge for it, takes its time if it answers
/// with a result ([`BatchHandles`]) and lends it the batch's clock.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    Alone,
    Batch(&'a BatchClock, &'a BatchMethod),
}

/// A batch's clock: most of a batch's calls finish on their first poll, one right after the
/// other, so the end of one is the start of the next, and a call reads the clock once (at its
/// end) instead of twice. A call started while no call just ended (the first one, or the one
/// after a call left pending) reads it at its start as well.
pub(crate) struct BatchClock {
    base: Instant,
    /// When the call last ended, in nanoseconds after `base` plus one; 0 when no call has just
    /// ended (taken by the call that started after it).
    last_end: AtomicU64,
}

impl BatchClock {
    pub(crate) fn new() -> Self {
        BatchClock {
            base: Instant::now(),
            last_end: AtomicU64::new(0),
        }
    }

    /// When a call starting now started.
    fn start(&self) -> Instant {
        // A load and a store, not a swap: a batch's calls are polled one at a time on its task,
        // and a locked exchange per call cost more than the clock read it saves.
        match self.last_end.load(Ordering::Relaxed) {
            0 => Instant::now(),
            nanos => {
                self.last_end.store(0, Ordering::Relaxed);
                self.base + std::time::Duration::from_nanos(nanos - 1)
            }
        }
    }

    /// A call ended `at`: the next call to start starts then.
    fn end(&self, at: Instant) {
        let nanos = u64::try_from(at.duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1);
        self.last_end.store(nanos + 1, Ordering::Relaxed);
    }
}

/// A call being observed: its span and when it started. Made by [`Observed::start`] before
/// the call runs, entered around each poll of the call's way to its method
/// ([`Observed::enter`]), and given the outcome by [`Observed::end`]. Not generic: the span, the
/// clock and the records are compiled once, here, not once per service in each crate that
/// serves one.
pub(crate) struct Observed<'a> {
    span: tracing::Span,
    enabled: bool,
    started: Instant,
    batch: Option<(&'a BatchClock, &'a BatchMethod)>,
}

impl<'a> Observed<'a> {
    /// The call's span (entered only when enabled), its gauge moved when alone, its clock read;
    /// `handles` are `call`'s method's.
    pub(crate) fn start(call: Call<'_>, handles: &Handles, scope: Scope<'a>) -> Self {
        let method = call.known_method().unwrap_or(OTHER);
        let span = tracing::debug_span!(
            "jsonrpc call",
            otel.name = method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "jsonrpc",
            rpc.method = method,
            rpc.jsonrpc.version = "2.0",
            rpc.jsonrpc.request_id = tracing::field::Empty,
            rpc.jsonrpc.error_code = tracing::field::Empty,
            rpc.jsonrpc.error_message = tracing::field::Empty,
            network.protocol.name = call.transport().protocol(),
            network.transport = call.transport().network(),
        );
        let enabled = !span.is_disabled();
        if enabled && let Some(id) = call.id() {
            span.record("rpc.jsonrpc.request_id", id.get());
        }
        #[cfg(feature = "opentelemetry")]
        if enabled {
            crate::trace_context::join_caller(&span);
        }
        let batch = match scope {
            Scope::Alone => {
                handles.active.increment(1.0);
                None
            }
            Scope::Batch(clock, method) => Some((clock, method)),
        };
        let started = batch.map_or_else(Instant::now, |(clock, _)| clock.start());
        Observed {
            span,
            enabled,
            started,
            batch,
        }
    }

    /// The span entered, when it is enabled, as `Instrument` would on each poll.
    pub(crate) fn enter(&self) -> Option<tracing::span::Entered<'_>> {
        self.enabled.then(|| self.span.enter())
    }

    /// The call ended with `outcome`: its time and outcome recorded, its event written.
    pub(crate) fn end(self, call: Call<'_>, handles: &Handles, outcome: &Result<Outcome, ()>) {
        let Observed {
            span,
            started,
            batch,
            ..
        } = self;
        let ended = Instant::now();
        let took = ended.duration_since(started);
        let millis = took.as_secs_f64() * 1e3;
        match batch {
            None => handles.active.decrement(1.0),
            Some((clock, _)) => clock.end(ended),
        }
        let code = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.code),
            Err(()) => Some(ErrorCode::INTERNAL_ERROR),
        };
        let Some(code) = code else {
            match batch {
                None => {
                    handles.answered.record(millis);
                    handles.calls.increment(1);
                }
                Some((_, method)) => {
                    method.answered(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                }
            }
            tracing::debug!(parent: &span, duration_ms = millis, "call answered");
            return;
        };
        let method = call.known_method().unwrap_or(OTHER);
        let labels = [
            metrics::Label::new("rpc.system", "jsonrpc"),
            metrics::Label::new("rpc.method", method),
            metrics::Label::new("network.protocol.name", call.transport().protocol()),
            metrics::Label::new("network.transport", call.transport().network()),
            metrics::Label::new("rpc.jsonrpc.error_code", code.to_string()),
        ];
        metrics::histogram!("rpc.server.duration", labels.iter()).record(millis);
        metrics::counter!("rpc.server.calls", labels.iter()).increment(1);
        let message = match outcome {
            Ok(Err(e)) => e.message.as_ref(),
            _ => "Internal error",
        };
        span.record("otel.status_code", "ERROR");
        span.record("rpc.jsonrpc.error_code", code);
        span.record("rpc.jsonrpc.error_message", message);
        match fault(code) {
            Fault::Server => {
                tracing::error!(parent: &span, duration_ms = millis, code, message, "call failed")
            }
            Fault::Caller if loud() => {
                tracing::warn!(parent: &span, duration_ms = millis, code, message, "call refused or failed")
            }
            Fault::Caller => {
                tracing::debug!(parent: &span, duration_ms = millis, code, message, "call refused or failed")
            }
        }
    }
}

/// A request refused before any call ran: unparseable, invalid, or a batch over the limit.
pub(crate) fn refused(e: &ErrorObject) {
    let labels = [
        metrics::Label::new("rpc.system", "jsonrpc"),
        metrics::Label::new("rpc.method", OTHER),
        metrics::Label::new("rpc.jsonrpc.error_code", e.code.to_string()),
    ];
    metrics::histogram!("rpc.server.duration", labels.iter()).record(0.0);
    metrics::counter!("rpc.server.calls", labels.iter()).increment(1);
    if loud() {
        tracing::warn!(code = e.code, message = %e.message, "request refused");
    } else {
        tracing::debug!(code = e.code, message = %e.message, "request refused");
    }
}

/// The most WARN lines a second that callers' mistakes may write; past them the same lines go
/// to DEBUG (and `rpc.server.log.quieted` counts them), so that a batch of a thousand unknown
/// methods, or a flood of them, cannot flood the log.
const CALLER_WARNINGS_PER_SECOND: u32 = 20;

/// Whether a caller's mistake may be logged at WARN now.
pub(crate) fn loud() -> bool {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    static SECOND: AtomicU64 = AtomicU64::new(0);
    static COUNT: AtomicU32 = AtomicU32::new(0);
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let now = EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs();
    if SECOND.swap(now, Ordering::Relaxed) != now {
        COUNT.store(0, Ordering::Relaxed);
    }
    if COUNT.fetch_add(1, Ordering::Relaxed) < CALLER_WARNINGS_PER_SECOND {
        return true;
    }
    metrics::counter!("rpc.server.log.quieted").increment(1);
    false
}

/// A batch of `len` calls arrived.
pub(crate) fn batch(len: usize) {
    metrics::histogram!("rpc.server.requests_per_rpc", "rpc.system" => "jsonrpc")
        .record(len as f64);
}
