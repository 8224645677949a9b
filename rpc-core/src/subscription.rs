//! Subscriptions: methods whose answer is a stream of items the server pushes to the caller.
//!
//! A trait declares one with `#[rpc(subscription = "NOTIFICATION")]` on a method returning
//! [`Subscription<T, E>`] (or `Result<Subscription<T, E>, E>`, to refuse a subscription before
//! it starts). Over a WebSocket the server answers the call with a subscription id and then
//! sends each item as a notification; the client sees a stream of `T`:
//!
//! ```
//! use rpc_core::{rpc, ErrorObject, Subscription};
//!
//! #[rpc(server)]
//! pub trait Ticker {
//!     /// Counts up from `start`, `count` times.
//!     #[rpc(subscription = "counter", unsubscribe = "unsubscribe_counter")]
//!     async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64>;
//! }
//!
//! struct Counter;
//! impl Ticker for Counter {
//!     async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64> {
//!         Subscription::from_items(futures_util::stream::iter(start..start + u64::from(count)))
//!     }
//! }
//!
//! let method = &TickerServer::INFO.methods[0];
//! let subscription = method.subscription.unwrap();
//! assert_eq!(subscription.notification, "counter");
//! assert_eq!(subscription.unsubscribe, "unsubscribe_counter");
//! ```
//!
//! ## On the wire
//! The format Ethereum nodes use, which existing WebSocket JSON-RPC clients understand:
//! - the subscribe call answers a subscription id (a string);
//! - each item is a notification
//!   `{"jsonrpc":"2.0","method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`;
//! - a stream that fails sends one last notification whose params hold `"error"`: the error
//!   object, as a failed call would carry it, in place of `"result"`;
//! - a stream that ends sends one last notification whose params hold `"error": null`;
//! - the unsubscribe call takes the id (`[ID]` or `{"subscription": ID}`) and answers `true`,
//!   or `false` for an id the connection does not hold; no notification follows it.
//!
//! A subscription lives as long as its WebSocket connection: closing the socket ends them all.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::{ErrorObject, MethodError};

/// What a subscription method returns: the stream of items to push to its subscriber, each
/// `Ok(item)`, or an `Err(e)` that ends the subscription with `e` as its error. A stream that
/// ends ends the subscription; one that never ends runs until the subscriber unsubscribes or
/// disconnects (it is then dropped, at its next `.await`).
///
/// ```
/// use rpc_core::{ErrorObject, Subscription};
/// use futures_util::stream;
///
/// // Items that cannot fail:
/// let ticks: Subscription<u64> = Subscription::from_items(stream::iter([1, 2, 3]));
/// // A stream that fails after one item:
/// let failing: Subscription<u64, ErrorObject> = Subscription::new(stream::iter([
///     Ok(1),
///     Err(ErrorObject::new(-32000, "feed lost")),
/// ]));
/// # drop((ticks, failing));
/// ```
pub struct Subscription<T, E = ErrorObject> {
    items: Pin<Box<dyn Stream<Item = Result<T, E>> + Send>>,
}

impl<T, E> Subscription<T, E> {
    /// A subscription pushing `stream`'s items; the first `Err` ends it.
    pub fn new(stream: impl Stream<Item = Result<T, E>> + Send + 'static) -> Self {
        Subscription {
            items: Box::pin(stream),
        }
    }

    /// A subscription whose items cannot fail.
    pub fn from_items(stream: impl Stream<Item = T> + Send + 'static) -> Self
    where
        T: 'static,
        E: 'static,
    {
        let mut stream = Box::pin(stream);
        Subscription::new(PollFn(move |cx: &mut Context<'_>| {
            stream.as_mut().poll_next(cx).map(|item| item.map(Ok))
        }))
    }
}

impl<T, E> Stream for Subscription<T, E> {
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.as_mut().poll_next(cx)
    }
}

impl<T, E> fmt::Debug for Subscription<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subscription")
    }
}

/// A subscription's items as a server sends them: each item's JSON, or the error object that
/// ends the subscription. What [`Service::subscribe`](crate::Service::subscribe) returns.
pub type ItemStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, ErrorObject>> + Send>>;

/// Turns a typed subscription into the server's [`ItemStream`]: items that do not serialize
/// end it with `-32603` (logged with `method`), and `E` becomes its error object.
pub fn item_stream<T, E>(subscription: Subscription<T, E>, method: &'static str) -> ItemStream
where
    T: serde::Serialize + 'static,
    E: MethodError + 'static,
{
    let mut items = subscription.items;
    Box::pin(PollFn(move |cx: &mut Context<'_>| {
        items.as_mut().poll_next(cx).map(|item| {
            item.map(|item| match item {
                Ok(value) => {
                    let mut out = Vec::with_capacity(64);
                    crate::wire::write_json(&mut out, &value, method).map(|()| out)
                }
                Err(e) => Err(e.into_error_object()),
            })
        })
    }))
}

/// A stream from a poll function, without pulling in a combinator crate.
struct PollFn<F>(F);

impl<F> Unpin for PollFn<F> {}

impl<T, F: FnMut(&mut Context<'_>) -> Poll<Option<T>>> Stream for PollFn<F> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        (self.0)(cx)
    }
}

/// What a method name is to a service's subscriptions. See
/// [`Service::subscription`](crate::Service::subscription).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribing {
    /// The subscribe method of the subscription whose names these are.
    Subscribe(&'static crate::meta::SubscriptionInfo),
    /// An unsubscribe method, which several subscriptions may share (as `eth_unsubscribe`
    /// does): the subscription id says which one ends.
    Unsubscribe,
}
