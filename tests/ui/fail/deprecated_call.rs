// The generated client methods carry the trait method's `#[deprecated]`, so a caller is warned
// at the call, in the caller's own code.
#![deny(deprecated)]

use rpc_core::rpc;

/// An old service.
#[rpc]
pub trait Legacy {
    /// The old way.
    #[deprecated(note = "use `fetch_v2`")]
    async fn fetch(&self, id: u64) -> Option<String>;

    /// The new way.
    async fn fetch_v2(&self, id: u64) -> Option<String>;
}

fn main() {
    let client = LegacyClient::new("http://127.0.0.1:1/rpc").unwrap();
    drop(async move {
        let _ = client.fetch(1).await;
        let _ = client.fetch_v2(1).await;
        let mut batch = client.batch();
        let _ = batch.fetch(2);
    });
}
