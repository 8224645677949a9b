//! JSON-RPC over WebSocket on the RPC route, read with a plain WebSocket client
//! (tokio-tungstenite) so that every byte the server sends is checked: calls, batches and
//! notifications as over HTTP; subscriptions' ids, items, end, failure, unsubscribe; and every
//! per-connection limit, each pushed past.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _, stream};
use rpc_core::{ErrorObject, Subscription, rpc};
use rpc_server::{RouterExt as _, RpcService, WsLimits};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(app: axum::Router) -> std::net::SocketAddr {
    examples::spawn(app, "127.0.0.1:0").await.unwrap()
}

async fn pubsub() -> std::net::SocketAddr {
    serve(examples::pubsub::app()).await
}

async fn connect(addr: std::net::SocketAddr) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/rpc"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

/// The next text message as JSON, failing after 10 s.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// `body` posted over HTTP to the same route; the answer.
async fn post(addr: std::net::SocketAddr, body: Value) -> Value {
    let bytes = reqwest::Client::new()
        .post(format!("http://{addr}/rpc"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Subscribes with `method(params)` as call `id`; the subscription id.
async fn subscribe(socket: &mut Socket, method: &str, params: Value, id: u64) -> String {
    send(
        socket,
        json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}),
    )
    .await;
    let answer = next(socket).await;
    assert_eq!(
        answer["id"], id,
        "the subscribe answer comes first: {answer}"
    );
    answer["result"]
        .as_str()
        .unwrap_or_else(|| panic!("a subscription id: {answer}"))
        .to_owned()
}

#[tokio::test]
async fn calls_batches_and_notifications_work_over_the_socket_as_over_http() {
    let addr = pubsub().await;
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": "a"}),
    )
    .await;
    assert_eq!(
        next(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 5, "id": "a"})
    );
    send(
        &mut socket,
        json!([
            {"jsonrpc": "2.0", "method": "add", "params": {"a": 1, "b": 1}, "id": 1},
            {"jsonrpc": "2.0", "method": "add", "params": [1, 2]},
            {"jsonrpc": "2.0", "method": "nope", "id": 2}
        ]),
    )
    .await;
    let batch = next(&mut socket).await;
    assert_eq!(batch[0], json!({"jsonrpc": "2.0", "result": 2, "id": 1}));
    assert_eq!(batch[1]["error"]["code"], -32601);
    assert_eq!(batch.as_array().unwrap().len(), 2);
    // A notification gets nothing; a parse error gets its error, and the socket goes on.
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2]}),
    )
    .await;
    socket.send(Message::text("{nope")).await.unwrap();
    assert_eq!(next(&mut socket).await["error"]["code"], -32700);
    // HTTP on the same route still answers.
    let http = post(
        addr,
        json!({"jsonrpc": "2.0", "method": "add", "params": [40, 2], "id": 1}),
    )
    .await;
    assert_eq!(http["result"], 42);
}

#[tokio::test]
async fn a_subscription_sends_its_id_then_each_item_then_its_end() {
    let mut socket = connect(pubsub().await).await;
    let id = subscribe(&mut socket, "subscribe_counter", json!([10, 5]), 1).await;
    assert!(id.starts_with("0x") && id.len() == 18, "{id}");
    for n in 10..15 {
        assert_eq!(
            next(&mut socket).await,
            json!({"jsonrpc": "2.0", "method": "counter", "params": {"subscription": id, "result": n}})
        );
    }
    assert_eq!(
        next(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "counter", "params": {"subscription": id, "error": null}})
    );
    // The subscription is gone with its end.
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "unsubscribe_counter", "params": [id], "id": 2}),
    )
    .await;
    assert_eq!(next(&mut socket).await["result"], false);
}

#[tokio::test]
async fn unsubscribing_stops_the_items_and_answers_true_once() {
    let mut socket = connect(pubsub().await).await;
    let id = subscribe(&mut socket, "subscribe_ticks", json!([10]), 1).await;
    for n in 0..3 {
        assert_eq!(next(&mut socket).await["params"]["result"], n);
    }
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "unsubscribe_ticks", "params": {"subscription": id}, "id": 2}),
    )
    .await;
    // Items queued before the answer may come first; none after it.
    let answer = loop {
        let message = next(&mut socket).await;
        if message.get("id").is_some() {
            break message;
        }
        assert_eq!(message["method"], "tick");
    };
    assert_eq!(answer, json!({"jsonrpc": "2.0", "result": true, "id": 2}));
    let after = tokio::time::timeout(Duration::from_millis(150), socket.next()).await;
    assert!(after.is_err(), "nothing after unsubscribing: {after:?}");
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "unsubscribe_ticks", "params": [id], "id": 3}),
    )
    .await;
    assert_eq!(next(&mut socket).await["result"], false);
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "unsubscribe_ticks", "params": [], "id": 4}),
    )
    .await;
    assert_eq!(next(&mut socket).await["error"]["code"], -32602);
}

#[tokio::test]
async fn a_refused_subscription_is_a_typed_error_and_http_cannot_subscribe() {
    let addr = pubsub().await;
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [1], "id": 1}),
    )
    .await;
    let refused = next(&mut socket).await;
    assert_eq!(refused["error"]["code"], -32000);
    assert_eq!(refused["error"]["data"], json!({"min_interval_ms": 10}));

    let http = post(
        addr,
        json!({"jsonrpc": "2.0", "method": "subscribe_counter", "params": [1, 2], "id": 1}),
    )
    .await;
    assert_eq!(
        http["error"]["code"],
        rpc_core::ErrorCode::SUBSCRIPTION_NEEDS_WEBSOCKET
    );
}

/// Subscriptions whose streams fail, or flood.
#[rpc(server)]
pub trait Feeds {
    /// One item, then a failure.
    #[rpc(subscription = "flaky")]
    async fn subscribe_flaky(&self) -> Subscription<u32>;
    /// `size`-byte strings, as fast as they can go, forever.
    #[rpc(subscription = "blob")]
    async fn subscribe_blobs(&self, size: usize) -> Subscription<String>;
    /// An ordinary call.
    async fn ping(&self) -> String;
}

struct Feed {
    /// Blob streams dropped so far: an ended subscription's stream must be dropped.
    dropped: Arc<AtomicUsize>,
}

struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Feeds for Feed {
    async fn subscribe_flaky(&self) -> Subscription<u32> {
        Subscription::new(stream::iter([
            Ok(7),
            Err(ErrorObject::new(-32050, "feed lost").with_data("upstream")),
        ]))
    }

    async fn subscribe_blobs(&self, size: usize) -> Subscription<String> {
        let guard = CountDrop(self.dropped.clone());
        let blob = "x".repeat(size);
        Subscription::from_items(stream::repeat(blob).map(move |b| {
            let _ = &guard;
            b
        }))
    }

    async fn ping(&self) -> String {
        "pong".into()
    }
}

async fn feeds(limits: WsLimits) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let service = RpcService::new(FeedsServer(Feed {
        dropped: dropped.clone(),
    }))
    .websocket_limits(limits);
    (
        serve(axum::Router::new().rpc("/rpc", service)).await,
        dropped,
    )
}

#[tokio::test]
async fn a_failing_stream_ends_with_its_error_object() {
    let (addr, _) = feeds(WsLimits::default()).await;
    let mut socket = connect(addr).await;
    let id = subscribe(&mut socket, "subscribe_flaky", json!([]), 1).await;
    assert_eq!(next(&mut socket).await["params"]["result"], 7);
    assert_eq!(
        next(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "flaky", "params": {"subscription": id,
            "error": {"code": -32050, "message": "feed lost", "data": "upstream"}}})
    );
}

#[tokio::test]
async fn a_connection_holds_at_most_its_limit_of_subscriptions() {
    let (addr, _) = feeds(WsLimits::default().max_subscriptions(3)).await;
    let mut socket = connect(addr).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "method": "subscribe_flaky", "id": n}),
        )
        .await;
    }
    // Each answer, item and end; the ended ones free their slots, so hold three live ones.
    while ids.len() < 3 {
        let message = next(&mut socket).await;
        if let Some(id) = message["result"].as_str() {
            ids.push(id.to_owned());
        }
    }
    // Blobs never end: three of them fill the connection.
    let mut live = 0;
    let mut refused = None;
    for n in 10..20 {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "method": "subscribe_blobs", "params": [1], "id": n}),
        )
        .await;
        let answer = loop {
            let message = next(&mut socket).await;
            if message.get("id").is_some() {
                break message;
            }
        };
        if answer.get("result").is_some() {
            live += 1;
        } else {
            refused = Some(answer);
            break;
        }
    }
    assert_eq!(live, 3, "three subscriptions fit");
    let refused = refused.expect("the fourth is refused");
    assert_eq!(
        refused["error"]["code"],
        rpc_core::ErrorCode::TOO_MANY_SUBSCRIPTIONS
    );
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_loses_the_subscription_not_the_connection() {
    let (addr, dropped) = feeds(
        WsLimits::default()
            .subscription_buffer(4)
            .slow_reader_grace(Duration::from_millis(200)),
    )
    .await;
    let mut socket = connect(addr).await;
    let id = subscribe(&mut socket, "subscribe_blobs", json!([65536]), 1).await;
    // Read nothing until the socket's buffers and the subscription's are full, and the grace
    // has run out.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut items = 0;
    let last = loop {
        let message = next(&mut socket).await;
        assert_eq!(message["params"]["subscription"], id.as_str());
        if message["params"].get("error").is_some() {
            break message;
        }
        items += 1;
    };
    assert_eq!(
        last["params"]["error"]["code"],
        rpc_core::ErrorCode::SUBSCRIPTION_DROPPED,
        "{last}"
    );
    // What was held is bounded: the socket's own buffers plus four of 64 KiB.
    assert!(items < 1000, "{items} items were held for the slow reader");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the stream is dropped");
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "ping", "id": 2}),
    )
    .await;
    assert_eq!(next(&mut socket).await["result"], "pong");
}

#[tokio::test]
async fn closing_the_socket_drops_its_subscriptions() {
    let (addr, dropped) = feeds(WsLimits::default()).await;
    let mut socket = connect(addr).await;
    for n in 0..5 {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "method": "subscribe_blobs", "params": [16], "id": n}),
        )
        .await;
    }
    let mut answers = 0;
    while answers < 5 {
        let message = next(&mut socket).await;
        if message.get("id").is_some() {
            assert!(message["result"].is_string(), "{message}");
            answers += 1;
        }
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    socket.close(None).await.unwrap();
    drop(socket);
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) == 5 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{} of 5 streams dropped after the socket closed",
        dropped.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_thousand_subscriptions_across_twenty_sockets_each_get_every_item() {
    let addr = pubsub().await;
    let tasks = (0..20u64).map(|s| {
        tokio::spawn(async move {
            let mut socket = connect(addr).await;
            // 50 subscriptions sent at once; each answers its id, then 20 items, then its end.
            for n in 0..50u64 {
                send(
                    &mut socket,
                    json!({"jsonrpc": "2.0", "method": "subscribe_counter",
                        "params": [s * 1000 + n * 20, 20], "id": n}),
                )
                .await;
            }
            let mut starts = std::collections::HashMap::new();
            let mut next_item = std::collections::HashMap::new();
            let mut ended = 0;
            while ended < 50 {
                let message = next(&mut socket).await;
                if let Some(n) = message["id"].as_u64() {
                    let id = message["result"].as_str().unwrap().to_owned();
                    starts.insert(id.clone(), s * 1000 + n * 20);
                    next_item.insert(id, 0u64);
                    continue;
                }
                let id = message["params"]["subscription"].as_str().unwrap();
                let seen = next_item.get_mut(id).expect("an item after its id");
                if message["params"].get("error").is_some() {
                    assert_eq!(*seen, 20, "every item before the end");
                    ended += 1;
                } else {
                    assert_eq!(message["params"]["result"], starts[id] + *seen);
                    *seen += 1;
                }
            }
        })
    });
    for task in tasks.collect::<Vec<_>>() {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn subscriptions_go_through_the_middleware_like_calls() {
    let service = RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
        .authorize(|method| match method {
            "subscribe_ticks" => Err(ErrorObject::new(-32099, "not for you")),
            _ => Ok(()),
        });
    let addr = serve(axum::Router::new().rpc("/rpc", service)).await;
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [10], "id": 1}),
    )
    .await;
    assert_eq!(next(&mut socket).await["error"]["code"], -32099);
    subscribe(&mut socket, "subscribe_counter", json!([0, 1]), 2).await;
}

#[tokio::test]
async fn a_graceful_shutdown_closes_each_socket_with_a_close_frame() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        rpc_server::serve(listener, examples::pubsub::app())
            .with_graceful_shutdown(async {
                stopped.await.ok();
            })
            .into_future(),
    );
    let mut socket = connect(addr).await;
    subscribe(&mut socket, "subscribe_ticks", json!([1000]), 1).await;
    stop.send(()).unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1001);
    drop(socket);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once its sockets are closed")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_client_that_answers_no_ping_is_disconnected() {
    let (addr, _) = feeds(WsLimits::default().ping_interval(Duration::from_millis(100))).await;
    // A raw TCP client that completes the handshake and then reads nothing, answering no ping.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET /rpc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0; 4096];
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closes a silent connection");
    assert!(seen.starts_with(b"HTTP/1.1 101"));
    // A close frame (opcode 8) with code 1008 came before the end.
    assert!(
        seen.windows(4).any(|w| w == [0x88, 0x16, 0x03, 0xf0]),
        "a close frame with code 1008"
    );
}

#[tokio::test]
async fn a_message_over_the_body_limit_closes_the_socket() {
    let service = RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
        .max_body_bytes(1024);
    let addr = serve(axum::Router::new().rpc("/rpc", service)).await;
    let mut socket = connect(addr).await;
    let padding = "x".repeat(2048);
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": padding}),
    )
    .await;
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => break other,
            Err(_) => panic!("the socket stays open past the limit"),
        }
    };
    assert!(
        matches!(end, None | Some(Err(_)) | Some(Ok(Message::Close(_)))),
        "{end:?}"
    );
    // Under the limit, a new socket is served.
    let mut socket = connect(addr).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 1}),
    )
    .await;
    assert_eq!(next(&mut socket).await["result"], 3);
}

#[tokio::test]
async fn sockets_count_against_the_connection_cap_and_are_never_evicted_as_idle() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        rpc_server::serve(listener, examples::pubsub::app())
            .max_connections(2)
            .into_future(),
    );
    let mut first = connect(addr).await;
    let mut second = connect(addr).await;
    subscribe(&mut first, "subscribe_ticks", json!([60000]), 1).await;
    // A third client waits: both slots hold sockets, which are not idle connections to close.
    let third = tokio::spawn(async move {
        post(
            addr,
            json!({"jsonrpc": "2.0", "method": "add", "params": [1, 1], "id": 1}),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past the cap"
    );
    send(
        &mut first,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 2], "id": 2}),
    )
    .await;
    assert_eq!(
        next(&mut first).await["result"],
        4,
        "the sockets still work"
    );
    // One socket closes: its slot serves the waiting client.
    second.close(None).await.unwrap();
    drop(second);
    let answer = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once a socket closed")
        .unwrap();
    assert_eq!(answer["result"], 2);
}

#[tokio::test]
async fn a_page_from_another_site_cannot_open_a_socket_unless_its_origin_is_listed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let handshake = |addr: std::net::SocketAddr, origin: Option<&str>| {
        let mut request = format!("ws://{addr}/rpc").into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        async move {
            match tokio_tungstenite::connect_async(request).await {
                Ok((_, response)) => response.status().as_u16(),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(e) => panic!("{e}"),
            }
        }
    };
    let addr = pubsub().await;
    assert_eq!(
        handshake(addr, None).await,
        101,
        "a program sends no Origin"
    );
    let own = format!("http://{addr}");
    assert_eq!(
        handshake(addr, Some(&own)).await,
        101,
        "the endpoint's own page"
    );
    assert_eq!(handshake(addr, Some("https://evil.example")).await, 403);
    assert_eq!(handshake(addr, Some("null")).await, 403);

    let service = RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
        .websocket_origins(["https://app.example"]);
    let listed = serve(axum::Router::new().rpc("/rpc", service)).await;
    assert_eq!(handshake(listed, Some("https://app.example")).await, 101);
    assert_eq!(handshake(listed, Some("https://evil.example")).await, 403);
}

/// Calls that wait at a gate until the test opens it.
#[rpc(server)]
pub trait Gate {
    /// Waits for the gate, then answers how many calls had entered.
    async fn enter(&self) -> usize;
    /// How many calls have entered so far.
    async fn entered(&self) -> usize;
}

struct Gated {
    entered: Arc<AtomicUsize>,
    open: Arc<tokio::sync::Semaphore>,
}

impl Gate for Gated {
    async fn enter(&self) -> usize {
        let n = self.entered.fetch_add(1, Ordering::SeqCst) + 1;
        let _pass = self.open.acquire().await;
        n
    }

    async fn entered(&self) -> usize {
        self.entered.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_socket_runs_at_most_its_limit_of_calls_and_reads_no_further() {
    let open = Arc::new(tokio::sync::Semaphore::new(0));
    let service = RpcService::new(GateServer(Gated {
        entered: Arc::default(),
        open: open.clone(),
    }))
    .websocket_limits(WsLimits::default().max_calls(3));
    let addr = serve(axum::Router::new().rpc("/rpc", service)).await;
    let mut socket = connect(addr).await;
    for id in 0..10 {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "method": "enter", "id": id}),
        )
        .await;
    }
    // Three calls run; the other seven wait unread in the socket, costing the server nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let entered = post(
        addr,
        json!({"jsonrpc": "2.0", "method": "entered", "id": 1}),
    )
    .await;
    assert_eq!(entered["result"], 3, "{entered}");
    // Opened, every call is answered.
    open.add_permits(100);
    let mut answered = Vec::new();
    for _ in 0..10 {
        answered.push(next(&mut socket).await["id"].as_u64().unwrap());
    }
    answered.sort_unstable();
    assert_eq!(answered, (0..10).collect::<Vec<_>>());
}
