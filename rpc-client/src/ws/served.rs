//! What a client serves its server over a message connection: the requests and notifications
//! the server sends (a callback, a question to the editor) run on the implementation given to
//! [`ClientBuilder::serve`](crate::ClientBuilder::serve), each in a task of its own so that the
//! reader goes on routing answers while it runs (a server method waiting on the client while
//! the client waits on it never deadlocks), at most `max_served_calls` at once (past it a
//! request is answered `-32005`), each cancellable by the server under the connection's
//! [`Cancellation`](rpc_core::peer::Cancellation).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rpc_core::wire::{self, Body};
use rpc_core::{ErrorCode, ErrorObject, Service};
use serde_json::value::RawValue;

/// The answer a served message owes (none for notifications).
type Answering = Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>>;

/// A service as a served client holds it, whatever its type.
trait Serves: Send + Sync + 'static {
    fn known(&self, method: &str) -> Option<&'static str>;
    fn is_ordered(&self, method: &str) -> bool;
    fn answer(self: Arc<Self>, message: Bytes) -> Answering;
}

impl<S: Service> Serves for S {
    fn known(&self, method: &str) -> Option<&'static str> {
        Service::known(self, method)
    }

    fn is_ordered(&self, method: &str) -> bool {
        self.services()
            .iter()
            .any(|s| s.method(method).is_some_and(|m| m.ordered))
    }

    fn answer(self: Arc<Self>, message: Bytes) -> Answering {
        Box::pin(async move { answer(&*self, &message).await })
    }
}

/// An implementation a client serves, with its bounds.
#[derive(Clone)]
pub(crate) struct Served {
    service: Arc<dyn Serves>,
    /// Calls running at once: past it a request is answered busy, a notification dropped.
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl Served {
    pub(crate) fn new<S: Service>(service: S, max_calls: usize) -> Self {
        Served {
            service: Arc::new(service),
            slots: Arc::new(tokio::sync::Semaphore::new(max_calls.max(1))),
        }
    }

    /// The declared name of `method`, when the implementation has it.
    pub(crate) fn known(&self, method: &str) -> Option<&'static str> {
        self.service.known(method)
    }

    /// Whether `method` is one of the implementation's `#[rpc(ordered)]` notifications.
    pub(crate) fn is_ordered(&self, method: &str) -> bool {
        self.service.is_ordered(method)
    }

    /// Runs one message (a request, a notification, or a batch of them) and returns what it
    /// owes the server.
    pub(crate) fn answer(&self, message: Bytes) -> Answering {
        self.service.clone().answer(message)
    }
}

/// The answer to `message`, run on `service`.
async fn answer<S: Service>(service: &S, message: &[u8]) -> Option<Vec<u8>> {
    match wire::parse_body(message) {
        Ok(Body::Single(entry)) => one(service, entry).await,
        Ok(Body::Batch(entries)) => {
            let mut out = Vec::with_capacity(64 * entries.len());
            for entry in entries {
                if let Some(answer) = one(service, entry).await {
                    out.push(if out.is_empty() { b'[' } else { b',' });
                    out.extend_from_slice(&answer);
                }
            }
            (!out.is_empty()).then(|| {
                out.push(b']');
                out
            })
        }
        Err(error) => {
            let mut out = Vec::with_capacity(96);
            wire::write_error(&mut out, &error, None);
            Some(out)
        }
    }
}

/// The answer to one request (`None` for a notification), a panic in the method answered as
/// an internal error.
async fn one<S: Service>(service: &S, entry: wire::Entry<'_>) -> Option<Vec<u8>> {
    use futures_util::FutureExt as _;
    let request = match entry {
        Ok(request) => request,
        Err(invalid) => {
            let mut out = Vec::with_capacity(96);
            let error = ErrorObject::new(ErrorCode::INVALID_REQUEST, "Invalid Request")
                .with_data(invalid.reason);
            wire::write_error(&mut out, &error, invalid.id);
            return Some(out);
        }
    };
    let method = service.known(&request.method).unwrap_or("_OTHER");
    let started = Instant::now();
    let mut out = Vec::with_capacity(128);
    wire::start_result(&mut out);
    let ran = AssertUnwindSafe(service.call(&request.method, request.params, &mut out))
        .catch_unwind()
        .await;
    let outcome = match ran {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error),
        Err(_) => {
            tracing::error!(
                rpc.method = method,
                "a served method panicked; answered -32603"
            );
            Err(ErrorObject::internal_error())
        }
    };
    let millis = started.elapsed().as_secs_f64() * 1e3;
    metrics::histogram!(
        "rpc.client.served.duration",
        "rpc.method" => method,
        "outcome" => if outcome.is_ok() { "ok" } else { "error" },
    )
    .record(millis);
    tracing::debug!(
        rpc.method = method,
        rpc.direction = "from_peer",
        ok = outcome.is_ok(),
        duration_ms = millis,
        "served a call from the server"
    );
    let id: &RawValue = request.id?;
    match outcome {
        Ok(()) => wire::finish(&mut out, Some(id)),
        Err(error) => {
            out.clear();
            wire::write_error(&mut out, &error, Some(id));
        }
    }
    Some(out)
}
