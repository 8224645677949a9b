//! The connection's life: dropped under pending calls and subscriptions, reconnecting and
//! resubscribing or giving up, closed with its last handle, a call pending at a drop sent again
//! under retry, a silent connection found by pings, and pongs keeping an idle one alive.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rpc_client::{Client, Method, Retry, Subscription};
use rpc_core::{CallError, Error};

use crate::relay::Relay;
use crate::server::serve;
use crate::{answers, client, error_then_end, next};

#[tokio::test]
async fn a_dropped_connection_fails_pending_calls_and_ends_subscriptions() {
    let (addr, _server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = client(relay.addr);
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[20]))
        .await
        .unwrap();
    assert!(next(&mut ticks).await.unwrap().is_ok());
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64, _>("sleep_ms", Some(&[3000])).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    relay.cut();
    let failed = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .expect("the pending call fails at once")
        .unwrap();
    let Err(Error::Transport(why)) = failed else {
        panic!("{failed:?}");
    };
    assert!(
        why.to_string().contains("WebSocket connection closed"),
        "{why}"
    );
    // Items already buffered may come first; then the transport error, then the end.
    let error = error_then_end(&mut ticks).await;
    assert!(
        matches!(error, CallError::Call(Error::Transport(_))),
        "{error:?}"
    );
    // The next call connects again.
    answers(&client).await;
}

#[tokio::test]
async fn reconnect_resubscribes_and_the_stream_goes_on() {
    let (addr, _server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = Client::builder(&format!("ws://{}", relay.addr))
        .reconnect(Retry::new(5).backoff(Duration::from_millis(20), Duration::from_millis(100)))
        .build()
        .unwrap();
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[10]))
        .await
        .unwrap();
    let first_id = ticks.id();
    assert!(next(&mut ticks).await.unwrap().is_ok());
    relay.cut();
    // The new subscription counts from 0 again: that is how to tell it from the old one.
    let mut restarted = false;
    for _ in 0..200 {
        let n = next(&mut ticks).await.expect("the stream goes on").unwrap();
        if n == 0 {
            restarted = true;
            break;
        }
    }
    assert!(restarted, "no item from the new subscription");
    assert_ne!(ticks.id(), first_id);
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn the_connection_closes_when_the_last_handle_is_dropped() {
    let (addr, _server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = client(relay.addr);
    let clone = client.clone();
    // Made on first use, not at build.
    assert_eq!(relay.open.load(Ordering::SeqCst), 0);
    answers(&client).await;
    let ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[50]))
        .await
        .unwrap();
    assert_eq!(relay.open.load(Ordering::SeqCst), 1);
    drop(client);
    drop(clone);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The subscription still holds the connection.
    assert_eq!(relay.open.load(Ordering::SeqCst), 1);
    drop(ticks);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while relay.open.load(Ordering::SeqCst) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket stays open"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_idempotent_call_pending_at_a_drop_is_sent_again_under_retry() {
    let (addr, _server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = Client::builder(&format!("ws://{}", relay.addr))
        .retry(Retry::new(3).backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build()
        .unwrap();
    let idempotent = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .call::<u64, _>(Method::idempotent("sleep_ms"), Some(&[300]))
                .await
        }
    });
    let not_idempotent = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64, _>("sleep_ms", Some(&[300])).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    relay.cut();
    assert_eq!(idempotent.await.unwrap().unwrap(), 300);
    let failed = not_idempotent.await.unwrap();
    assert!(matches!(failed, Err(Error::Transport(_))), "{failed:?}");
}

#[tokio::test]
async fn a_connection_gone_silent_is_found_by_the_client_s_pings() {
    let (addr, _server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = Client::builder(&format!("ws://{}", relay.addr))
        .ping_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[20]))
        .await
        .unwrap();
    assert!(next(&mut ticks).await.unwrap().is_ok());
    relay.freeze();
    let frozen = tokio::time::Instant::now();
    let error = error_then_end(&mut ticks).await;
    let CallError::Call(Error::Transport(why)) = error else {
        panic!("{error:?}");
    };
    assert!(why.to_string().contains("not even a pong"), "{why}");
    // Two silent intervals, found at the next tick: 200 to 300 ms, and well under the 5 s a
    // test would wait for an item that never comes.
    assert!(
        frozen.elapsed() < Duration::from_secs(2),
        "{:?}",
        frozen.elapsed()
    );
}

#[tokio::test]
async fn the_server_s_pongs_keep_an_idle_subscription_alive() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .ping_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    // Items every 600 ms: six ping intervals, with only pongs in between. (Wide margins: a
    // loaded machine may stall a task for tens of milliseconds.)
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[600]))
        .await
        .unwrap();
    for expected in 0..2 {
        assert_eq!(next(&mut ticks).await.unwrap().unwrap(), expected);
    }
}

#[tokio::test]
async fn reconnect_gives_up_after_its_attempts_and_ends_the_stream() {
    let (addr, server, _) = serve().await;
    let relay = Relay::start(addr).await;
    let client = Client::builder(&format!("ws://{}", relay.addr))
        .reconnect(Retry::new(2).backoff(Duration::from_millis(10), Duration::from_millis(20)))
        .build()
        .unwrap();
    let mut ticks: Subscription<u64> = client
        .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[10]))
        .await
        .unwrap();
    assert!(next(&mut ticks).await.unwrap().is_ok());
    // The server goes away for good: every reconnect reaches the relay and no further.
    server.stop().unwrap();
    server.stopped().await;
    relay.cut();
    let error = error_then_end(&mut ticks).await;
    assert!(
        matches!(error, CallError::Call(Error::Transport(_))),
        "{error:?}"
    );
}
