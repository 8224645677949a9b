//! The smaller points: a protocol error closes a WebSocket with its code; a flood of callers'
//! mistakes does not flood the log, nor does a huge `Origin`; an idle keep-alive connection
//! lasts the idle timeout, not the head's.

use std::future::IntoFuture as _;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// A raw WebSocket on the `pubsub` example after its handshake.
async fn raw_socket() -> tokio::net::TcpStream {
    let addr = examples::spawn(examples::pubsub::app(), "127.0.0.1:0")
        .await
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /rpc HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream
}

/// The code of the close frame the server sends next, within 5 s.
async fn close_code(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    let mut frame = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut frame)).await;
    match read {
        Ok(Ok(_)) if frame[0] == 0x88 && frame[1] >= 2 => {
            Some(u16::from_be_bytes([frame[2], frame[3]]))
        }
        _ => None,
    }
}

#[tokio::test]
async fn protocol_errors_close_the_socket_with_their_codes() {
    // A text message that is not UTF-8: 1007.
    let mut stream = raw_socket().await;
    stream
        .write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe])
        .await
        .unwrap();
    assert_eq!(close_code(&mut stream).await, Some(1007));
    // A frame a client sent unmasked: 1002.
    let mut stream = raw_socket().await;
    stream.write_all(&[0x81, 0x02, b'{', b'}']).await.unwrap();
    assert_eq!(close_code(&mut stream).await, Some(1002));
    // A frame over the message limit (10 MiB), refused from its head: 1009.
    let mut stream = raw_socket().await;
    let mut head = vec![0x81, 0x80 | 127];
    head.extend_from_slice(&(11u64 * 1024 * 1024).to_be_bytes());
    head.extend_from_slice(&[0, 0, 0, 0]);
    stream.write_all(&head).await.unwrap();
    assert_eq!(close_code(&mut stream).await, Some(1009));
}

#[tokio::test]
async fn a_batch_of_mistakes_and_a_huge_origin_do_not_flood_the_log() {
    let captured = common::Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber());
    let addr = examples::spawn(examples::pubsub::app(), "127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("http://{addr}/rpc");
    let batch: Vec<Value> = (0..1024)
        .map(|id| json!({"jsonrpc": "2.0", "method": "nope", "id": id}))
        .collect();
    let answer = common::post(&url, &Value::Array(batch).to_string())
        .await
        .json();
    assert_eq!(answer.as_array().map(Vec::len), Some(1024));
    // A handshake from another site with a 60 KB Origin: refused, and logged clipped.
    let origin = format!("http://{}.example", "a".repeat(60_000));
    let refused = reqwest::Client::new()
        .get(&url)
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let logs = captured.text();
    let warnings = logs.lines().filter(|l| l.contains(" WARN ")).count();
    // 20 a second: the batch and the handshake may fall across two seconds' worth.
    assert!(
        warnings <= 40,
        "{warnings} WARN lines for one batch and one handshake"
    );
    // The rest are still there, at DEBUG.
    let all = logs
        .lines()
        .filter(|l| l.contains("call refused or failed"))
        .count();
    assert!(all >= 1024, "{all} lines of the batch's 1024 mistakes");
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 2000, "a log line of {longest} bytes");
    assert!(logs.contains("another site's page is refused"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_lasts_the_idle_timeout_not_the_head_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        rpc_server::serve(listener, examples::pubsub::app())
            .header_timeout(Duration::from_millis(300))
            .idle_timeout(Duration::from_millis(1500))
            .into_future(),
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let call = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{call}",
        call.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let idle_from = std::time::Instant::now();
    // Past the head timeout, the connection still takes a request.
    tokio::time::sleep(Duration::from_millis(800)).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "kept alive past the head timeout"
    );
    // Then idle: closed at the idle timeout.
    let idle_from = idle_from.max(std::time::Instant::now());
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0);
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(1300) && idle < Duration::from_millis(3000),
        "closed after {idle:?} idle"
    );
    // A head started and not finished is cut at the head timeout.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /rpc HTTP/1.1\r\nHost: x")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    let took = started.elapsed();
    assert!(
        n == 0 || buf[..n].starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(
        took < Duration::from_millis(1200),
        "a slow head was held {took:?}"
    );
}
