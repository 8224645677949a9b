//! A batch's calls, run concurrently on the request's task, answered in request order.
#![expect(
    clippy::manual_async_fn,
    reason = "a call's way is plain fns returning `async move` blocks: an `async fn` keeps its \
              arguments twice in its future (see `middleware::Endpoint::call`)"
)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::StreamExt as _;
use futures_util::future::OptionFuture;
use futures_util::stream::FuturesUnordered;

use rpc_core::Service;
use rpc_core::wire::Entry;

use super::{Endpoint, call_of, invalid_entry, method, poll_once, run};
use crate::call::Call;
use crate::middleware::{Admitted, Calls};
use crate::observe::{self, BatchClock, BatchHandles, Scope};

/// Runs a batch's calls concurrently on this task and writes their answers into `out` as one
/// array, in request order, notifications leaving nothing.
///
/// Each call is polled once as soon as it is built. Most calls finish on that first poll, and
/// keeping every call's future alive until the whole batch is done (as joining them all would)
/// costs several times the memory of the answers: so a finished call leaves nothing behind,
/// and only the calls still pending after their first poll are kept, each in its own box,
/// and driven together.
pub(super) async fn batch<S: Service, M: Calls>(
    ep: Endpoint<'_, S, M>,
    entries: Vec<Entry<'_>>,
    out: &mut Vec<u8>,
) {
    debug_assert!(out.is_empty(), "a batch's answer starts an empty buffer");
    // With a layer that checks batches, the calls are built once, up front, for it. Otherwise
    // each is built as it runs, its method looked up a second time: building them all up front
    // instead (a vector over the allocator's fast-path size for a batch of 100) measured no
    // better, within ±1.5% either way (BENCHMARKS.md, fifth session).
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
        // that stays pending keeps its box and the next call gets a new one. The box is
        // emptied when its call is done, so that the next call's future is built in it rather
        // than built aside and copied in whole (the bench service's: 864 bytes a call).
        let mut call = || {
            OptionFuture::from(Some(batch_call(
                ep,
                (&handles, &clock, held.is_some()),
                (index, entry),
                prebuilt,
                answers.buffer(),
            )))
        };
        let mut boxed = match spare.take() {
            Some(mut boxed) => {
                Pin::set(&mut boxed, call());
                boxed
            }
            None => Box::pin(call()),
        };
        match poll_once(&mut boxed).await {
            Poll::Ready(Some((index, answer))) => {
                answers.done(index, answer);
                Pin::set(&mut boxed, OptionFuture::from(None));
                spare = Some(boxed);
            }
            // Not reached: the box holds a call.
            Poll::Ready(None) => {}
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
type PendingCall<'r> = Pin<Box<dyn Future<Output = Option<(usize, Vec<u8>)>> + Send + 'r>>;

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
        self.0.poll_next_unpin(cx).map(Option::flatten)
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
