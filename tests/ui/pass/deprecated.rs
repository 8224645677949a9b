//! A deprecated method: the generated server, client, batch and notification items stand for it
//! without tripping the `deprecated` lint themselves, so a crate that never calls it stays clean
//! under `#![deny(warnings)]`.

#![deny(warnings)]

use rpc_core::rpc;

/// A service with old methods.
#[rpc(namespace = "old")]
pub trait Legacy {
    /// The old way.
    #[deprecated(note = "use `fetch_v2`")]
    async fn fetch(&self, id: u64) -> Option<String>;

    /// The old notification.
    #[deprecated(since = "0.2.0", note = "use `ping_v2`")]
    async fn ping(&self);

    /// Deprecated without a note.
    #[deprecated]
    #[rpc(name = "legacy_sum")]
    async fn sum(&self, #[rpc(variadic)] xs: Vec<i64>) -> i64;

    /// The new way.
    async fn fetch_v2(&self, id: u64) -> Option<String>;

    /// The new notification.
    async fn ping_v2(&self);
}

struct Impl;

// Implementing a deprecated trait method is not a use of it.
impl Legacy for Impl {
    async fn fetch(&self, _id: u64) -> Option<String> {
        None
    }

    async fn ping(&self) {}

    async fn sum(&self, xs: Vec<i64>) -> i64 {
        xs.into_iter().sum()
    }

    async fn fetch_v2(&self, _id: u64) -> Option<String> {
        None
    }

    async fn ping_v2(&self) {}
}

fn main() {
    let server = LegacyServer(Impl);
    let info = LegacyServer::<()>::INFO.methods;
    assert_eq!(info[0].deprecated, Some("use `fetch_v2`"));
    assert_eq!(info[1].deprecated, Some("use `ping_v2`"));
    assert_eq!(info[2].deprecated, Some(""));
    assert_eq!(info[3].deprecated, None);
    let _router: axum::Router = rpc_server::router(server);

    let client = LegacyClient::new("http://127.0.0.1:1/rpc").unwrap();
    drop(async move {
        let _ = client.fetch_v2(1).await;
        let _ = client.notify().ping_v2().await;
        let mut batch = client.batch();
        let _ = batch.fetch_v2(1);
        batch.notify().ping_v2();
    });
}
