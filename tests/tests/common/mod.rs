//! Shared helpers: real servers on 127.0.0.1 port 0, raw HTTP posts and JSON-RPC calls to them,
//! a port that refuses connections, and outside programs run with a time limit.
#![allow(dead_code)] // Each test binary uses its own subset of these helpers.

pub(crate) mod features;
pub(crate) mod framed;
pub(crate) mod pubsub;
pub(crate) mod python;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The workspace root: the parent of this package.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

/// Serves `app` on a free port of 127.0.0.1 and returns the endpoint URL for `path`.
pub(crate) async fn serve(app: axum::Router, path: &str) -> String {
    let addr: SocketAddr = examples::spawn(app, "127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    format!("http://{addr}{path}")
}

/// What came back from a raw POST.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: String,
}

impl Raw {
    /// The body as JSON; panics (failing the test) when it is not.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// POSTs `body` as `application/json` to `url`.
pub(crate) async fn post(url: &str, body: &str) -> Raw {
    post_with(url, body, "application/json").await
}

/// POSTs `body` with the given content type.
pub(crate) async fn post_with(url: &str, body: &str, content_type: &str) -> Raw {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST reaches the test server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = response.text().await.expect("body reads");
    Raw {
        status,
        content_type,
        body,
    }
}

/// The calculator's methods, in the order it declares them.
pub(crate) const CALCULATOR_METHODS: [&str; 4] =
    ["add_together", "quadratic", "remote_repr", "lengths"];

/// Calls `method` over HTTP and returns the whole response object.
pub(crate) async fn rpc_call(url: &str, method: &str, params: Option<Value>) -> Value {
    let mut request = json!({ "jsonrpc": "2.0", "id": 1, "method": method });
    if let Some(params) = params {
        request["params"] = params;
    }
    let raw = post(url, &request.to_string()).await;
    assert_eq!(raw.status, 200, "{method}: {raw:?}");
    raw.json()
}

/// Calls `method` and returns its result; fails the test on an error answer.
pub(crate) async fn rpc_result(url: &str, method: &str, params: Option<Value>) -> Value {
    let answer = rpc_call(url, method, params).await;
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

/// Calls `method` and returns the code of the error it answers with.
pub(crate) async fn rpc_error_code(url: &str, method: &str, params: Option<Value>) -> i64 {
    let answer = rpc_call(url, method, params).await;
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{method}: expected an error, got {answer}"))
}

/// The document a live server answers `rpc.discover` with.
pub(crate) async fn discover(url: &str) -> Value {
    let doc = rpc_result(url, "rpc.discover", None).await;
    assert!(doc.is_object(), "rpc.discover: {doc}");
    doc
}

/// `doc`'s methods, by name, in order.
pub(crate) fn method_names(doc: &Value) -> Vec<&str> {
    doc["methods"]
        .as_array()
        .expect("`methods` is an array")
        .iter()
        .map(|m| m["name"].as_str().expect("every method has a name"))
        .collect()
}

/// A server on 127.0.0.1 that reads each request whole, counts it, and hangs up without an
/// answer: a request that surely reached the server and got no answer. Returns the URL of
/// `path` and the count.
pub(crate) async fn hang_up_server(path: &str) -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!(
        "http://{}{path}",
        listener.local_addr().expect("an address")
    );
    let read = Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    // Every request the tests send is one JSON object or array.
                    if request.ends_with(b"}") || request.ends_with(b"]") {
                        counter.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            });
        }
    });
    (url, read)
}

/// A port of 127.0.0.1 that refuses connections for as long as this value lives: its socket is
/// bound, so the port is given to no one else, but not listening. (A port bound, released and
/// used later could meanwhile be given to another test's server.)
pub(crate) struct RefusingPort {
    socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl RefusingPort {
    /// Binds a free port without listening on it.
    pub(crate) fn new() -> RefusingPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("a bound address");
        RefusingPort { socket, addr }
    }

    /// The URL of `path` on this port.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts listening on the port, which then accepts connections.
    pub(crate) fn listen(self) -> tokio::net::TcpListener {
        self.socket.listen(1024).expect("listen on the held port")
    }
}

/// What a child process left behind: its exit status (`None` when it ran over its time and was
/// killed) and all it wrote.
#[derive(Debug)]
pub(crate) struct ChildOutput {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `cmd` with no stdin and its stdout and stderr captured, killing it after `timeout`.
///
/// It waits without blocking the runtime, so servers on the runtime go on answering the child.
/// `Err` only when the program cannot be started, so that each caller can say how to fix that.
pub(crate) async fn run_child(
    cmd: &mut Command,
    timeout: Duration,
) -> std::io::Result<ChildOutput> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_or_kill(&mut child, timeout, cmd).await;
    Ok(ChildOutput {
        status,
        stdout: stdout.await.expect("reading the child's stdout"),
        stderr: stderr.await.expect("reading the child's stderr"),
    })
}

/// Reads all of a child's pipe on the blocking pool, so a chatty child never blocks on a full
/// pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> tokio::task::JoinHandle<String> {
    tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error only shortens the captured output.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` (started by `cmd`) without blocking the runtime, killing it after
/// `timeout`. `None` means it was killed.
async fn wait_or_kill(child: &mut Child, timeout: Duration, cmd: &Command) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for {}: {e}", cmd.get_program().display()),
        }
        if Instant::now() >= deadline {
            // It may have just exited; either way it is gone after `wait`.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server started by [`serve_until_stopped`]: where it listens, how to stop it, and its task.
pub(crate) struct Stoppable {
    pub(crate) addr: SocketAddr,
    /// Sending (or dropping) starts the graceful shutdown.
    pub(crate) stop: tokio::sync::oneshot::Sender<()>,
    /// Ends when the graceful shutdown has.
    pub(crate) server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on a free port of 127.0.0.1 through `rpc_server::serve`, until the returned
/// `stop` is used.
pub(crate) async fn serve_until_stopped(app: axum::Router) -> Stoppable {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    serve_until_stopped_on(listener, app)
}

/// Serves `app` on `listener` through `rpc_server::serve`, until the returned `stop` is used.
pub(crate) fn serve_until_stopped_on(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> Stoppable {
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        rpc_server::serve(listener, app)
            .with_graceful_shutdown(async {
                stopped.await.ok();
            })
            .into_future(),
    );
    Stoppable { addr, stop, server }
}

/// A port of 127.0.0.1 that servers take in turn, for tests that restart a server where its
/// clients will look for it. Each server's socket is bound (`SO_REUSEPORT`) before the one
/// before it closes, so the port is never free for another test to take meanwhile; a socket
/// only bound takes no connections until it listens.
pub(crate) struct SharedPort {
    pub(crate) addr: SocketAddr,
}

impl SharedPort {
    /// A free port, and the socket of its first server (bound, not yet listening).
    pub(crate) fn new() -> (SharedPort, tokio::net::TcpSocket) {
        let socket = Self::reusable();
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().unwrap();
        (SharedPort { addr }, socket)
    }

    /// The socket of the next server, bound to the port while the current one still holds it.
    pub(crate) fn next(&self) -> tokio::net::TcpSocket {
        let socket = Self::reusable();
        socket.bind(self.addr).expect("bind the shared port");
        socket
    }

    fn reusable() -> tokio::net::TcpSocket {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.set_reuseport(true).expect("SO_REUSEPORT");
        socket
    }
}

/// The next text message of a WebSocket as JSON, skipping pings and pongs; fails after 10 s.
pub(crate) async fn ws_next<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
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

/// A writer into a shared buffer, for a `tracing_subscriber::fmt` subscriber whose output a
/// test reads.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A DEBUG-level subscriber writing into this buffer, without colours.
    pub(crate) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
