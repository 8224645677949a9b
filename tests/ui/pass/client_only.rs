//! `#[rpc(client)]`: only the trait and the client; nothing implements the trait.

use rpc_core::rpc;

/// A remote counter.
#[rpc(client)]
pub trait Counter {
    /// The current count.
    async fn get(&self) -> u64;

    /// Adds `by`; a notification.
    async fn incr(&self, by: Option<u64>);
}

// The server side is not generated, so this name is free.
#[allow(dead_code)]
struct CounterServer;

#[allow(clippy::let_underscore_future)]
fn main() {
    let _ = async {
        let client = CounterClient::new("http://127.0.0.1:1/rpc")?;
        let _: u64 = client.get().await?;
        client.notify().incr(Some(2)).await?;
        let mut batch = client.batch();
        let slot = batch.get();
        batch.notify().incr(None);
        let mut answers = batch.send().await?;
        let _: u64 = answers.take(slot)?;
        Ok::<(), rpc_core::Error>(())
    };
}
