//! Serving over a Unix domain socket: message connections (Ethereum IPC framing) with the
//! connection layer's limits, the socket file's mode, a stale file replaced and a live one
//! refused, the file removed on shutdown; and HTTP over a Unix socket through the same `serve`.

use std::future::IntoFuture as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use rpc_core::framing::{Decoder, Frame, Framing};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;

/// A fresh directory for one test's socket.
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpc-unix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends `value` (Ethereum IPC framing: no delimiter at all) and reads the next message.
async fn exchange(stream: &mut UnixStream, decoder: &mut Decoder, value: Value) -> Value {
    stream
        .write_all(value.to_string().as_bytes())
        .await
        .unwrap();
    next(stream, decoder).await.expect("an answer")
}

async fn next(stream: &mut UnixStream, decoder: &mut Decoder) -> Option<Value> {
    loop {
        if let Some(Frame::Message(bytes)) = decoder.next_frame() {
            return Some(serde_json::from_slice(&bytes).unwrap());
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("within 10 s")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        decoder.extend(&chunk[..n]);
    }
}

#[tokio::test]
async fn messages_over_a_unix_socket_with_the_servers_limits() {
    let dir = dir("messages");
    let path = dir.join("pubsub.ipc");
    let socket = rpc_server::UnixSocket::bind(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner may connect");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let endpoint =
        rpc_server::RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live));
    let server = tokio::spawn(
        rpc_server::serve_messages(socket, endpoint, Framing::Ethereum)
            .max_connections(2)
            .idle_timeout(Duration::from_millis(600))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let mut stream = UnixStream::connect(&path).await.unwrap();
    let mut decoder = Decoder::new(Framing::Ethereum, 1 << 20);
    let answer = exchange(
        &mut stream,
        &mut decoder,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1}),
    )
    .await;
    assert_eq!(answer, json!({"jsonrpc": "2.0", "result": 5, "id": 1}));
    let batch = exchange(
        &mut stream,
        &mut decoder,
        json!([{"jsonrpc": "2.0", "method": "add", "params": [1, 1], "id": 2}, {"jsonrpc": "2.0", "method": "add", "params": [1, 1]}]),
    )
    .await;
    assert_eq!(batch, json!([{"jsonrpc": "2.0", "result": 2, "id": 2}]));
    // A subscription: its id, then its items, then its end.
    let id = exchange(
        &mut stream,
        &mut decoder,
        json!({"jsonrpc": "2.0", "method": "subscribe_counter", "params": [1, 2], "id": 3}),
    )
    .await["result"]
        .clone();
    let mut items = Vec::new();
    while let Some(message) = next(&mut stream, &mut decoder).await {
        assert_eq!(message["params"]["subscription"], id);
        match message["params"].get("result") {
            Some(item) => items.push(item.clone()),
            None => break,
        }
    }
    assert_eq!(items, [json!(1), json!(2)]);
    // A connection with no call and no subscription is closed at the idle timeout.
    let mut idle = UnixStream::connect(&path).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed after {:?}",
        started.elapsed()
    );
    // The graceful shutdown ends the server and removes the socket file.
    drop(stream);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!path.exists(), "the socket file is removed on shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced_and_a_live_one_is_not() {
    let dir = dir("stale");
    let path = dir.join("node.ipc");
    // A socket file left by a server that died: nothing listens on it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let live = rpc_server::UnixSocket::bind(&path).expect("a stale file is replaced");
    // While it listens, a second server is refused, and the file stays.
    let refused = rpc_server::UnixSocket::bind(&path).expect_err("a live socket is kept");
    assert_eq!(refused.kind(), std::io::ErrorKind::AddrInUse);
    assert!(path.exists());
    drop(live);
    assert!(!path.exists(), "removed when the socket is dropped");
    // A file that is no socket is never removed.
    std::fs::write(&path, b"data").unwrap();
    let refused = rpc_server::UnixSocket::bind(&path).expect_err("not a socket");
    assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn http_over_a_unix_socket() {
    let dir = dir("http");
    let path = dir.join("api.sock");
    let socket = rpc_server::UnixSocket::bind(&path)
        .unwrap()
        .mode(0o660)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o660
    );
    tokio::spawn(rpc_server::serve(socket, examples::pubsub::app()).into_future());
    let mut stream = UnixStream::connect(&path).await.unwrap();
    let call = r#"{"jsonrpc":"2.0","method":"add","params":[20,22],"id":1}"#;
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{call}",
        call.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with(r#"{"jsonrpc":"2.0","result":42,"id":1}"#),
        "{answer}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The typed client over a Unix socket in each framing is the transports suite's
/// (`tests/transports.rs`); here, a socket nothing listens on.
#[tokio::test]
async fn a_unix_socket_nothing_listens_on_is_a_transport_error_naming_it() {
    let dir = dir("client");
    let client =
        examples::pubsub::PubsubClient::new(&format!("unix://{}", dir.join("none.ipc").display()))
            .unwrap();
    let error = client.add(1, 1).await.unwrap_err().to_string();
    assert!(error.contains("none.ipc"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_unix_url_without_a_path_is_refused_at_build() {
    let error = rpc_client::Client::new("unix://host/x")
        .unwrap_err()
        .to_string();
    assert!(error.contains("unix:///path"), "{error}");
}

#[tokio::test]
async fn over_a_unix_socket_the_connection_cap_and_the_slow_reader_policy_hold() {
    let dir = dir("limits");
    let path = dir.join("limits.ipc");
    let socket = rpc_server::UnixSocket::bind(&path).unwrap();
    let limits = rpc_server::WsLimits::default()
        .subscription_buffer(4)
        .slow_reader_grace(Duration::from_millis(200))
        .max_queued_bytes(64 * 1024);
    let endpoint =
        rpc_server::RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
            .websocket_limits(limits);
    tokio::spawn(
        rpc_server::serve_messages(socket, endpoint, Framing::Ethereum)
            .max_connections(2)
            .into_future(),
    );
    // A reader that stops reading: its subscription is dropped with -32009 once its buffer
    // stays full past the grace, and the items it did not read are not kept for it.
    let mut slow = UnixStream::connect(&path).await.unwrap();
    let mut decoder = Decoder::new(Framing::Ethereum, 1 << 20);
    let id = exchange(&mut slow, &mut decoder, json!({"jsonrpc": "2.0", "method": "subscribe_counter", "params": [0, 1_000_000_000u64], "id": 1})).await["result"].clone();
    // A second connection holds a subscription too: both slots are busy.
    let mut busy = UnixStream::connect(&path).await.unwrap();
    let mut busy_decoder = Decoder::new(Framing::Ethereum, 1 << 20);
    exchange(
        &mut busy,
        &mut busy_decoder,
        json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [60000], "id": 1}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut items = 0u64;
    let end = loop {
        let message = next(&mut slow, &mut decoder)
            .await
            .expect("the connection goes on");
        assert_eq!(message["params"]["subscription"], id);
        match message["params"].get("error") {
            Some(error) => break error.clone(),
            None => items += 1,
        }
    };
    assert_eq!(end["code"], -32009, "{end}");
    assert!(
        items < 1_000_000,
        "{items} items were kept for a reader that stopped"
    );
    // A third connection at the cap of 2: the slow one, which has no call and no subscription
    // left, is idle and is closed for it; the busy one is kept.
    let mut third = UnixStream::connect(&path).await.unwrap();
    third
        .write_all(br#"{"jsonrpc":"2.0","method":"add","params":[1,1],"id":1}"#)
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .contains(r#""result":2"#)
    );
    assert_eq!(
        next(&mut slow, &mut decoder).await,
        None,
        "the idle connection was closed"
    );
    let answer = exchange(
        &mut busy,
        &mut busy_decoder,
        json!({"jsonrpc": "2.0", "method": "add", "params": [2, 2], "id": 2}),
    )
    .await;
    assert_eq!(answer["result"], 4, "the busy connection was kept");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether the server closes `stream` within `within`: reads until the end (or an error).
async fn closed_within(stream: &mut UnixStream, within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    tokio::time::timeout(within, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// The receive budget and deadline hold over a Unix socket as over TCP: unfinished messages
/// count against `max_receiving_bytes` (past it, the connection receiving the most is closed)
/// and each must be whole within `receive_deadline`; an honest client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_unix_socket_unfinished_messages_are_bounded_and_cut_at_the_deadline() {
    let dir = dir("receiving");
    let path = dir.join("pubsub.ipc");
    let socket = rpc_server::UnixSocket::bind(&path).unwrap();
    let endpoint =
        rpc_server::RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live));
    let server = tokio::spawn(
        rpc_server::serve_messages(socket, endpoint, Framing::ContentLength)
            .max_receiving_bytes(1 << 20)
            .receive_deadline(Duration::from_millis(1500))
            .into_future(),
    );
    let head = |len: usize| format!("Content-Length: {len}\r\n\r\n");
    // The first sends 700 KiB of a 900 KiB message; the second 500 KiB of its own: together
    // past the 1 MiB budget, so the one receiving the most is closed.
    let mut big = UnixStream::connect(&path).await.unwrap();
    big.write_all(head(900 << 10).as_bytes()).await.unwrap();
    big.write_all(&vec![b' '; 700 << 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut small = UnixStream::connect(&path).await.unwrap();
    small.write_all(head(600 << 10).as_bytes()).await.unwrap();
    small.write_all(&vec![b' '; 500 << 10]).await.unwrap();
    assert!(
        closed_within(&mut big, Duration::from_secs(1)).await,
        "the connection receiving the most is closed past the budget"
    );
    // An honest client is served while `small` holds its unfinished message.
    let mut honest = UnixStream::connect(&path).await.unwrap();
    let call = json!({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1}).to_string();
    honest
        .write_all(format!("{}{call}", head(call.len())).as_bytes())
        .await
        .unwrap();
    let mut decoder = Decoder::new(Framing::ContentLength, 1 << 20);
    let answer = next(&mut honest, &mut decoder).await.expect("an answer");
    assert_eq!(answer["result"], 5, "{answer}");
    // `small` never finishes its message: closed at the receive deadline, not before.
    let started = std::time::Instant::now();
    assert!(
        closed_within(&mut small, Duration::from_secs(5)).await,
        "an unfinished message is cut at the deadline"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
