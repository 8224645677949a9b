//! `#[rpc(server)]`: only the trait and the server; no client items, so no client dependency
//! is named.

use rpc_core::rpc;

/// A counter.
#[rpc(server)]
pub trait Counter {
    /// The current count.
    async fn get(&self) -> u64;

    /// Adds one; a notification.
    async fn incr(&self);
}

struct Zero;

impl Counter for Zero {
    async fn get(&self) -> u64 {
        0
    }

    async fn incr(&self) {}
}

// The client side is not generated, so these names are free.
#[allow(dead_code)]
struct CounterClient;
#[allow(dead_code)]
struct CounterBatch;
#[allow(dead_code)]
struct CounterNotify;

fn main() {
    let _router: axum::Router = rpc_server::router(CounterServer(Zero));
    assert_eq!(CounterServer::<()>::INFO.methods.len(), 2);
}
