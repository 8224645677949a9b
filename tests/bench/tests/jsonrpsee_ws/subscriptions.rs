//! Subscriptions: typed items and the server's end of a stream, a failed stream, an item that
//! does not decode, unsubscribing (dropped or explicit) closing the server's sink, subscribing
//! over HTTP refused, and a consumer too slow for its buffer.

use std::time::Duration;

use futures_util::StreamExt as _;
use rpc_client::{Client, Subscription};
use rpc_core::{CallError, Error, ErrorObject};

use crate::server::serve;
use crate::{answers, client, next};

#[tokio::test]
async fn subscription_items_arrive_typed_and_the_server_ends_the_stream() {
    let (addr, _server, _) = serve().await;
    let client = client(addr);
    let mut counter: Subscription<u64> = client
        .subscribe(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            Some(&(5, 3)),
        )
        .await
        .unwrap();
    assert!(!counter.id().is_empty());
    let mut items = Vec::new();
    while let Some(item) = next(&mut counter).await {
        items.push(item.unwrap());
    }
    assert_eq!(items, [5, 6, 7]);
    // Ended: it stays ended.
    assert!(counter.next().await.is_none());
}

#[tokio::test]
async fn a_failed_stream_yields_its_error_then_ends() {
    let (addr, _server, _) = serve().await;
    let client = client(addr);
    let mut failing: Subscription<String> = client
        .subscribe(
            "subscribe_failing",
            "failing",
            "unsubscribe_failing",
            None::<&()>,
        )
        .await
        .unwrap();
    assert_eq!(next(&mut failing).await.unwrap().unwrap(), "first");
    match next(&mut failing).await {
        Some(Err(CallError::Method(error))) => {
            assert_eq!(error.code, -32001);
            assert_eq!(error.message, "feed lost");
            assert_eq!(error.data_as::<u32>(), Some(7));
        }
        other => panic!("expected the stream's error, got {other:?}"),
    }
    assert!(next(&mut failing).await.is_none());
}

#[tokio::test]
async fn an_item_that_does_not_decode_is_an_error_and_the_stream_goes_on() {
    let (addr, _server, _) = serve().await;
    let client = client(addr);
    let mut wrong: Subscription<bool> = client
        .subscribe(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            Some(&(1, 2)),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let item = next(&mut wrong).await.unwrap();
        assert!(
            matches!(item, Err(CallError::Call(Error::Decode(_)))),
            "{item:?}"
        );
    }
    assert!(next(&mut wrong).await.is_none());
}

#[tokio::test]
async fn dropping_or_unsubscribing_stops_the_server_s_stream() {
    let (addr, _server, mut sink_closed) = serve().await;
    let client = client(addr);
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[5]))
        .await
        .unwrap();
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 0);
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 1);
    drop(ticks);
    tokio::time::timeout(Duration::from_secs(5), sink_closed.recv())
        .await
        .expect("the server's sink closes after the stream is dropped");

    let ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[5]))
        .await
        .unwrap();
    assert!(ticks.unsubscribe().await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), sink_closed.recv())
        .await
        .expect("the server's sink closes after unsubscribe");
    // Still one socket, still answering.
    answers(&client).await;
}

#[tokio::test]
async fn subscribing_over_http_is_refused_clearly() {
    let client = Client::new("http://127.0.0.1:9/rpc").unwrap();
    let refused = client
        .subscribe::<u64, ErrorObject, _>(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            Some(&[5]),
        )
        .await
        .unwrap_err();
    let CallError::Call(Error::Request(why)) = refused else {
        panic!("{refused:?}");
    };
    assert!(why.contains("need a ws:// URL"), "{why}");
}

#[tokio::test]
async fn a_slow_consumer_loses_its_subscription_not_the_client_s_memory() {
    let (addr, _server, mut sink_closed) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .subscription_buffer(8)
        .build()
        .unwrap();
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[0]))
        .await
        .unwrap();
    // Not reading while the server sends as fast as it can.
    tokio::time::timeout(Duration::from_secs(5), sink_closed.recv())
        .await
        .expect("the client unsubscribes when the buffer is full");
    let mut items = 0;
    let error = loop {
        match next(&mut ticks).await {
            Some(Ok(n)) => {
                assert_eq!(n, items);
                items += 1;
            }
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert_eq!(items, 8, "the buffered items come first");
    let CallError::Call(Error::Rpc(error)) = error else {
        panic!("{error:?}");
    };
    assert_eq!(error.code, -32009);
    assert!(
        error.message.contains("reads too slowly"),
        "{}",
        error.message
    );
    assert!(next(&mut ticks).await.is_none());
    // The client is fine.
    answers(&client).await;
}
