//! One client cannot take over: the WebSocket and slow-body attacks of issue 16 against the
//! `pubsub` and `spec_server` programs as child processes. Each attack comes from 127.0.0.2,
//! another peer than the honest client on 127.0.0.1, and asserts bounded memory (the child's
//! RSS), the honest client served throughout, and the attack's connections closed where a
//! limit says so.

#[allow(unused_imports)]
use super::spec_server::*;
#[allow(unused_imports)]
use super::*;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A TCP connection to `addr` from 127.0.0.2; with `small_window`, a receive buffer of 4 KiB,
/// so that what the server sends and the client does not read stays in the server.
pub(crate) async fn from_attacker(addr: SocketAddr, small_window: bool) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.2:0".parse().expect("an address"))
        .expect("127.0.0.2 is loopback");
    if small_window {
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    }
    socket.connect(addr).await.expect("connects")
}

/// A WebSocket from 127.0.0.2.
async fn attacker_ws(addr: SocketAddr, small_window: bool) -> Ws {
    let stream = from_attacker(addr, small_window).await;
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/rpc"), stream)
        .await
        .expect("a WebSocket");
    ws
}

/// One honest `add` call to `pubsub` on a new connection, answered right within 5 s.
async fn honest_add(addr: SocketAddr) -> Duration {
    let start = Instant::now();
    let answer: Value = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
        .post(format!("http://{addr}/rpc"))
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 1}).to_string())
        .send()
        .await
        .expect("the honest client is answered")
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).expect("a JSON answer"))
        .expect("an answer");
    assert_eq!(answer["result"], 3, "{answer}");
    start.elapsed()
}

/// Honest calls every 100 ms while `attack` runs, and one after; their latencies.
async fn honest_during(addr: SocketAddr, attack: impl Future<Output = ()>) -> Vec<Duration> {
    let latencies = std::sync::Mutex::new(Vec::new());
    let honest = async {
        for _ in 0..300 {
            let latency = honest_add(addr).await;
            latencies.lock().expect("not poisoned").push(latency);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        () = attack => {}
        () = honest => panic!("the attack did not end"),
    }
    let mut latencies = latencies.into_inner().expect("not poisoned");
    latencies.push(honest_add(addr).await);
    latencies
}

fn subscribe_batch(method: &str, params: Value, n: usize) -> String {
    let calls: Vec<Value> = (0..n)
        .map(|id| json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}))
        .collect();
    Value::Array(calls).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn subscribers_that_never_read_stay_within_the_outbound_budget() {
    let mut server = SpecServer::pubsub(4096, &[]);
    honest_add(server.addr).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    // 12 sockets, each subscribing 1024 counters that push as fast as they can, never read:
    // past the peer's 10,000 subscriptions the rest are refused, and every queue is capped.
    let mut sockets = Vec::new();
    let batch = subscribe_batch("subscribe_counter", json!([0, 4_000_000_000u64]), 1024);
    let latencies = honest_during(server.addr, async {
        for _ in 0..12 {
            let mut ws = attacker_ws(server.addr, true).await;
            ws.send(Message::text(batch.clone())).await.expect("sent");
            sockets.push(ws);
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    })
    .await;
    // Another peer still gets a subscription of its own: the endpoint's cap was not taken.
    let mut honest = tokio_tungstenite::connect_async(format!("ws://{}/rpc", server.addr))
        .await
        .expect("the honest socket")
        .0;
    honest
        .send(Message::text(
            json!({"jsonrpc": "2.0", "method": "subscribe_counter", "params": [5, 2], "id": 1})
                .to_string(),
        ))
        .await
        .expect("sent");
    let mut items = Vec::new();
    while items.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(5), honest.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("read");
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).expect("JSON");
        if let Some(item) = value["params"]["result"].as_u64() {
            items.push(item);
        } else {
            assert!(value["result"].is_string(), "subscribed: {value}");
        }
    }
    assert_eq!(items, [5, 6]);
    let peak = sampler.peak_kib();
    eprintln!(
        "unread subscriptions: rss before {before} KiB, peak {peak} KiB, honest calls {latencies:?}"
    );
    server.assert_alive();
    assert!(
        peak < before + 256 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)));
    drop(sockets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn unread_answers_stay_within_the_outbound_budget() {
    let mut server = SpecServer::pubsub(4096, &[]);
    honest_add(server.addr).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    // 10 sockets × 64 messages, each a batch of 1024 `rpc.discover` (megabytes of answer
    // from 50 KB), never read.
    let batch = subscribe_batch("rpc.discover", Value::Null, 1024).replace(r#","params":null"#, "");
    let mut sockets = Vec::new();
    let latencies = honest_during(server.addr, async {
        for _ in 0..10 {
            let mut ws = attacker_ws(server.addr, true).await;
            for _ in 0..64 {
                // The server stops reading a socket whose answers wait unread: a send may
                // block for good, which is the point.
                if tokio::time::timeout(
                    Duration::from_millis(200),
                    ws.send(Message::text(batch.clone())),
                )
                .await
                .is_err()
                {
                    break;
                }
            }
            sockets.push(ws);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let peak = sampler.peak_kib();
    eprintln!(
        "unread answers: rss before {before} KiB, peak {peak} KiB, honest calls {latencies:?}"
    );
    server.assert_alive();
    assert!(
        peak < before + 384 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)));
    drop(sockets);
}

/// A raw WebSocket handshake on `stream`; panics unless answered `101`.
async fn raw_handshake(stream: &mut TcpStream, addr: SocketAddr) {
    let request = format!(
        "GET /rpc HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream
            .read_exact(&mut byte)
            .await
            .expect("a handshake answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

/// A client frame's head: `first` (FIN and opcode), masked with a zero key (the payload goes as
/// it is), of `len` bytes.
fn frame_head(first: u8, len: u64) -> Vec<u8> {
    let mut head = vec![first, 0x80 | 127];
    head.extend_from_slice(&len.to_be_bytes());
    head.extend_from_slice(&[0, 0, 0, 0]);
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn unfinished_websocket_messages_are_bounded_and_closed_at_the_deadline() {
    let mut server = SpecServer::pubsub(4096, &["--receive-deadline", "3000"]);
    honest_add(server.addr).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut sockets = Vec::new();
    let latencies = honest_during(server.addr, async {
        // 30 sockets, each sending 9 MiB of a first fragment that is never finished: 270 MiB,
        // past the 64 MiB being received that the server holds.
        for _ in 0..30 {
            let mut stream = from_attacker(server.addr, false).await;
            raw_handshake(&mut stream, server.addr).await;
            let _ = stream.write_all(&frame_head(0x01, 9 * 1024 * 1024)).await;
            for _ in 0..9 {
                if stream.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            sockets.push(stream);
        }
    })
    .await;
    let started = Instant::now();
    let closed = futures_util::future::join_all(
        sockets
            .iter_mut()
            .map(|s| closed_by_server(s, Duration::from_secs(5))),
    )
    .await;
    let peak = sampler.peak_kib();
    eprintln!(
        "unfinished messages: rss before {before} KiB, peak {peak} KiB, all closed in {:?}, honest calls {latencies:?}",
        started.elapsed()
    );
    server.assert_alive();
    assert!(
        closed.iter().all(|(c, _)| *c),
        "an unfinished message was kept"
    );
    assert!(
        peak < before + 256 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn slow_bodies_are_bounded_and_cut_at_the_receive_deadline() {
    let mut server = SpecServer::start(4096, &["--receive-deadline", "3000"]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let chunk = vec![b' '; 1024 * 1024];
    let declared = 10 * 1024 * 1024;
    let head = format!(
        "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    let mut streams = Vec::new();
    // 40 bodies of 10 MiB, all but 200 bytes sent, then a byte every 500 ms: 400 MiB, past the
    // 64 MiB being received that the server holds; each under the 30 s between bytes.
    for _ in 0..40 {
        let mut stream = from_attacker(server.addr, false).await;
        let _ = stream.write_all(head.as_bytes()).await;
        let mut sent = 0;
        while sent + chunk.len() <= declared - 200 {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        streams.push(stream);
    }
    let latency = honest_call(&server.url()).await;
    let started = Instant::now();
    let trickle = async {
        loop {
            for stream in &mut streams {
                let _ = stream.write_all(b" ").await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        () = trickle => {}
        () = tokio::time::sleep(Duration::from_secs(4)) => {}
    }
    let closed = futures_util::future::join_all(
        streams
            .iter_mut()
            .map(|s| closed_by_server(s, Duration::from_secs(3))),
    )
    .await;
    let peak = sampler.peak_kib();
    eprintln!(
        "slow bodies: rss before {before} KiB, peak {peak} KiB, closed after {:?}, honest call {latency:?}",
        started.elapsed()
    );
    server.assert_alive();
    assert!(
        closed.iter().all(|(c, _)| *c),
        "a slow body was kept past the deadline"
    );
    assert!(
        peak < before + 160 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(
        latency < Duration::from_secs(2),
        "honest call took {latency:?}"
    );
    honest_call(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn one_peer_cannot_hold_every_connection_slot() {
    let mut server = SpecServer::pubsub(4096, &["--max-connections", "100"]);
    honest_add(server.addr).await;
    // 100 idle sockets from one peer (its share is 50: its own idlest make room for the rest),
    // then 100 with a subscription each (busy: past the share they are refused).
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(attacker_ws(server.addr, false).await);
    }
    let mut latencies = Vec::new();
    for _ in 0..5 {
        latencies.push(honest_add(server.addr).await);
    }
    let mut busy = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let stream = from_attacker(server.addr, false).await;
        match tokio_tungstenite::client_async(format!("ws://{}/rpc", server.addr), stream).await {
            Ok((mut ws, _)) => {
                let subscribed = async {
                    ws.send(Message::text(
                        json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [60000], "id": 1})
                            .to_string(),
                    ))
                    .await
                    .ok()?;
                    ws.next().await?.ok()
                };
                match tokio::time::timeout(Duration::from_secs(2), subscribed).await {
                    Ok(Some(Message::Text(_))) => busy.push(ws),
                    _ => refused += 1,
                }
            }
            Err(_) => refused += 1,
        }
    }
    for _ in 0..5 {
        latencies.push(honest_add(server.addr).await);
    }
    eprintln!(
        "one peer's connections: {} busy sockets kept, {refused} refused; honest calls {latencies:?}",
        busy.len()
    );
    server.assert_alive();
    assert!(
        busy.len() <= 50,
        "{} busy sockets from one peer",
        busy.len()
    );
    assert!(refused >= 50);
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_last_free_slot_serves_every_new_client() {
    let mut server = SpecServer::pubsub(
        4096,
        &["--max-connections", "4", "--max-connections-per-peer", "3"],
    );
    // Three slots hold sockets with a subscription: busy, never evicted.
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut ws = attacker_ws(server.addr, false).await;
        ws.send(Message::text(
            json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [60000], "id": 1})
                .to_string(),
        ))
        .await
        .expect("sent");
        ws.next().await.expect("an answer").expect("read");
        busy.push(ws);
    }
    // Every new client on the last slot is served, one after another.
    for _ in 0..30 {
        honest_add(server.addr).await;
    }
    server.assert_alive();
}
