//! Server push: a counter and a clock that a WebSocket client subscribes to, beside an
//! ordinary method, all on one route.

use std::time::Duration;

use futures_util::{Stream, stream};
use rpc_core::{RpcError, Subscription, rpc};
use serde::{Deserialize, Serialize};

/// A clock asked to tick too fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TooFast {
    /// The shortest interval it takes, in milliseconds.
    pub min_interval_ms: u64,
}

impl std::fmt::Display for TooFast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the interval must be at least {} ms",
            self.min_interval_ms
        )
    }
}

impl RpcError for TooFast {}

/// Live numbers, pushed to subscribers.
#[rpc]
pub trait Pubsub {
    /// Sends `start`, `start + 1`, ... `count` items in all, then ends.
    #[rpc(subscription = "counter", unsubscribe = "unsubscribe_counter")]
    async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64>;

    /// Sends the tick number every `interval_ms` milliseconds, forever.
    #[rpc(subscription = "tick")]
    async fn subscribe_ticks(
        &self,
        interval_ms: u64,
    ) -> Result<Subscription<u64, TooFast>, TooFast>;

    /// `a + b`: an ordinary call, on the same socket.
    async fn add(&self, a: u64, b: u64) -> u64;
}

/// The service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live;

/// The shortest clock interval: a subscriber cannot make the server spin.
pub const MIN_INTERVAL_MS: u64 = 10;

impl Pubsub for Live {
    async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64> {
        let end = start.saturating_add(u64::from(count));
        Subscription::from_items(stream::iter(start..end))
    }

    async fn subscribe_ticks(
        &self,
        interval_ms: u64,
    ) -> Result<Subscription<u64, TooFast>, TooFast> {
        Ok(Subscription::from_items(ticks(interval_ms)?))
    }

    async fn add(&self, a: u64, b: u64) -> u64 {
        a.saturating_add(b)
    }
}

/// 0, 1, 2, ... one every `interval_ms` milliseconds, forever; refused under
/// [`MIN_INTERVAL_MS`].
///
/// ```
/// assert!(examples::pubsub::ticks(1).is_err());
/// let every_second = examples::pubsub::ticks(1000).unwrap();
/// # drop(every_second);
/// ```
pub fn ticks(interval_ms: u64) -> Result<impl Stream<Item = u64> + Send + 'static, TooFast> {
    if interval_ms < MIN_INTERVAL_MS {
        return Err(TooFast {
            min_interval_ms: MIN_INTERVAL_MS,
        });
    }
    let every = Duration::from_millis(interval_ms);
    Ok(stream::unfold(0u64, move |n| async move {
        tokio::time::sleep(every).await;
        Some((n, n + 1))
    }))
}

/// The endpoint, as every transport serves it.
pub fn endpoint() -> rpc_server::RpcService<PubsubServer<Live>> {
    rpc_server::RpcService::new(PubsubServer(Live)).explorer(true)
}

/// The app: the service at `/rpc` (HTTP and WebSocket) with its explorer, and `/health`.
pub fn app() -> axum::Router {
    use rpc_server::RouterExt as _;
    axum::Router::new()
        .rpc("/rpc", endpoint())
        .route("/health", axum::routing::get(|| async { "ok" }))
}
