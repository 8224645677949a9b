//! `authorize` sees the declared name: an alias, a namespace or a batch cannot walk past it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rpc_core::{ErrorObject, rpc};
use rpc_server::{RouterExt as _, RpcService};

use super::*;

/// A store whose `delete_all` has an alias.
#[rpc(server, namespace = "store")]
pub(crate) trait Store {
    /// Removes everything; also called `wipe`.
    #[rpc(aliases = ["wipe"])]
    async fn delete_all(&self);
    /// How many times `delete_all` ran.
    async fn deletions(&self) -> usize;
}

struct Counted(Arc<AtomicUsize>);

impl Store for Counted {
    async fn delete_all(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    async fn deletions(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A server denying `store.delete_all` by its declared name; the count of its runs.
async fn guarded() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let endpoint = RpcService::new(StoreServer(Counted(runs.clone()))).authorize(|method| {
        if method == "store.delete_all" {
            Err(ErrorObject::new(-32001, format!("{method} is not allowed")))
        } else {
            Ok(())
        }
    });
    let app = axum::Router::new().rpc("/rpc", endpoint);
    let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
    (addr, runs)
}

#[tokio::test]
async fn a_denied_method_is_denied_by_every_spelling_over_http() {
    let (addr, runs) = guarded().await;
    let url = format!("http://{addr}/rpc");
    for spelling in ["store.delete_all", "store.wipe"] {
        let answer = common::post(
            &url,
            &json!({"jsonrpc": "2.0", "id": 1, "method": spelling}).to_string(),
        )
        .await
        .json();
        assert_eq!(answer["error"]["code"], -32001, "{spelling}: {answer}");
        assert_eq!(
            answer["error"]["message"], "store.delete_all is not allowed",
            "the check saw the declared name for {spelling}"
        );
        // As a batch member, beside an allowed call.
        let batch = json!([
            {"jsonrpc": "2.0", "id": 1, "method": spelling},
            {"jsonrpc": "2.0", "id": 2, "method": "store.deletions"},
        ]);
        let answer = common::post(&url, &batch.to_string()).await.json();
        assert_eq!(answer[0]["error"]["code"], -32001, "{spelling}: {answer}");
        assert_eq!(answer[1]["result"], 0, "{answer}");
        // As a notification, whose refusal no one sees: it must not run either.
        let raw = common::post(
            &url,
            &json!({"jsonrpc": "2.0", "method": spelling}).to_string(),
        )
        .await;
        assert!(raw.body.is_empty(), "{}", raw.body);
    }
    // Allowed methods still run, and the denied one never did.
    assert_eq!(common::rpc_result(&url, "store.deletions", None).await, 0);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Unprefixed names are not the service's: method not found, never a run.
    for spelling in ["delete_all", "wipe"] {
        assert_eq!(common::rpc_error_code(&url, spelling, None).await, -32601);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_denied_method_is_denied_by_every_spelling_over_a_websocket() {
    let (addr, runs) = guarded().await;
    let mut socket = connect(&format!("ws://{addr}/rpc")).await;
    for spelling in ["store.delete_all", "store.wipe"] {
        let answer = exchange(
            &mut socket,
            json!({"jsonrpc": "2.0", "id": 1, "method": spelling}),
        )
        .await;
        assert_eq!(answer["error"]["code"], -32001, "{spelling}: {answer}");
        let answer = exchange(
            &mut socket,
            json!([
                {"jsonrpc": "2.0", "method": spelling},
                {"jsonrpc": "2.0", "id": 2, "method": spelling},
            ]),
        )
        .await;
        assert_eq!(answer[0]["error"]["code"], -32001, "{spelling}: {answer}");
    }
    let answer = exchange(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 3, "method": "store.deletions"}),
    )
    .await;
    assert_eq!(answer["result"], 0, "{answer}");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}
