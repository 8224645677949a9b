//! From a body to a response body: parsing, batches, notifications, ids and panics, around a
//! [`Service`] that only ever sees one call at a time.
#![expect(
    clippy::manual_async_fn,
    reason = "a call's way is plain fns returning `async move` blocks: an `async fn` keeps its \
              arguments twice in its future (see `middleware::Endpoint::call`)"
)]

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use rpc_core::wire::{self, Body, Entry, Request};
use rpc_core::{ErrorCode, ErrorObject, Service};
use tokio::sync::SemaphorePermit;

use crate::call::{Call, Lent, Method};
use crate::middleware::{Admitted, Calls};
use crate::observe::{BatchClock, BatchHandles, Handles, Scope};
use crate::{Config, builtin, observe};

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
            Box::pin(batch(ep, entries, &mut out)).await
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Runs a batch's calls concurrently on this task and writes their answers into `out` as one
/// array, in request order, notifications leaving nothing.
///
/// Each call is polled once as soon as it is built. Most calls finish on that first poll, and
/// keeping every call's future alive until the whole batch is done (as joining them all would)
/// costs several times the memory of the answers: so a finished call leaves nothing behind,
/// and only the calls still pending after their first poll are kept, each in its own box,
/// and driven together.
async fn batch<S: Service, M: Calls>(
    ep: Endpoint<'_, S, M>,
    entries: Vec<Entry<'_>>,
    out: &mut Vec<u8>,
) {
    debug_assert!(out.is_empty(), "a batch's answer starts an empty buffer");
    // With a layer that checks batches, the calls are built once, up front, for it. Otherwise
    // each is built as it runs: a vector of them all would cost more (an allocation over the
    // allocator's fast-path size for a batch of 100) than looking their methods up twice.
    let calls: Vec<Call<'_>> = if M::BATCHES {
        // Sized for every entry at once: collected from a filter, it would grow by doubling.
        let mut calls = Vec::with_capacity(entries.len());
        calls.extend(
            entries
                .iter()
                .filter_map(|e| e.as_ref().ok())
                .map(|request| call_of(ep, request)),
        );
        calls
    } else {
        Vec::new()
    };
    // Once per batch: each method's metric handles, and its calls counted in flight.
    let mut handles = BatchHandles::new();
    // The calls that take a slot among the endpoint's concurrent calls (built-ins take none).
    let mut slots = 0u32;
    if M::BATCHES {
        for call in &calls {
            let method = call.known_method().unwrap_or(observe::OTHER);
            handles.count(&ep.lent.config.metrics, method, ep.lent.transport);
            slots += u32::from(!call.is_builtin());
        }
    } else {
        for request in entries.iter().filter_map(|e| e.as_ref().ok()) {
            let method = method(ep, &request.method);
            handles.count(
                &ep.lent.config.metrics,
                method.known.unwrap_or(observe::OTHER),
                ep.lent.transport,
            );
            slots += u32::from(!method.builtin);
        }
    }
    handles.start();
    // Once per batch when there is room: the slots of all its calls; else each call waits for
    // its own, as alone.
    let mut held = match slots {
        0 => None,
        n => ep.lent.config.calls.try_acquire_many(n).ok(),
    };
    let clock = BatchClock::new();
    // Once per batch: the layers that check a batch's calls at once (a rate limit).
    let mut admitted = vec![Admitted::NONE; calls.len()];
    if M::BATCHES {
        ep.stack.batch(&calls, &mut admitted, 0);
    }
    let mut built = calls.iter().copied().zip(admitted);
    let mut answers = InOrder::new(out);
    let mut spare = None;
    let mut pending: Option<Pending<'_>> = None;
    for (index, entry) in entries.iter().enumerate() {
        let prebuilt = match entry {
            Ok(_) => built.next(),
            Err(_) => None,
        };
        // Every call is this one future type, so one box can take call after call; a call
        // that stays pending keeps its box and the next call gets a new one.
        let fut = batch_call(
            ep,
            (&handles, &clock, held.is_some()),
            (index, entry),
            prebuilt,
            answers.buffer(),
        );
        let mut boxed = match spare.take() {
            Some(mut boxed) => {
                Pin::set(&mut boxed, fut);
                boxed
            }
            None => Box::pin(fut),
        };
        match std::future::poll_fn(|cx| Poll::Ready(boxed.as_mut().poll(cx))).await {
            Poll::Ready((index, answer)) => {
                answers.done(index, answer);
                spare = Some(boxed);
            }
            Poll::Pending => {
                answers.pending();
                pending.get_or_insert_with(Pending::new).push(boxed);
            }
        }
    }
    drop(spare);
    // The slots of the calls done already, given back at once; the pending calls keep theirs
    // until the batch is answered.
    if let Some(slots) = &mut held {
        let keep = pending.as_ref().map_or(0, Pending::len);
        drop(slots.split(slots.num_permits().saturating_sub(keep)));
    }
    if let Some(mut pending) = pending {
        while let Some((index, answer)) = std::future::poll_fn(|cx| pending.poll_next(cx)).await {
            answers.done(index, answer);
        }
    }
    answers.close();
    drop(held);
}

/// A batch's calls left pending after their first poll, driven together. They are `dyn`
/// futures (each is boxed either way) and these methods are not generic: the set's code is the
/// same for every service, compiled once, in this crate.
struct Pending<'r>(FuturesUnordered<PendingCall<'r>>);

/// A batch's call, boxed: its index in the batch and its answer.
type PendingCall<'r> = Pin<Box<dyn Future<Output = (usize, Vec<u8>)> + Send + 'r>>;

impl<'r> Pending<'r> {
    fn new() -> Self {
        Pending(FuturesUnordered::new())
    }

    fn push(&mut self, call: PendingCall<'r>) {
        self.0.push(call);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The next call to finish: its index in the batch and its answer.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Vec<u8>)>> {
        self.0.poll_next_unpin(cx)
    }
}

/// Runs the batch's call `index`, writing its answer (or nothing) into `answer`; `prebuilt`
/// is its call, when built for the layers' batch check, with the layers that admitted it.
fn batch_call<'r, S: Service, M: Calls>(
    ep: Endpoint<'r, S, M>,
    (handles, clock, slot_held): (&'r BatchHandles, &'r BatchClock, bool),
    (index, entry): (usize, &'r Entry<'r>),
    prebuilt: Option<(Call<'r>, Admitted)>,
    mut answer: Vec<u8>,
) -> impl Future<Output = (usize, Vec<u8>)> + 'r {
    async move {
        match entry {
            Ok(request) => {
                let (call, admitted) =
                    prebuilt.unwrap_or_else(|| (call_of(ep, request), Admitted::NONE));
                let method = call.known_method().unwrap_or(observe::OTHER);
                // Always found (every method of the batch was counted); else resolved here.
                let owned;
                let observed = match handles.get(method) {
                    Some(calls) => (calls.handles(), Scope::Batch(clock, calls)),
                    None => {
                        owned = ep.lent.config.metrics.handles(method, ep.lent.transport);
                        (&*owned, Scope::Alone)
                    }
                };
                run(ep, call, observed, (admitted, slot_held), &mut answer).await;
            }
            Err(invalid) => invalid_entry(invalid, &mut answer),
        }
        (index, answer)
    }
}

/// A batch's answers written in request order, whatever order its calls finish in.
///
/// While every earlier call's answer is written, a call is handed the response buffer itself
/// (separator included), so that the common case copies nothing; a call that starts while an
/// earlier one is pending writes into a buffer of its own, copied in once its turn comes.
struct InOrder<'o> {
    out: &'o mut Vec<u8>,
    /// The first call whose answer is not in `out` yet.
    next: usize,
    /// The calls from `next` on: `None` while pending, then their answer (empty for a
    /// notification) until every earlier one is written.
    waiting: VecDeque<Option<Vec<u8>>>,
    /// Set while the call `next` holds the response buffer: the length `out` had before that
    /// call's separator.
    lent: Option<usize>,
}

impl<'o> InOrder<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        InOrder {
            out,
            next: 0,
            waiting: VecDeque::new(),
            lent: None,
        }
    }

    /// The buffer the next call writes its answer into.
    fn buffer(&mut self) -> Vec<u8> {
        if !self.waiting.is_empty() {
            return Vec::with_capacity(96);
        }
        let mut buffer = std::mem::take(self.out);
        self.lent = Some(buffer.len());
        buffer.push(if buffer.is_empty() { b'[' } else { b',' });
        buffer
    }

    /// The call last started is still pending.
    fn pending(&mut self) {
        self.waiting.push_back(None);
    }

    /// Call `index` finished with `answer` (in the buffer [`InOrder::buffer`] gave it).
    fn done(&mut self, index: usize, answer: Vec<u8>) {
        if self.waiting.is_empty() {
            // It finished on its first poll with nothing pending before it: `answer` is `out`.
            debug_assert_eq!(index, self.next);
            self.write(answer);
            return;
        }
        // Either the call last started, done on its first poll, or one that was pending.
        if index - self.next == self.waiting.len() {
            self.waiting.push_back(Some(answer));
        } else {
            self.waiting[index - self.next] = Some(answer);
        }
        while let Some(Some(_)) = self.waiting.front() {
            let answer = self.waiting.pop_front().flatten().unwrap_or_default();
            self.write(answer);
        }
    }

    /// Writes the answer of call `next`.
    fn write(&mut self, answer: Vec<u8>) {
        self.next += 1;
        match self.lent.take() {
            Some(mark) => {
                *self.out = answer;
                // A notification wrote nothing after its separator.
                if self.out.len() == mark + 1 {
                    self.out.truncate(mark);
                }
            }
            None if answer.is_empty() => {}
            None => {
                self.out.push(if self.out.is_empty() { b'[' } else { b',' });
                self.out.extend_from_slice(&answer);
            }
        }
    }

    fn close(self) {
        debug_assert!(self.waiting.is_empty() && self.lent.is_none());
        if !self.out.is_empty() {
            self.out.push(b']');
        }
    }
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
        let builtin = call.is_builtin();
        let config = ep.lent.config;
        wire::start_result(out);
        // While the answers already made wait unread past the outbound budget, nothing new runs.
        let spent = config.outbound.over();
        // Built-in methods answer from memory at once: they take no slot and need no timer.
        let outcome = {
            // What the work needs, copied in (or reborrowed), not nine references to this
            // future's locals: every call's future is that much smaller.
            let (stack, call_ref, work_out) = (ep.stack, &call, &mut *out);
            let work = pin!(async move {
                if spent {
                    metrics::counter!("rpc.server.calls.refused", "reason" => "outbound_budget")
                        .increment(1);
                    return Ok(Err(ErrorObject::new(ErrorCode::SERVER_BUSY, "Server busy")
                        .with_data(
                            "the server holds too many answers its clients have not read",
                        )));
                }
                let _slot = match builtin || slot_held {
                    true => None,
                    false => match admit(config).await {
                        None => {
                            return Ok(Err(ErrorObject::new(
                                ErrorCode::SERVER_BUSY,
                                "Server busy",
                            )));
                        }
                        slot => slot,
                    },
                };
                // Pinned here, once, and polled where it is: moved it would be copied whole, and take
                // its room twice over in every call's future.
                let outcome = {
                    let mut running = pin!(stack.call(*call_ref, admitted, &mut *work_out));
                    match limited(config.call_timeout, caught(running.as_mut())).await {
                        Some(outcome) => outcome?,
                        None => Err(ErrorObject::new(ErrorCode::TIMEOUT, "Timed out")),
                    }
                };
                Ok(outcome.and_then(|()| {
                    if work_out.len() - start <= config.max_response_bytes {
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
            });
            observe::call(call, handles, scope, work).await
        };
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

/// Runs `fut` for at most `limit`; `None` when it ran out of time. Most calls finish on their
/// first poll: the timer, which costs a trip to the runtime's timer wheel, is only set for a
/// call still pending after it.
async fn limited<F: Future + Unpin>(limit: Option<Duration>, mut fut: F) -> Option<F::Output> {
    if let Poll::Ready(value) =
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
    {
        return Some(value);
    }
    match limit {
        None => Some(fut.await),
        // Boxed for the same reason as in `admit`, and only for a call that had to wait.
        Some(limit) => Box::pin(tokio::time::timeout(limit, fut)).await.ok(),
    }
}

/// Polls `fut` where it is pinned, turning a panic inside it into `Err` so that one call's
/// panic fails that call only. The panic itself is reported by the process's panic hook
/// (standard error by default), never to the caller.
fn caught<F: Future>(mut fut: Pin<&mut F>) -> impl Future<Output = Result<F::Output, ()>> + Unpin {
    std::future::poll_fn(
        move |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        },
    )
}
