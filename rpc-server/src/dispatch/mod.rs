//! From a body to a response body: parsing, batches, notifications, ids and panics, around a
//! [`Service`] that only ever sees one call at a time.
#![expect(
    clippy::manual_async_fn,
    reason = "a call's way is plain fns returning `async move` blocks: an `async fn` keeps its \
              arguments twice in its future (see `middleware::Endpoint::call`)"
)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::Poll;

use rpc_core::wire::{self, Body, Entry, Request};
use rpc_core::{ErrorCode, ErrorObject, Service};
use tokio::sync::SemaphorePermit;

use crate::call::{Call, Lent, Method, Outcome};
use crate::middleware::{Admitted, Calls};
use crate::observe::{Handles, Observed, Scope};
use crate::{Config, builtin, observe};

mod batch;

/// What every call of a request runs against: the service (to know its methods), the chain of
/// layers ending in it, the endpoint's settings and state, and what the request's connection
/// lends its calls (nothing over HTTP; a push sink over a message connection).
pub(crate) struct Endpoint<'a, S, M> {
    pub(crate) service: &'a S,
    pub(crate) stack: &'a M,
    pub(crate) lent: &'a Lent<'a>,
}

impl<S, M> Clone for Endpoint<'_, S, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, M> Copy for Endpoint<'_, S, M> {}

/// Runs every call in `body`; `None` means no response at all (notifications only).
pub(crate) async fn handle<S: Service, M: Calls>(
    ep: Endpoint<'_, S, M>,
    body: &[u8],
) -> Option<Vec<u8>> {
    let config = ep.lent.config;
    // A large request usually means a large answer (an echo, an upload's summary is the
    // exception): reserving it up front saves doubling the buffer, and copying it, on the way.
    let capacity = if body.len() > 4096 {
        body.len() + 128
    } else {
        128
    };
    let mut out = Vec::with_capacity(capacity);
    match wire::parse_body_limited(body, config.max_batch_len) {
        Err(e) => {
            observe::refused(&e);
            wire::write_error(&mut out, &e, None)
        }
        Ok(Body::Single(entry)) => single(ep, entry, &mut out).await,
        // Boxed: the batch's own state (its answers in waiting, the calls still pending) would
        // otherwise widen the future of every single call.
        Ok(Body::Batch(entries)) => {
            observe::batch(entries.len());
            Box::pin(batch::batch(ep, entries, &mut out)).await
        }
    }
    (!out.is_empty()).then_some(out)
}

/// What the endpoint knows of the method `name`.
fn method<S: Service, M>(ep: Endpoint<'_, S, M>, name: &str) -> Method {
    let builtin = builtin::claims(ep.lent.config, name);
    let known = if builtin {
        builtin::known(ep.lent.config, name)
    } else {
        ep.service.known(name)
    };
    Method { known, builtin }
}

/// The call `request` makes.
fn call_of<'r, S: Service, M>(ep: Endpoint<'r, S, M>, request: &'r Request<'r>) -> Call<'r> {
    Call::new(request, method(ep, &request.method), ep.lent)
}

/// Answers an entry that is no request.
fn invalid_entry(invalid: &wire::Invalid<'_>, out: &mut Vec<u8>) {
    let e = ErrorObject::invalid_request(invalid.reason);
    observe::refused(&e);
    wire::write_error(out, &e, invalid.id);
}

/// Runs a request's one call (or answers an entry that is none).
fn single<'a, S: Service, M: Calls>(
    ep: Endpoint<'a, S, M>,
    entry: Entry<'a>,
    out: &'a mut Vec<u8>,
) -> impl Future<Output = ()> + 'a {
    async move {
        let request = match &entry {
            Ok(request) => request,
            Err(invalid) => return invalid_entry(invalid, out),
        };
        // The call is copied into `run`; built in a block, this copy's room ends before the
        // `await` and takes none in this future.
        let handles;
        let running = {
            let call = call_of(ep, request);
            let method = call.known_method().unwrap_or(observe::OTHER);
            handles = ep.lent.config.metrics.handles(method, ep.lent.transport);
            run(
                ep,
                call,
                (&handles, Scope::Alone),
                (Admitted::NONE, false),
                out,
            )
        };
        running.await;
    }
}

/// Runs one call through the layers (skipping those that `admitted` it for its batch),
/// observed with `handles`, writing its response into `out` unless it is a notification; with
/// `slot_held`, its batch holds its slot among the endpoint's concurrent calls.
///
/// One `async` block, from the call's checks to its answer: the span, the panic guard and the
/// timer are around the polls of the call's way to its method, not futures of their own, so a
/// call's future is this block and that way, and a batch's call runs through that much less
/// code.
fn run<'a, S: Service, M: Calls>(
    ep: Endpoint<'a, S, M>,
    call: Call<'a>,
    (handles, scope): (&'a Handles, Scope<'a>),
    (admitted, slot_held): (Admitted, bool),
    out: &'a mut Vec<u8>,
) -> impl Future<Output = ()> + 'a {
    // Not an `async fn`, nor is anything on the call's way: see `middleware::Endpoint::call`.
    async move {
        let start = out.len();
        let config = ep.lent.config;
        wire::start_result(out);
        // While the answers already made wait unread past the outbound budget, nothing new runs.
        let spent = config.outbound.over();
        let observed = Observed::start(call, handles, scope);
        // `Err(())`: the call panicked.
        let outcome: Result<Outcome, ()> = 'work: {
            if spent {
                metrics::counter!("rpc.server.calls.refused", "reason" => "outbound_budget")
                    .increment(1);
                break 'work Ok(Err(ErrorObject::new(ErrorCode::SERVER_BUSY, "Server busy")
                    .with_data(
                        "the server holds too many answers its clients have not read",
                    )));
            }
            // Built-in methods answer from memory at once: they take no slot and need no timer.
            let _slot = match call.is_builtin() || slot_held {
                true => None,
                false => match admit(config).await {
                    None => {
                        break 'work Ok(Err(ErrorObject::new(
                            ErrorCode::SERVER_BUSY,
                            "Server busy",
                        )));
                    }
                    slot => slot,
                },
            };
            let outcome = {
                // Pinned here, once, and polled where it is: moved it would be copied whole, and
                // take its room twice over in every call's future.
                let mut running = pin!(ep.stack.call(call, admitted, &mut *out));
                // Each poll inside the call's span (when enabled), and a panic in it caught, so
                // that one call's panic fails that call only. The panic itself is reported by
                // the process's panic hook (standard error by default), never to the caller.
                let mut guarded = std::future::poll_fn(|cx| {
                    let _entered = observed.enter();
                    match catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(cx))) {
                        Ok(Poll::Ready(outcome)) => Poll::Ready(Some(outcome)),
                        Ok(Poll::Pending) => Poll::Pending,
                        Err(_) => Poll::Ready(None),
                    }
                });
                // Most calls finish on their first poll: the timer, which costs a trip to the
                // runtime's timer wheel, is only set for a call still pending after it.
                let first = poll_once(&mut guarded).await;
                let polled = match (first, config.call_timeout) {
                    (Poll::Ready(polled), _) => Some(polled),
                    (Poll::Pending, None) => Some(guarded.await),
                    // Boxed: the timer is large, and in every call's future it would cost every
                    // call memory; only a call that had to wait pays for it.
                    (Poll::Pending, Some(limit)) => {
                        Box::pin(tokio::time::timeout(limit, guarded)).await.ok()
                    }
                };
                match polled {
                    Some(Some(outcome)) => outcome,
                    Some(None) => break 'work Err(()),
                    None => Err(ErrorObject::new(ErrorCode::TIMEOUT, "Timed out")),
                }
            };
            Ok(outcome.and_then(|()| {
                if out.len() - start <= config.max_response_bytes {
                    return Ok(());
                }
                let reason = format!(
                    "the answer is larger than {} bytes",
                    config.max_response_bytes
                );
                Err(
                    ErrorObject::new(ErrorCode::RESPONSE_TOO_LARGE, "Response too large")
                        .with_data(&reason),
                )
            }))
        };
        observed.end(call, handles, &outcome);
        let outcome = outcome.unwrap_or_else(|()| {
            tracing::error!(method = %call.method(), "a call panicked; it is answered -32603");
            Err(ErrorObject::internal_error())
        });
        match (call.id(), outcome) {
            (None, _) => out.truncate(start),
            (Some(id), Ok(())) => wire::finish(out, Some(id)),
            (Some(id), Err(e)) => {
                out.truncate(start);
                wire::write_error(out, &e, Some(id));
            }
        }
    }
}

/// Polls `fut` once, where it is: its output, or `Pending` with `fut` left to poll again.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> impl Future<Output = Poll<F::Output>> + '_ {
    std::future::poll_fn(move |cx| Poll::Ready(Pin::new(&mut *fut).poll(cx)))
}

/// A slot among the endpoint's concurrent calls, waiting for one up to the endpoint's
/// `busy_wait`; `None` when none freed up in time.
async fn admit(config: &Config) -> Option<SemaphorePermit<'_>> {
    if let Ok(slot) = config.calls.try_acquire() {
        return Some(slot);
    }
    // Boxed: the timer is large, and in every call's future it would cost every call memory.
    Box::pin(tokio::time::timeout(
        config.busy_wait,
        config.calls.acquire(),
    ))
    .await
    .ok()?
    .ok()
}
