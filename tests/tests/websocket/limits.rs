//! Every per-connection limit, pushed past: subscriptions, a slow reader's buffer, message size, calls in flight, origins.

#[allow(unused_imports)]
use super::*;

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
pub(crate) trait Gate {
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

/// Sends `subscribe_blobs` as call `id` and reads until its answer, skipping items.
async fn subscribe_blob(socket: &mut Socket, id: u64) -> Value {
    send(
        socket,
        json!({"jsonrpc": "2.0", "method": "subscribe_blobs", "params": [1], "id": id}),
    )
    .await;
    loop {
        let message = next(socket).await;
        if message.get("id").is_some() {
            return message;
        }
    }
}

#[tokio::test]
async fn the_endpoint_holds_at_most_its_limit_of_subscriptions_over_all_sockets() {
    let (addr, _) = feeds(WsLimits::default().max_endpoint_subscriptions(4)).await;
    let mut first = connect(addr).await;
    let mut second = connect(addr).await;
    for id in 0..3 {
        assert!(subscribe_blob(&mut first, id).await["result"].is_string());
    }
    assert!(subscribe_blob(&mut second, 10).await["result"].is_string());
    let refused = subscribe_blob(&mut second, 11).await;
    assert_eq!(
        refused["error"]["code"],
        rpc_core::ErrorCode::TOO_MANY_SUBSCRIPTIONS,
        "{refused}"
    );
    // The first socket's close frees its three.
    first.close(None).await.unwrap();
    drop(first);
    let mut answer = Value::Null;
    for attempt in 0..50 {
        answer = subscribe_blob(&mut second, 100 + attempt).await;
        if answer["result"].is_string() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the closed socket's subscriptions were never freed: {answer}");
}
