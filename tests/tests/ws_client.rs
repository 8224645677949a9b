//! Our WebSocket client against our own WebSocket server (the `pubsub` example's service), over
//! real sockets on 127.0.0.1: the typed client's calls and batches over `ws://`; subscriptions'
//! items, end and refusal (the method's typed error); unsubscribing by drop and by call; the
//! server's pings answered while a subscription idles; a consumer too slow for the client's
//! buffer; graceful shutdown; reconnect across restarts, with a resubscription refused.
//!
//! The same client against jsonrpsee's server, with dropped connections and reconnects:
//! `tests/bench/tests/jsonrpsee_ws/`.

mod common;

use common::pubsub::{next, ticks};

use std::time::Duration;

use examples::pubsub::{Live, MIN_INTERVAL_MS, PubsubClient, PubsubServer, TooFast};
use rpc_client::{Client, Subscription};
use rpc_core::{CallError, Error, ErrorCode};
use rpc_server::{RouterExt as _, RpcService, WsLimits};

async fn serve(limits: WsLimits) -> String {
    let service = RpcService::new(PubsubServer(Live)).websocket_limits(limits);
    let addr = examples::spawn(axum::Router::new().rpc("/rpc", service), "127.0.0.1:0")
        .await
        .unwrap();
    format!("ws://{addr}/rpc")
}

/// Whether the server still holds subscription `id` (unsubscribing it if so).
async fn holds(client: &Client, id: &str) -> bool {
    client.call("unsubscribe_ticks", Some(&[id])).await.unwrap()
}

#[tokio::test]
async fn the_typed_client_calls_and_batches_over_a_websocket() {
    let url = serve(WsLimits::default()).await;
    let client = PubsubClient::new(&url).unwrap();
    assert_eq!(client.add(2, 3).await.unwrap(), 5);
    let mut batch = client.batch();
    let a = batch.add(1, 1);
    let b = batch.add(20, 22);
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.take(a).unwrap(), 2);
    assert_eq!(answers.take(b).unwrap(), 42);
}

#[tokio::test]
async fn a_subscription_streams_its_items_then_ends_and_calls_go_on_beside_it() {
    let url = serve(WsLimits::default()).await;
    let client = Client::new(&url).unwrap();
    let mut counter: Subscription<u64> = client
        .subscribe(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            Some(&(10, 4)),
        )
        .await
        .unwrap();
    let mut items = Vec::new();
    while let Some(item) = next(&mut counter).await {
        items.push(item.unwrap());
    }
    assert_eq!(items, [10, 11, 12, 13]);

    let mut ticks = ticks(&client, MIN_INTERVAL_MS).await;
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 0);
    let sum: u64 = client.call("add", Some(&(40, 2))).await.unwrap();
    assert_eq!(sum, 42);
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn a_refused_subscription_is_the_method_s_typed_error() {
    let url = serve(WsLimits::default()).await;
    let client = Client::new(&url).unwrap();
    let refused = client
        .subscribe::<u64, TooFast, _>("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[1]))
        .await
        .unwrap_err();
    match refused {
        CallError::Method(TooFast { min_interval_ms }) => {
            assert_eq!(min_interval_ms, MIN_INTERVAL_MS)
        }
        other => panic!("expected TooFast, got {other:?}"),
    }
}

#[tokio::test]
async fn unsubscribing_answers_true_and_dropping_unsubscribes() {
    let url = serve(WsLimits::default()).await;
    let client = Client::new(&url).unwrap();
    let explicit = ticks(&client, MIN_INTERVAL_MS).await;
    let id = explicit.id();
    assert!(explicit.unsubscribe().await.unwrap());
    assert!(!holds(&client, &id).await);

    let mut dropped = ticks(&client, MIN_INTERVAL_MS).await;
    assert!(next(&mut dropped).await.unwrap().is_ok());
    let id = dropped.id();
    drop(dropped);
    // The server may run the calls of one socket concurrently: the drop's unsubscribe is given
    // time to run before the check, which would otherwise race it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!holds(&client, &id).await, "the server still holds {id}");
}

#[tokio::test]
async fn the_client_answers_the_server_s_pings_while_a_subscription_idles() {
    // The server closes a connection silent for two ping intervals: 400 ms here, while items
    // come every second, and the client sends nothing but pongs. (Wide margins: a loaded
    // machine may stall a task for tens of milliseconds.)
    let url = serve(WsLimits::default().ping_interval(Duration::from_millis(200))).await;
    let client = Client::new(&url).unwrap();
    let mut ticks = ticks(&client, 1000).await;
    for expected in 0..2 {
        assert_eq!(next(&mut ticks).await.unwrap().unwrap(), expected);
    }
}

#[tokio::test]
async fn a_consumer_too_slow_for_the_client_s_buffer_loses_its_subscription() {
    let url = serve(WsLimits::default()).await;
    let client = Client::builder(&url)
        .subscription_buffer(4)
        .build()
        .unwrap();
    let mut slow = ticks(&client, MIN_INTERVAL_MS).await;
    let id = slow.id();
    // Not reading for long enough that more than 4 items arrive.
    tokio::time::sleep(Duration::from_millis(20 * MIN_INTERVAL_MS)).await;
    let mut items = Vec::new();
    let error = loop {
        match next(&mut slow).await {
            Some(Ok(n)) => items.push(n),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert_eq!(items, [0, 1, 2, 3], "the items held come first");
    let CallError::Call(Error::Rpc(error)) = error else {
        panic!("{error:?}");
    };
    assert_eq!(error.code, ErrorCode::SUBSCRIPTION_DROPPED);
    assert!(next(&mut slow).await.is_none());
    // The client told the server, and the connection serves on.
    assert!(!holds(&client, &id).await, "the server still holds {id}");
}

#[tokio::test]
async fn a_graceful_shutdown_ends_subscriptions_with_the_server_s_reason() {
    let common::Stoppable { addr, stop, server } =
        common::serve_until_stopped(examples::pubsub::app()).await;
    let client = Client::new(&format!("ws://{addr}/rpc")).unwrap();
    let mut ticks = ticks(&client, 1000).await;
    stop.send(()).unwrap();
    let Some(Err(CallError::Call(Error::Transport(why)))) = next(&mut ticks).await else {
        panic!("expected the connection's end");
    };
    assert!(
        why.to_string().contains("the server closed it (1001"),
        "{why}"
    );
    assert!(next(&mut ticks).await.is_none());
    // The client answered the close frame: the server's shutdown completes.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once its sockets are closed")
        .unwrap()
        .unwrap();
}

/// The `pubsub` service, except that its clock now refuses intervals under a second: what a
/// subscriber whose resubscription is refused meets after a restart.
#[derive(Clone, Copy)]
struct Slower;

impl examples::pubsub::Pubsub for Slower {
    async fn subscribe_counter(&self, start: u64, count: u32) -> rpc_core::Subscription<u64> {
        examples::pubsub::Pubsub::subscribe_counter(&Live, start, count).await
    }

    async fn subscribe_ticks(
        &self,
        interval_ms: u64,
    ) -> Result<rpc_core::Subscription<u64, TooFast>, TooFast> {
        if interval_ms < 1000 {
            return Err(TooFast {
                min_interval_ms: 1000,
            });
        }
        examples::pubsub::Pubsub::subscribe_ticks(&Live, interval_ms).await
    }

    async fn add(&self, a: u64, b: u64) -> u64 {
        a + b
    }
}

#[tokio::test]
async fn reconnect_rides_through_a_restart_and_a_refused_resubscription_ends_its_stream() {
    let (port, socket) = common::SharedPort::new();
    let common::Stoppable { addr, stop, server } =
        common::serve_until_stopped_on(socket.listen(64).unwrap(), examples::pubsub::app());
    let client = Client::builder(&format!("ws://{addr}/rpc"))
        .reconnect(
            rpc_client::Retry::new(50)
                .backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    let mut fast = ticks(&client, MIN_INTERVAL_MS).await;
    // A second clock, at an interval the stricter server below still accepts.
    let mut steady = ticks(&client, 1000).await;
    assert_eq!(next(&mut fast).await.unwrap().unwrap(), 0);
    let first_id = fast.id();

    // A rolling restart: the server shuts down gracefully (close frames, 1001) and a new one
    // comes up on the same port. The streams carry on, under new ids, with no error between.
    let restart = port.next();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once its sockets are closed")
        .unwrap()
        .unwrap();
    let common::Stoppable { stop, server, .. } =
        common::serve_until_stopped_on(restart.listen(64).unwrap(), examples::pubsub::app());
    let mut after_restart = 0;
    while after_restart < 3 {
        let item = next(&mut fast).await.expect("the stream goes on");
        let n = item.expect("no error across the restart");
        // The new subscription counts from 0 again: that is the server's restart showing.
        if n == 0 || after_restart > 0 {
            after_restart += 1;
        }
    }
    assert_ne!(fast.id(), first_id, "a new subscription on the new server");
    assert_eq!(
        client.call::<u64, _>("add", Some(&(2, 2))).await.unwrap(),
        4
    );
    assert!(next(&mut steady).await.unwrap().is_ok());

    // This time the new server refuses the fast clock's interval: that stream ends with the
    // method's own typed error; the steady one goes on.
    let restart = port.next();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let app = axum::Router::new().rpc("/rpc", RpcService::new(PubsubServer(Slower)));
    let _running = common::serve_until_stopped_on(restart.listen(64).unwrap(), app);
    let error = loop {
        match next(&mut fast).await.expect("an error before the end") {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    match error {
        CallError::Method(TooFast { min_interval_ms }) => assert_eq!(min_interval_ms, 1000),
        other => panic!("expected the refusal, TooFast, got {other:?}"),
    }
    assert!(next(&mut fast).await.is_none());
    for _ in 0..2 {
        next(&mut steady)
            .await
            .expect("the steady clock goes on")
            .expect("no error across the restart");
    }
}
