//! Subscriptions to the `pubsub` example's service through rpc_client, for the tests of the
//! WebSocket client, its failover and its metrics.

use std::time::Duration;

use examples::pubsub::TooFast;
use futures_util::StreamExt as _;
use rpc_client::{Client, Subscription};
use rpc_core::{CallError, MethodError};
use serde::de::DeserializeOwned;

/// The next item or end of `sub`, failing after 10 s.
pub(crate) async fn next<T: DeserializeOwned, E: MethodError>(
    sub: &mut Subscription<T, E>,
) -> Option<Result<T, CallError<E>>> {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an item or the end within 10 s")
}

/// Subscribes to the clock, a tick every `interval_ms`.
pub(crate) async fn ticks(client: &Client, interval_ms: u64) -> Subscription<u64, TooFast> {
    client
        .subscribe(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            Some(&[interval_ms]),
        )
        .await
        .unwrap()
}
