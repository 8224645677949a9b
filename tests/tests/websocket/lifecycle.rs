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
