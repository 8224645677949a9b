//! Our WebSocket client against jsonrpsee's WebSocket server, over real sockets on 127.0.0.1:
//! the same wire format, written by someone else. Calls, batches and notifications; typed
//! subscription items; unsubscribing (the server's sink closes); streams the server ends or
//! fails; a dropped connection; reconnecting and resubscribing; a consumer too slow for its
//! buffer.
//!
//! Connections are dropped through a small TCP relay in front of the server, which can cut
//! every connection it carries and keeps accepting new ones.
//!
//! Not run by `cargo test --workspace` (it would build jsonrpsee): run it with
//! `cargo test -p rpc-bench --test jsonrpsee_ws`, as CI does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use jsonrpsee::core::{SubscriptionError, SubscriptionResult};
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use rpc_client::{Client, Method, Retry, Subscription};
use rpc_core::{CallError, Error, ErrorObject};
use serde_json::value::to_raw_value;
use tokio::sync::mpsc;

/// What the server reports about its subscriptions, for the tests to observe.
struct Observed {
    /// One message each time a `ticks` subscription's sink closes.
    sink_closed: mpsc::UnboundedSender<()>,
    /// Calls of `busy_twice` so far.
    busy_calls: AtomicUsize,
}

fn item(value: &impl serde::Serialize) -> SubscriptionMessage {
    SubscriptionMessage::from(to_raw_value(value).unwrap())
}

/// A jsonrpsee server with calls and subscriptions, on 127.0.0.1 port 0.
async fn serve() -> (SocketAddr, ServerHandle, mpsc::UnboundedReceiver<()>) {
    let (sink_closed, closed) = mpsc::unbounded_channel();
    let mut module = RpcModule::new(Observed {
        sink_closed,
        busy_calls: AtomicUsize::new(0),
    });
    module
        .register_method("subtract", |params, _, _| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(a - b)
        })
        .unwrap();
    module
        .register_method("echo", |params, _, _| {
            let (value,): (serde_json::Value,) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(value)
        })
        .unwrap();
    // The server's "busy" error for the first two calls, then an answer.
    module
        .register_method("busy_twice", |_, observed, _| {
            match observed.busy_calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(ErrorObjectOwned::owned(-32005, "Server busy", None::<()>)),
                n => Ok(n),
            }
        })
        .unwrap();
    module
        .register_async_method("sleep_ms", |params, _, _| async move {
            let (ms,): (u64,) = params.parse()?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ErrorObjectOwned>(ms)
        })
        .unwrap();
    // `count` items from `start`, then the end as the wire format has it: `"error": null`.
    module
        .register_subscription(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            |params, pending: PendingSubscriptionSink, _, _| async move {
                let (start, count): (u64, u32) = params.parse()?;
                let sink = pending.accept().await?;
                for n in start..start + u64::from(count) {
                    sink.send(item(&n)).await?;
                }
                Err::<(), _>(SubscriptionError::from_json(to_raw_value(&()).unwrap()))
            },
        )
        .unwrap();
    // One item, then a failure carrying an error object.
    module
        .register_subscription(
            "subscribe_failing",
            "failing",
            "unsubscribe_failing",
            |_, pending: PendingSubscriptionSink, _, _| async move {
                let sink = pending.accept().await?;
                sink.send(item(&"first")).await?;
                let error = serde_json::json!({"code": -32001, "message": "feed lost", "data": 7});
                Err::<(), _>(SubscriptionError::from_json(to_raw_value(&error).unwrap()))
            },
        )
        .unwrap();
    // A tick every `every_ms` (0: as fast as the socket takes them) until the sink closes,
    // which the server reports.
    module
        .register_subscription(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            |params, pending: PendingSubscriptionSink, observed: Arc<Observed>, _| async move {
                let (every_ms,): (u64,) = params.parse()?;
                let sink = pending.accept().await?;
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        sent = sink.send(item(&n)) => if sent.is_err() { break },
                    }
                    n += 1;
                    if every_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(every_ms)).await;
                    }
                }
                let _ = observed.sink_closed.send(());
                SubscriptionResult::Ok(())
            },
        )
        .unwrap();
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start(module), closed)
}

/// A TCP relay to `upstream` that can cut every connection it carries, and keeps accepting.
struct Relay {
    addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
    freeze: tokio::sync::watch::Sender<u64>,
    /// How many connections it carries now.
    open: Arc<AtomicUsize>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let (freeze, freezes) = tokio::sync::watch::channel(0u64);
        let open = Arc::new(AtomicUsize::new(0));
        let counted = open.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                let mut freezes = freezes.clone();
                freezes.mark_unchanged();
                let open = counted.clone();
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cuts.changed() => {}
                            // Silent from now on, both sockets held open: a dead route.
                            _ = freezes.changed() => { let _ = cuts.changed().await; }
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Relay {
            addr,
            cut,
            freeze,
            open,
        }
    }

    /// Drops every connection open now, both ways.
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Stops carrying anything over the connections open now, leaving them open.
    fn freeze(&self) {
        self.freeze.send_modify(|n| *n += 1);
    }
}

/// Asserts that `client` still answers calls.
async fn answers(client: &Client) {
    let difference: i64 = client.call("subtract", Some(&(3, 1))).await.unwrap();
    assert_eq!(difference, 2);
}

fn client(addr: SocketAddr) -> Client {
    Client::new(&format!("ws://{addr}")).unwrap()
}

async fn next<T: serde::de::DeserializeOwned>(
    sub: &mut Subscription<T>,
) -> Option<Result<T, CallError<ErrorObject>>> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an item or the end within 5 s")
}

/// The error a stream ends with, after any items still buffered; the stream then ends.
async fn error_then_end(sub: &mut Subscription<u64>) -> CallError<ErrorObject> {
    let error = loop {
        match next(sub).await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert!(next(sub).await.is_none(), "the stream ends after its error");
    error
}

#[tokio::test]
async fn calls_batches_and_notifications_share_one_socket() {
    let (addr, _server, _) = serve().await;
    let client = client(addr);
    let difference: i64 = client.call("subtract", Some(&(42, 23))).await.unwrap();
    assert_eq!(difference, 19);

    // Many calls in flight at once: each answer reaches its own caller.
    let calls = (0..200).map(|i| {
        let client = client.clone();
        async move { client.call::<u64, _>("echo", Some(&[i])).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), i as u64);
    }

    let mut batch = client.batch();
    let a = batch.call::<i64, _>("subtract", Some(&(10, 4)));
    let b = batch.call::<String, _>("echo", Some(&["two"]));
    let missing = batch.call::<i64, _>("no_such_method", None::<&()>);
    batch.notify("echo", Some(&[0]));
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.take(a).unwrap(), 6);
    assert_eq!(answers.take(b).unwrap(), "two");
    assert_eq!(answers.take(missing).unwrap_err().rpc_code(), Some(-32601));

    client.notify("echo", Some(&[1])).await.unwrap();
    let error = client
        .call::<i64, _>("subtract", Some(&["x"]))
        .await
        .unwrap_err();
    assert_eq!(error.rpc_code(), Some(-32602), "{error}");
}

#[tokio::test]
async fn the_client_timeout_applies_per_call() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = client.call::<u64, _>("sleep_ms", Some(&[2000])).await;
    assert!(matches!(slow, Err(Error::Timeout)), "{slow:?}");
    // The socket is still good for the next call.
    assert_eq!(
        client.call::<u64, _>("sleep_ms", Some(&[1])).await.unwrap(),
        1
    );
}

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
async fn the_server_s_busy_error_is_retried_for_idempotent_calls_only() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .retry(Retry::new(3).backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap();
    let busy = client.call::<usize, _>("busy_twice", None::<&()>).await;
    assert_eq!(busy.unwrap_err().rpc_code(), Some(-32005));
    let answer: usize = client
        .call(Method::idempotent("busy_twice"), None::<&()>)
        .await
        .unwrap();
    assert_eq!(answer, 2, "one busy answer more, then the answer");
}

#[tokio::test]
async fn an_answer_over_the_size_limit_fails_its_call_and_says_why() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .max_message_size(1024)
        .build()
        .unwrap();
    let long = "x".repeat(4000);
    let failed = client.call::<String, _>("echo", Some(&[&long])).await;
    let Err(Error::Transport(why)) = failed else {
        panic!("{failed:?}");
    };
    assert!(why.to_string().contains("Message too long"), "{why}");
    // The next call connects again.
    answers(&client).await;
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
