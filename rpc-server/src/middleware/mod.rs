//! Per-call middleware: layers that every call goes through, batch members and built-in
//! methods included, after the body is parsed and before the method runs.
//!
//! A tower layer on the route sees HTTP requests; the method name, params and id are inside
//! the body, and a batch is many calls in one request. A [`Layer`] sees each call: its
//! [`Call`] (method, raw params, id or notification) with the request's
//! [`RequestContext`](crate::RequestContext) in scope, and the rest of the chain as a [`Next`].
//! It can answer with an error without calling the method, and it sees the outcome (the
//! `Result`) and can time it.
//!
//! ```
//! use std::time::Instant;
//! use rpc_core::{ErrorObject, rpc};
//! use rpc_server::RpcService;
//! use rpc_server::middleware::{Call, Calls, Layer, Next, Outcome};
//!
//! /// Logs each call's method, outcome and latency.
//! struct Audit;
//!
//! impl Layer for Audit {
//!     async fn call<'a, N: Calls>(&'a self, call: Call<'a>, next: Next<'a, N>) -> Outcome {
//!         let started = Instant::now();
//!         let outcome = next.run(call).await;
//!         let code = outcome.as_ref().err().map(|e| e.code);
//!         println!("{} -> {code:?} in {:?}", call.method(), started.elapsed());
//!         outcome
//!     }
//! }
//!
//! # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
//! # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
//! let route: axum::routing::MethodRouter = RpcService::new(PingServer(P)).layer(Audit).into_method_router();
//! ```
//!
//! **Order:** the last layer added runs first, as with axum's `Router::layer`:
//! `.layer(a).layer(b)` runs `b`, then `a`, then the method. Layers are static types, so with
//! none the chain costs nothing: calls go straight to the method.
//!
//! **Batches:** a layer may also check a whole batch's calls at once before any of them runs
//! ([`Layer::batch`], opted into with [`Layer::BATCH`]): the calls it admits there skip its
//! [`Layer::call`]; the others go through it one by one as usual. [`RateLimit`] does: it takes
//! a batch's calls of one method and caller from their bucket at once (governor's `check_n`).
//!
//! **Calls to the peer:** over a message connection a method may call the client back
//! ([`RequestContext::peer`](crate::RequestContext::peer)); a layer that opts in with
//! [`Layer::TO_PEER`] sees each of those calls too ([`Layer::to_peer`], a [`PeerCall`]), to log,
//! time or refuse it.
//!
//! Shipped layers: [`Authorize`] (a check by method name, `RpcService::authorize`),
//! [`RateLimit`] (per method and per caller key) and [`ConcurrencyLimit`] (per method).

mod limits;
mod to_peer;

use std::future::Future;

use rpc_core::subscription::Subscribing;
use rpc_core::{ErrorObject, Service};

use crate::builtin;
pub use crate::call::{Call, Outcome, Transport};

pub use limits::{BUSY, ConcurrencyLimit, RATE_LIMITED, RateLimit};
use rpc_core::peer::Sending;
pub use to_peer::{PeerCall, PeerOutcome, ToPeer};
#[doc(hidden)]
pub use to_peer::{PeerChain, Wire};

/// The rest of the chain after a layer: the layers inside it, then the method.
pub struct Next<'a, N> {
    inner: &'a N,
    out: &'a mut Vec<u8>,
    admitted: Admitted,
}

impl<'a, N: Calls> Next<'a, N> {
    /// Runs the rest of the chain for `call`.
    ///
    /// The rest of the chain's own future, returned as is: an `async fn` here would keep
    /// `self` and `call` around it twice, in every call's future of every layer.
    pub fn run(self, call: Call<'a>) -> impl Future<Output = Outcome> + Send + 'a {
        self.inner.call(call, self.admitted, self.out)
    }
    /// Runs `check` on the call's first poll (so that a panic in it is the call's, caught as
    /// any other), then the rest of the chain if it passed, with no state of the layer's
    /// around it: the way of the shipped layers that only check.
    pub(crate) fn run_checked(
        self,
        call: Call<'a>,
        check: impl FnOnce(&Call<'a>) -> Result<(), ErrorObject> + Send + 'a,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        use futures_util::future::{Either, FutureExt as _, lazy};
        lazy(move |_| match check(&call) {
            Ok(()) => Either::Left(self.run(call)),
            Err(e) => Either::Right(std::future::ready(Err(e))),
        })
        .flatten()
    }
}

/// Which layers of the chain admitted a call in their [`Layer::batch`] check, one bit a layer
/// from the outermost (bit 0) in: those layers are skipped for it. Layers past the 64th are
/// never skipped.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admitted(u64);

impl Admitted {
    /// No layer admitted the call ahead: it goes through every one.
    pub const NONE: Admitted = Admitted(0);

    fn this_layer(self) -> bool {
        self.0 & 1 != 0
    }

    fn inner(self) -> Admitted {
        Admitted(self.0 >> 1)
    }
}

impl<N> std::fmt::Debug for Next<'_, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Next")
    }
}

/// A per-call layer. See the [module docs](self).
pub trait Layer: Send + Sync + 'static {
    /// Whether the layer checks batches in [`batch`](Layer::batch); `false` by default, and
    /// then no batch is ever offered to it.
    const BATCH: bool = false;

    /// Handles `call`: run `next` to go on, or answer without it.
    fn call<'a, N: Calls>(
        &'a self,
        call: Call<'a>,
        next: Next<'a, N>,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    /// Checks a batch's calls at once, before any of them runs (with the request's
    /// [`RequestContext`](crate::RequestContext) in scope), when [`BATCH`](Layer::BATCH) is
    /// `true`: set `admitted[i]` for each `calls[i]` the layer lets through now. An admitted
    /// call skips this layer's [`call`](Layer::call) (going straight to the rest of the chain);
    /// the others go through it one by one, as outside a batch. The default admits none.
    ///
    /// A batch is offered only when every one of its calls is sure to reach the layer: when no
    /// layer around it may refuse a call (it is the outermost, or every layer around it
    /// admitted every call in its own `batch`). So a layer that counts calls (a rate limit)
    /// counts only calls that reach it, as one by one. The endpoint may still refuse an
    /// admitted call before the chain runs (`-32005` when over its concurrency or outbound
    /// budget), as it may refuse a single call.
    fn batch(&self, calls: &[Call<'_>], admitted: &mut [bool]) {
        let _ = (calls, admitted);
    }

    /// Whether the layer sees the calls the server makes to its peer, in
    /// [`to_peer`](Layer::to_peer); `false` by default, and then they pass it by at no cost.
    const TO_PEER: bool = false;

    /// Handles a call a method makes to the connection's peer (through
    /// [`RequestContext::peer`](crate::RequestContext::peer)), when [`TO_PEER`](Layer::TO_PEER)
    /// is `true`: send it on with `next`, or answer without it. The layer sees the call's
    /// method, params and id, and its outcome; it cannot change what is sent. The default sends
    /// it on.
    fn to_peer<'a>(
        &'a self,
        call: PeerCall<'a>,
        next: ToPeer<'a>,
    ) -> impl Future<Output = PeerOutcome> + Send + 'a {
        next.send(call)
    }
}

/// What runs calls: the method at the end of the chain, or a layer around the rest. Built by
/// [`RpcService`](crate::RpcService); not meant to be implemented elsewhere.
pub trait Calls: Send + Sync + 'static {
    /// Whether a layer of the chain checks batches.
    #[doc(hidden)]
    const BATCHES: bool = false;

    /// Runs `call`, writing its result into `out`, skipping the layers `admitted` names.
    #[doc(hidden)]
    fn call<'a>(
        &'a self,
        call: Call<'a>,
        admitted: Admitted,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    /// Offers a batch's `calls` to the layers that check batches, from the `level`th in,
    /// marking in `admitted` the layers each call skips.
    #[doc(hidden)]
    fn batch(&self, calls: &[Call<'_>], admitted: &mut [Admitted], level: u32) {
        let _ = (calls, admitted, level);
    }

    /// Whether a layer of the chain sees the calls to the peer.
    #[doc(hidden)]
    const TO_PEER: bool = false;

    /// Sends a call to the peer through the chain's layers, then `wire`.
    #[doc(hidden)]
    fn to_peer<'a>(&'a self, call: PeerCall<'a>, wire: &'a dyn Wire) -> Sending<'a>;
}

/// The end of every chain: the service's method, or the endpoint's own (`rpc.discover`,
/// `system.*`).
pub struct Endpoint<S> {
    pub(crate) service: std::sync::Arc<S>,
}

impl<S> std::fmt::Debug for Endpoint<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint")
    }
}

impl<S: Service> Calls for Endpoint<S> {
    // A plain fn returning an `async move` block, here and along the call's way
    // (`dispatch::run`): an `async fn` keeps its arguments in its state and copies them into
    // locals besides, so every call's future would carry each argument twice.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` keeps its arguments twice in its future (see above)"
    )]
    fn call<'a>(
        &'a self,
        call: Call<'a>,
        _: Admitted,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        async move {
            if call.is_builtin() {
                let services = self.service.services();
                return builtin::call(services, call.config(), call.method(), call.params(), out);
            }
            // Only a method the service knows can be a subscription's: one `match` for the rest.
            if call.known_method().is_some()
                && let Some(subscribing) = self.service.subscription(call.method())
            {
                let Some(push) = call.push() else {
                    return Err(ErrorObject::subscription_needs_websocket(call.method()));
                };
                return match subscribing {
                    Subscribing::Subscribe(info) => {
                        let items = self.service.subscribe(call.method(), call.params()).await?;
                        push.subscribe(info.notification, items, out)
                    }
                    Subscribing::Unsubscribe => push.unsubscribe(call.params(), out),
                };
            }
            self.service.call(call.method(), call.params(), out).await
        }
    }

    fn to_peer<'a>(&'a self, _: PeerCall<'a>, wire: &'a dyn Wire) -> Sending<'a> {
        wire.send()
    }
}

/// `outer` around the rest of the chain, `inner`.
#[derive(Debug)]
pub struct Stack<L, C> {
    pub(crate) outer: L,
    pub(crate) inner: std::sync::Arc<C>,
}

impl<L: Layer, C: Calls> Calls for Stack<L, C> {
    const BATCHES: bool = L::BATCH || C::BATCHES;
    const TO_PEER: bool = L::TO_PEER || C::TO_PEER;

    fn call<'a>(
        &'a self,
        call: Call<'a>,
        admitted: Admitted,
        out: &'a mut Vec<u8>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        use futures_util::future::Either;
        if L::BATCH && admitted.this_layer() {
            return Either::Left(self.inner.call(call, admitted.inner(), out));
        }
        Either::Right(self.outer.call(
            call,
            Next {
                inner: &*self.inner,
                out,
                admitted: admitted.inner(),
            },
        ))
    }

    fn batch(&self, calls: &[Call<'_>], admitted: &mut [Admitted], level: u32) {
        // A layer that does not check batches may refuse any call: past it, none is sure.
        if !L::BATCH || level >= u64::BITS {
            return;
        }
        let mut mine = vec![false; calls.len()];
        self.outer.batch(calls, &mut mine);
        for (admitted, mine) in admitted.iter_mut().zip(&mine) {
            admitted.0 |= u64::from(*mine) << level;
        }
        if C::BATCHES && mine.iter().all(|m| *m) {
            self.inner.batch(calls, admitted, level + 1);
        }
    }

    fn to_peer<'a>(&'a self, call: PeerCall<'a>, wire: &'a dyn Wire) -> Sending<'a> {
        to_peer::through(&self.outer, &*self.inner, call, wire)
    }
}

/// A check by method name, with the request's [`RequestContext`](crate::RequestContext) in
/// scope: `Err` refuses the call with that error object. Added by `RpcService::authorize`.
///
/// The check sees the method's declared name ([`Call::known_method`]): an alias is resolved to
/// the method it names and a namespace is included, so a rule written against declared names
/// holds however the caller spells the method (by alias, in a batch, as a notification, over
/// HTTP or a WebSocket). A name the endpoint does not serve is passed as the caller sent it; it
/// runs nothing, and is answered `-32601` if the check lets it through.
pub struct Authorize<F>(pub F);

impl<F> std::fmt::Debug for Authorize<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorize")
    }
}

impl<F> Layer for Authorize<F>
where
    F: Fn(&str) -> Result<(), ErrorObject> + Send + Sync + 'static,
{
    /// Once checked, the call's future is the rest of the chain's, with no state of the
    /// layer's around it.
    fn call<'a, N: Calls>(
        &'a self,
        call: Call<'a>,
        next: Next<'a, N>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        next.run_checked(call, |call| {
            (self.0)(call.known_method().unwrap_or(call.method()))
        })
    }
}
