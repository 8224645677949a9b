//! The typed client over WebSocket against the framework's own server: the trait's
//! subscription methods read like the trait, each subscription a stream of typed items.

use std::time::Duration;

use examples::pubsub::{PubsubClient, TooFast};
use futures_util::StreamExt as _;
use rpc_core::CallError;

async fn client() -> PubsubClient {
    let addr = examples::spawn(examples::pubsub::app(), "127.0.0.1:0")
        .await
        .unwrap();
    PubsubClient::new(&format!("ws://{addr}/rpc")).unwrap()
}

#[tokio::test]
async fn a_typed_subscription_yields_its_items_then_ends() {
    let pubsub = client().await;
    assert_eq!(pubsub.add(2, 3).await.unwrap(), 5);
    let counter = pubsub.subscribe_counter(10, 4).await.unwrap();
    let items: Vec<u64> = tokio::time::timeout(
        Duration::from_secs(10),
        counter.map(|item| item.unwrap()).collect(),
    )
    .await
    .unwrap();
    assert_eq!(items, [10, 11, 12, 13]);
}

#[tokio::test]
async fn a_refused_subscription_is_the_methods_own_error() {
    let pubsub = client().await;
    match pubsub.subscribe_ticks(1).await {
        Err(CallError::Method(TooFast { min_interval_ms })) => assert_eq!(min_interval_ms, 10),
        other => panic!("expected TooFast, got {:?}", other.map(|s| s.id())),
    }
}

#[tokio::test]
async fn subscriptions_and_calls_share_one_socket_and_unsubscribe_ends_one() {
    let pubsub = client().await;
    let mut fast = pubsub.subscribe_ticks(10).await.unwrap();
    let mut slow = pubsub.subscribe_ticks(20).await.unwrap();
    assert_ne!(fast.id(), slow.id());
    for n in 0..3 {
        assert_eq!(fast.next().await.unwrap().unwrap(), n);
    }
    assert_eq!(slow.next().await.unwrap().unwrap(), 0);
    assert!(fast.unsubscribe().await.unwrap(), "the server held it");
    // The other subscription and calls go on.
    assert_eq!(slow.next().await.unwrap().unwrap(), 1);
    assert_eq!(pubsub.add(40, 2).await.unwrap(), 42);
}
