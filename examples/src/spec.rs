//! The methods the JSON-RPC 2.0 specification's section 7 examples call.

use std::sync::atomic::{AtomicU64, Ordering};

use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An integer operation whose answer does not fit in 64 bits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Overflow;

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("integer overflow")
    }
}

impl RpcError for Overflow {}

/// The specification's example service.
#[rpc]
pub trait SpecExamples {
    /// `minuend - subtrahend`, by position or by name.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> Result<i64, Overflow>;

    /// The sum of all params.
    async fn sum(&self, #[rpc(variadic)] numbers: Vec<i64>) -> Result<i64, Overflow>;

    /// Always `["hello", 5]`.
    async fn get_data(&self) -> (String, i64);

    /// A notification target that takes any positional params.
    async fn update(&self, #[rpc(variadic)] values: Vec<Value>);

    /// A notification target taking one number.
    async fn notify_hello(&self, n: i64);

    /// A notification target taking any count of numbers.
    async fn notify_sum(&self, #[rpc(variadic)] numbers: Vec<i64>);

    /// How many notifications (`update`, `notify_hello`, `notify_sum`) the server has run.
    async fn notifications_seen(&self) -> u64;
}

/// The specification's service, counting the notifications it runs.
#[derive(Debug, Default)]
pub struct SpecService {
    notifications: AtomicU64,
}

impl SpecService {
    fn seen(&self) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
    }
}

impl SpecExamples for SpecService {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> Result<i64, Overflow> {
        minuend.checked_sub(subtrahend).ok_or(Overflow)
    }

    async fn sum(&self, numbers: Vec<i64>) -> Result<i64, Overflow> {
        numbers
            .into_iter()
            .try_fold(0i64, i64::checked_add)
            .ok_or(Overflow)
    }

    async fn get_data(&self) -> (String, i64) {
        ("hello".to_owned(), 5)
    }

    async fn update(&self, _values: Vec<Value>) {
        self.seen();
    }

    async fn notify_hello(&self, _n: i64) {
        self.seen();
    }

    async fn notify_sum(&self, _numbers: Vec<i64>) {
        self.seen();
    }

    async fn notifications_seen(&self) -> u64 {
        self.notifications.load(Ordering::Relaxed)
    }
}

/// The endpoint, as every transport serves it: with `rpc.discover`, the `system.*`
/// introspection methods and the explorer page.
pub fn endpoint() -> rpc_server::RpcService<SpecExamplesServer<SpecService>> {
    rpc_server::RpcService::new(SpecExamplesServer(SpecService::default()))
        .introspection(true)
        .explorer(true)
        .api_version("1.0.0")
}

/// The app `spec_server` serves: the service at `/rpc`, with `rpc.discover`, the `system.*`
/// introspection methods and the explorer page on `GET /rpc`; the framework's metrics in
/// Prometheus text at `GET /metrics`, and `GET /health`.
pub fn app() -> axum::Router {
    axum::Router::new()
        .route("/rpc", endpoint().into_method_router())
        .merge(crate::observability::routes())
}
