//! Graceful shutdown, against a server in this process: calls in flight finish, a kept-alive connection gets one more answer, the listen queue is served.

#[allow(unused_imports)]
use super::attacks::*;
#[allow(unused_imports)]
use super::limits::*;
#[allow(unused_imports)]
use super::spec_server::*;
#[allow(unused_imports)]
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn graceful_shutdown_finishes_calls_in_flight() {
    let endpoint = rpc_server::RpcService::new(LoadServer(Loader));
    let (url, stop, server) = serve_in_process(endpoint, Duration::from_secs(5)).await;
    let call = r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[500],"id":1}"#;
    let in_flight = tokio::spawn({
        let url = url.clone();
        async move { common::post(&url, call).await.json() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    stop.send(()).expect("the server listens for the signal");
    let answer = in_flight.await.expect("the call does not panic");
    assert_eq!(answer["result"], 500, "{answer}");
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stops once its calls are done")
        .expect("no panic")
        .expect("no error");
    assert!(asked.elapsed() < Duration::from_secs(2));
    let refused = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(call)
        .send()
        .await;
    assert!(refused.is_err(), "a stopped server answered");

    // A call that outlives the deadline is cut off, and the server still stops on time.
    let endpoint = rpc_server::RpcService::new(LoadServer(Loader)).call_timeout(None);
    let (url, stop, server) = serve_in_process(endpoint, Duration::from_millis(300)).await;
    let slow = tokio::spawn(async move {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[20000],"id":1}"#)
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    stop.send(()).expect("the server listens for the signal");
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stops at its deadline")
        .expect("no panic")
        .expect("no error");
    assert!(asked.elapsed() < Duration::from_secs(1));
    assert!(
        slow.await.expect("no panic").is_err(),
        "the cut-off call was answered"
    );
}

/// Sends one call on `stream` and reads its answer: the head (lower-cased) and the body.
pub(crate) async fn call_on(stream: &mut TcpStream, addr: &str, call: &str) -> (String, String) {
    let request = format!(
        "POST /rpc HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{call}",
        call.len()
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before a whole answer: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let head = head.to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("a content-length");
            if body.len() >= len {
                return (head, body.to_owned());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn graceful_shutdown_answers_one_more_call_on_a_kept_alive_connection() {
    // A load balancer keeps connections open and sends on them at any instant: one that the
    // server closed the moment it was told to stop could have a call on its way in, which the
    // balancer could then neither answer nor safely send elsewhere.
    let endpoint = rpc_server::RpcService::new(LoadServer(Loader));
    let (url, stop, server) = serve_in_process(endpoint, Duration::from_secs(5)).await;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/rpc")
        .to_owned();
    let call = r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[1],"id":1}"#;
    let mut used = TcpStream::connect(&addr).await.expect("connects");
    let mut idle = TcpStream::connect(&addr).await.expect("connects");
    let (head, _) = call_on(&mut used, &addr, call).await;
    assert!(!head.contains("connection: close"), "{head}");
    call_on(&mut idle, &addr, call).await;

    let asked = Instant::now();
    stop.send(()).expect("the server listens for the signal");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "a stopping server accepts no new connection"
    );
    let (head, body) = call_on(&mut used, &addr, call).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(body.contains(r#""result":1"#), "{body}");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(1), used.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "closed after the answer: {closed:?}"
    );

    // The connection nobody used is closed once idle for the grace (1 s), and then the server
    // has nothing left and returns.
    let closed = tokio::time::timeout(Duration::from_secs(3), idle.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "closed: {closed:?}");
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "closed before its grace: {:?}",
        asked.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stops once its connections are closed")
        .expect("no panic")
        .expect("no error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn graceful_shutdown_answers_connections_still_in_the_listen_queue() {
    // At the connection cap the server takes no new connection, but the kernel completes their
    // handshakes and their clients send: closing the listener would reset them, calls and all.
    let app = axum::Router::new().route(
        "/rpc",
        rpc_server::RpcService::new(LoadServer(Loader)).into_method_router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("bound").to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        rpc_server::serve(listener, app)
            .max_connections(1)
            .raise_file_limit(false)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let slow = r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[600],"id":1}"#;
    let quick = r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[1],"id":2}"#;
    let mut holder = TcpStream::connect(&addr).await.expect("connects");
    let holding = {
        let addr = addr.clone();
        tokio::spawn(async move { call_on(&mut holder, &addr, slow).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut queued = TcpStream::connect(&addr)
        .await
        .expect("the kernel completes the handshake");
    let waiting = {
        let addr = addr.clone();
        tokio::spawn(async move { call_on(&mut queued, &addr, quick).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server listens for the signal");

    let (head, body) = holding.await.expect("answered");
    assert!(body.contains(r#""result":600"#), "{head}\n{body}");
    let (head, body) = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("answered in time")
        .expect("answered, not reset");
    assert!(body.contains(r#""result":1"#), "{head}\n{body}");
    assert!(head.contains("connection: close"), "{head}");
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("the server stops")
        .expect("no panic")
        .expect("no error");
}
