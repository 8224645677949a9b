//! The RPC layer's limits, against a server in this process: call timeout, concurrency cap, answer size.

#[allow(unused_imports)]
use super::attacks::*;
#[allow(unused_imports)]
use super::shutdown::*;
#[allow(unused_imports)]
use super::spec_server::*;
#[allow(unused_imports)]
use super::*;

/// A service whose calls take as long, and answer as much, as they are asked to.
#[rpc]
pub(crate) trait Load {
    /// Sleeps `ms` milliseconds, then returns them.
    async fn sleep_ms(&self, ms: u64) -> u64;

    /// A string of `len` bytes.
    async fn blob(&self, len: usize) -> String;
}

pub(crate) struct Loader;

impl Load for Loader {
    async fn sleep_ms(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    async fn blob(&self, len: usize) -> String {
        "x".repeat(len)
    }
}

/// Serves `endpoint` in this process through `rpc_server::serve`, stopping when `stop` fires.
pub(crate) async fn serve_in_process(
    endpoint: rpc_server::RpcService<LoadServer<Loader>>,
    deadline: Duration,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let app = axum::Router::new().route("/rpc", endpoint.into_method_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}/rpc", listener.local_addr().expect("bound"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        rpc_server::serve(listener, app)
            .shutdown_deadline(deadline)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    (url, stop, server)
}

/// Where [`one_message`] sends.
#[derive(Clone, Copy, Debug)]
enum Over {
    Http,
    WebSocket,
    Unix,
}

/// Sends `body` over a connection of its own to the endpoint (`url` over HTTP and WebSocket,
/// `socket` over a Unix socket, newline-framed) and returns the answer.
async fn one_message(over: Over, url: &str, socket: &std::path::Path, body: &Value) -> Value {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    match over {
        Over::Http => common::post(url, &body.to_string()).await.json(),
        Over::WebSocket => {
            let ws = url.replacen("http", "ws", 1);
            let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
            let text = tokio_tungstenite::tungstenite::Message::text(body.to_string());
            socket.send(text).await.unwrap();
            loop {
                match socket.next().await.unwrap().unwrap() {
                    tokio_tungstenite::tungstenite::Message::Text(text) => {
                        break serde_json::from_str(&text).unwrap();
                    }
                    _ => continue,
                }
            }
        }
        Over::Unix => {
            let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
            let (reader, mut writer) = stream.into_split();
            writer
                .write_all(format!("{body}\n").as_bytes())
                .await
                .unwrap();
            let mut line = String::new();
            tokio::io::BufReader::new(reader)
                .read_line(&mut line)
                .await
                .unwrap();
            serde_json::from_str(&line).unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_batch_gives_back_the_slots_of_its_calls_done_at_once() {
    let dir = std::env::temp_dir().join(format!("rpc-batch-slots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for over in [Over::Http, Over::WebSocket, Over::Unix] {
        let endpoint = rpc_server::RpcService::new(LoadServer(Loader))
            .max_concurrent_calls(3)
            .busy_wait(Duration::from_millis(50));
        let path = dir.join(format!("{over:?}.ipc"));
        let unix = rpc_server::UnixSocket::bind(&path).unwrap();
        let over_unix = tokio::spawn(std::future::IntoFuture::into_future(
            rpc_server::serve_messages(unix, endpoint.clone(), rpc_core::framing::Framing::Newline),
        ));
        let (url, _stop, _server) = serve_in_process(endpoint, Duration::from_secs(1)).await;
        let send = |body: Value| {
            let (url, path) = (url.clone(), path.clone());
            tokio::spawn(async move { one_message(over, &url, &path, &body).await })
        };
        let call = |id: u32, ms: u64| json!({"jsonrpc": "2.0", "method": "sleep_ms", "params": [ms], "id": id});
        let quick = |id: u32| json!({"jsonrpc": "2.0", "method": "blob", "params": [1], "id": id});
        // The batch takes its three slots at once; its two quick calls give theirs back while
        // its slow one runs, and two other calls take them meanwhile.
        let batch = send(json!([call(1, 600), quick(2), quick(3)]));
        tokio::time::sleep(Duration::from_millis(150)).await;
        let others = send(json!([call(4, 200), call(5, 200)])).await.unwrap();
        assert_eq!(others[0]["result"], 200, "{over:?}: {others}");
        assert_eq!(others[1]["result"], 200, "{over:?}: {others}");
        // A third is one too many while the slow call holds its slot.
        let over_limit = send(json!([call(6, 400), call(7, 400)]));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let busy = send(quick(8)).await.unwrap();
        assert_eq!(
            busy["error"]["code"],
            rpc_core::ErrorCode::SERVER_BUSY,
            "{over:?}: {busy}"
        );
        let answers = batch.await.unwrap();
        assert_eq!(answers[0]["result"], 600, "{over:?}: {answers}");
        let over_limit = over_limit.await.unwrap();
        assert_eq!(over_limit[1]["result"], 400, "{over:?}: {over_limit}");
        // Every slot is back once the batch is answered.
        let all = send(json!([call(9, 1), call(10, 1), call(11, 1)]))
            .await
            .unwrap();
        assert!((0..3).all(|i| all[i]["result"] == 1), "{over:?}: {all}");
        over_unix.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn calls_over_a_limit_get_a_json_rpc_error() {
    let endpoint = rpc_server::RpcService::new(LoadServer(Loader))
        .call_timeout(Duration::from_millis(300))
        .max_concurrent_calls(2)
        .busy_wait(Duration::from_millis(50))
        .max_response_bytes(1000);
    let (url, _stop, _server) = serve_in_process(endpoint, Duration::from_secs(1)).await;

    let start = Instant::now();
    let answer = common::post(
        &url,
        r#"{"jsonrpc":"2.0","method":"sleep_ms","params":[5000],"id":1}"#,
    )
    .await
    .json();
    assert_eq!(
        answer["error"]["code"],
        rpc_core::ErrorCode::TIMEOUT,
        "{answer}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));

    // Two calls run, the other two wait 50 ms for a slot and are turned away.
    let call = |id: u32| json!({"jsonrpc": "2.0", "method": "sleep_ms", "params": [200], "id": id});
    let batch = json!([call(1), call(2), call(3), call(4)]).to_string();
    let answers = common::post(&url, &batch).await.json();
    let codes: Vec<Value> = (0..4)
        .map(|i| answers[i]["error"]["code"].clone())
        .collect();
    let results: Vec<Value> = (0..4).map(|i| answers[i]["result"].clone()).collect();
    assert_eq!(
        results.iter().filter(|r| **r == 200).count(),
        2,
        "{answers}"
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == rpc_core::ErrorCode::SERVER_BUSY)
            .count(),
        2,
        "{answers}"
    );
    let busy: rpc_core::ErrorObject =
        serde_json::from_value(answers[3]["error"].clone()).expect("an error object");
    assert!(rpc_core::Error::Rpc(busy).is_retryable());

    // An answer over the limit is that call's error; the batch's other answers are whole.
    let batch = json!([
        {"jsonrpc": "2.0", "method": "blob", "params": [5000], "id": 1},
        {"jsonrpc": "2.0", "method": "blob", "params": [10], "id": 2},
    ])
    .to_string();
    let answers = common::post(&url, &batch).await.json();
    assert_eq!(
        answers[0]["error"]["code"],
        rpc_core::ErrorCode::RESPONSE_TOO_LARGE,
        "{answers}"
    );
    assert_eq!(
        answers[0]["error"]["data"],
        "the answer is larger than 1000 bytes"
    );
    assert_eq!(answers[1]["result"], "x".repeat(10));
}
