//! How a socket ends, and what it holds meanwhile: closed by its client, by a graceful shutdown, by silence; the connection cap.

#[allow(unused_imports)]
use super::*;

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
async fn a_graceful_shutdown_closes_each_socket_with_a_close_frame() {
    let crate::common::Stoppable { addr, stop, server } =
        crate::common::serve_until_stopped(examples::pubsub::app()).await;
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
        b"GET /rpc HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
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

/// The close frame's code, when the server closes `socket` within 5 s.
async fn close_code(socket: &mut Socket) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code.into()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn sockets_count_against_the_connection_cap_and_an_idle_one_is_evicted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        rpc_server::serve(listener, examples::pubsub::app())
            .max_connections(2)
            .max_connections_per_peer(2)
            .into_future(),
    );
    let mut first = connect(addr).await;
    subscribe(&mut first, "subscribe_ticks", json!([60000]), 1).await;
    let mut second = connect(addr).await;
    // Both slots hold sockets. The second has no call and no subscription: it is idle, and
    // a third client takes its slot (close 1013, try again later); the first, which holds a
    // subscription, is never evicted.
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        post(
            addr,
            json!({"jsonrpc": "2.0", "method": "add", "params": [1, 1], "id": 1}),
        ),
    )
    .await
    .expect("served once the idle socket was evicted");
    assert_eq!(answer["result"], 2);
    assert_eq!(close_code(&mut second).await, Some(1013));
    send(
        &mut first,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 2], "id": 2}),
    )
    .await;
    loop {
        let message = next(&mut first).await;
        if message.get("id").is_some() {
            assert_eq!(message["result"], 4, "the busy socket still works");
            break;
        }
    }
}

#[tokio::test]
async fn a_socket_with_no_call_and_no_subscription_closes_at_the_idle_timeout_despite_pongs() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().rpc(
        "/rpc",
        RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
            .websocket_limits(WsLimits::default().ping_interval(Duration::from_millis(100))),
    );
    tokio::spawn(
        rpc_server::serve(listener, app)
            .idle_timeout(Duration::from_millis(800))
            .into_future(),
    );
    let mut idle = connect(addr).await;
    let mut busy = connect(addr).await;
    subscribe(&mut busy, "subscribe_ticks", json!([60000]), 1).await;
    // The client library answers every ping while it reads: pongs cross both sockets all
    // along, the busy one read meanwhile to answer its pings too.
    let started = std::time::Instant::now();
    let keep_reading = async {
        let until = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::timeout_at(until, busy.next()).await.is_ok() {}
    };
    let ((code, waited), ()) = tokio::join!(
        async {
            let code = close_code(&mut idle).await;
            (code, started.elapsed())
        },
        keep_reading
    );
    assert_eq!(code, Some(1000));
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
    // The socket with a subscription stays.
    send(
        &mut busy,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 2], "id": 2}),
    )
    .await;
    loop {
        let message = next(&mut busy).await;
        if message.get("id").is_some() {
            assert_eq!(message["result"], 4);
            break;
        }
    }
}
