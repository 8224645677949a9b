//! Calls, batches and subscriptions on the wire, byte for byte, and through the middleware.

#[allow(unused_imports)]
use super::*;

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
