//! Attacks on a public endpoint, each bounded and on 127.0.0.1 only: slow heads, stalled
//! readers, idle floods over a low file limit, huge batches and oversize bodies against the
//! `spec_server` program run as a child process (its memory read from `/proc`), and the RPC
//! layer's limits (call timeout, concurrency cap, answer size) and graceful shutdown against a
//! server in this process. Each attack asserts that the server's memory stays bounded and that
//! an honest client is served while it lasts. The server's timeouts are shortened through
//! `spec_server`'s options so that no test waits out the production defaults.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rpc_core::rpc;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// `spec_server` running as a child process, killed when dropped.
struct SpecServer {
    child: Child,
    addr: SocketAddr,
}

impl SpecServer {
    /// Starts `spec_server` on a free port under a limit of `files` open files, with `options`.
    fn start(files: u32, options: &[&str]) -> SpecServer {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n "$1" && shift && exec "$@""#)
            .arg("sh")
            .arg(files.to_string())
            .arg(env!("CARGO_BIN_EXE_spec_server"))
            .arg("127.0.0.1:0")
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sh starts spec_server");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("spec_server prints its address");
        let addr = line
            .trim()
            .strip_prefix("spec_server listening at http://")
            .and_then(|rest| rest.strip_suffix("/rpc"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("a socket address");
        SpecServer { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/rpc", self.addr)
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id()).expect("the server is alive, with VmRSS in its status")
    }

    /// Samples the server's memory every few milliseconds until the returned sampler is
    /// stopped; it then gives the peak, in KiB.
    fn sample_rss(&self) -> RssSampler {
        let pid = self.child.id();
        let peak = Arc::new(AtomicU64::new(self.rss_kib()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        RssSampler { peak, stop, thread }
    }

    fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().expect("waiting works").is_none(),
            "spec_server exited"
        );
    }
}

impl Drop for SpecServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of process `pid`, in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn peak_kib(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler does not panic");
        self.peak.load(Ordering::Relaxed)
    }
}

/// One honest call on a new connection; panics unless it is answered right within 5 s, and
/// returns how long it took.
async fn honest_call(url: &str) -> Duration {
    let start = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    let body = json!({"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1});
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the honest client is answered")
        .bytes()
        .await
        .expect("an answer");
    let answer: Value = serde_json::from_slice(&answer).expect("a JSON answer");
    assert_eq!(answer["result"], 19, "{answer}");
    start.elapsed()
}

/// Whether the server closed `stream`: reading gives its end (or a reset) within `wait`,
/// after whatever the server had sent.
async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> (bool, usize) {
    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (false, received),
            Ok(Ok(0)) | Ok(Err(_)) => return (true, received),
            Ok(Ok(n)) => received += n,
        }
    }
}

const MIB: u64 = 1024;

/// A raw request for a batch of 1000 `rpc.discover` calls (about 3 MB of answer from 50 KB of
/// request), and the length of its whole answer, read once by an honest client.
async fn discover_batch(server: &SpecServer) -> (String, usize) {
    let discover = r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#;
    let batch = format!("[{}]", vec![discover; 1000].join(","));
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{batch}",
        batch.len()
    );
    let full = reqwest::Client::new()
        .post(server.url())
        .header("content-type", "application/json")
        .body(batch)
        .send()
        .await
        .expect("answered")
        .bytes()
        .await
        .expect("read")
        .len();
    assert!(full > 2_000_000, "the answer is {full} bytes");
    (request, full)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_dropped_at_the_header_timeout() {
    let server = SpecServer::start(4096, &["--header-timeout", "1500"]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let mut head = b"POST /rpc HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
    head.resize(head.len() + 8 * 1024, b'a');
    let mut attackers = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connects");
        stream.write_all(&head).await.expect("sends part of a head");
        attackers.push(stream);
    }
    let latency = honest_call(&server.url()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = server.rss_kib();
    let closed = futures_util::future::join_all(
        attackers
            .iter_mut()
            .map(|s| closed_by_server(s, Duration::from_secs(4))),
    )
    .await;
    let peak = sampler.peak_kib();
    let after = server.rss_kib();
    eprintln!(
        "slow heads: rss before {before} KiB, during {during} KiB, peak {peak} KiB, after {after} KiB, honest call {latency:?}"
    );
    assert!(
        closed.iter().all(|(closed, _)| *closed),
        "a slow head was kept open"
    );
    // Each unfinished head holds at most the 64 KiB head limit (before: ~400 KiB each).
    assert!(
        peak < before + 64 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(
        latency < Duration::from_secs(1),
        "honest call took {latency:?}"
    );
    honest_call(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stall_are_closed_at_the_send_timeout() {
    let server = SpecServer::start(4096, &["--send-timeout", "1000"]);
    let (request, full) = discover_batch(&server).await;
    let before = server.rss_kib();
    let mut peaks = Vec::new();
    for wave in 0..2 {
        let sampler = server.sample_rss();
        let mut attackers = Vec::new();
        for _ in 0..40 {
            let socket = TcpSocket::new_v4().expect("a socket");
            // A small window keeps the answer in the server, not in the kernel's buffers.
            socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
            let mut stream = socket.connect(server.addr).await.expect("connects");
            stream.write_all(request.as_bytes()).await.expect("sends");
            attackers.push(stream);
        }
        let latency = honest_call(&server.url()).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let closed = futures_util::future::join_all(
            attackers
                .iter_mut()
                .map(|s| closed_by_server(s, Duration::from_secs(3))),
        )
        .await;
        let peak = sampler.peak_kib();
        eprintln!(
            "stalled readers, wave {wave}: rss before {before} KiB, peak {peak} KiB, now {} KiB, honest call {latency:?}",
            server.rss_kib()
        );
        for (closed, received) in closed {
            assert!(closed, "a stalled reader was kept open");
            assert!(received < full, "a stalled reader got all {full} bytes");
        }
        // The attack's own answers are being made on the same two cores.
        assert!(
            latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
        peaks.push(peak);
    }
    // The answers' memory is reused wave after wave, not kept: the second wave does not add
    // another wave's worth (about 130 MB); the margin is the allocator's and the machine's.
    assert!(
        peaks[1] < peaks[0] + 64 * MIB,
        "peaks {peaks:?} KiB from {before} KiB"
    );
    honest_call(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stall_past_the_unsent_budget_are_closed_first() {
    // The send timeout stays at its 60 s: the budget alone must close them.
    let server = SpecServer::start(4096, &["--max-unsent-bytes", "16000000"]);
    let (request, full) = discover_batch(&server).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let mut attackers = Vec::new();
    for _ in 0..40 {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut stream = socket.connect(server.addr).await.expect("connects");
        stream.write_all(request.as_bytes()).await.expect("sends");
        attackers.push(stream);
    }
    let latency = honest_call(&server.url()).await;
    // The answers take a few seconds to make on a debug build; none is read meanwhile.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut closed = 0;
    for stream in &mut attackers {
        // A closed connection still delivers what its socket's kernel buffer held, then ends
        // short of the answer; an open one sends the whole answer and stays open.
        let (ended, received) = closed_by_server(stream, Duration::from_secs(1)).await;
        if ended && received < full {
            closed += 1;
        }
    }
    let peak = sampler.peak_kib();
    eprintln!(
        "stalled readers over the budget: rss before {before} KiB, peak {peak} KiB, closed {closed} of 40, honest call {latency:?}"
    );
    // 40 answers of 3 MB are 130 MB; about 16 MB of them may wait at once.
    assert!(closed >= 30, "only {closed} stalled readers were closed");
    assert!(
        peak < before + 64 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
    assert!(
        latency < Duration::from_secs(2),
        "honest call took {latency:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_flood_over_the_file_limit_still_serves_new_clients() {
    // 256 files: at most 240 connections; twice as many idle ones are thrown at it.
    let mut server = SpecServer::start(256, &[]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let call = br#"{"jsonrpc":"2.0","method":"subtract","params":[1,1],"id":1}"#;
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        call.len()
    );
    let mut idle = Vec::new();
    for i in 0..480 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connects");
        // Half of them made one call and stay open (keep-alive); half never send a byte.
        if i % 2 == 0 && i < 200 {
            stream.write_all(request.as_bytes()).await.expect("sends");
            stream.write_all(call).await.expect("sends");
            let mut buf = [0; 1024];
            let n = stream.read(&mut buf).await.expect("answered");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        }
        idle.push(stream);
    }
    let mut latencies = Vec::new();
    for _ in 0..5 {
        latencies.push(honest_call(&server.url()).await);
    }
    let peak = sampler.peak_kib();
    let mut evicted = 0;
    for stream in &mut idle {
        if closed_by_server(stream, Duration::from_millis(5)).await.0 {
            evicted += 1;
        }
    }
    eprintln!(
        "idle flood: rss before {before} KiB, peak {peak} KiB, idle connections closed {evicted} of {}, honest calls {latencies:?}",
        idle.len()
    );
    server.assert_alive();
    assert!(evicted > 0, "no idle connection was closed to make room");
    for latency in &latencies {
        assert!(
            *latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
    }
    assert!(
        peak < before + 32 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_batches_are_refused_while_parsed() {
    let server = SpecServer::start(4096, &[]);
    honest_call(&server.url()).await;
    // 5 million one-byte items: just under the 10 MiB body limit.
    let mut body = String::with_capacity(10_000_001);
    body.push('[');
    for _ in 0..4_999_999 {
        body.push_str("1,");
    }
    body.push_str("1]");
    let before = server.rss_kib();
    let sampler = server.sample_rss();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let url = server.url();
        let honest = tokio::spawn(async move { honest_call(&url).await });
        let answer = client
            .post(server.url())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("answered")
            .bytes()
            .await
            .expect("read");
        let answer: Value = serde_json::from_slice(&answer).expect("JSON");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert_eq!(
            answer["error"]["data"],
            "a batch holds at most 1024 calls, this one 5000000"
        );
        let latency = honest.await.expect("the honest call does not panic");
        assert!(
            latency < Duration::from_secs(2),
            "honest call took {latency:?}"
        );
    }
    let peak = sampler.peak_kib();
    eprintln!("huge batches: rss before {before} KiB, peak {peak} KiB");
    // The body itself (10 MB), and no more than the limit's worth of calls (before: +390 MB).
    assert!(
        peak < before + 40 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}

/// Sends `request` on a new connection and returns everything the server sends back until it
/// closes the connection or goes quiet for `quiet`.
async fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("sends");
    let mut answer = Vec::new();
    let mut buf = [0; 8192];
    while let Ok(Ok(n)) = tokio::time::timeout(quiet, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_are_refused_before_they_are_read() {
    let server = SpecServer::start(4096, &[]);
    honest_call(&server.url()).await;
    let before = server.rss_kib();
    let sampler = server.sample_rss();

    // `Expect: 100-continue` with 200 MiB announced: 413 at once, without `100 Continue`.
    let answer = exchange(
        server.addr,
        b"POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 209715200\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");

    // A chunked body without a length, streamed past the limit: 413, and the server stops
    // reading it.
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    stream
        .write_all(b"POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("sends");
    let chunk = format!("100000\r\n{}\r\n", " ".repeat(0x100000));
    let mut sent = 0;
    for _ in 0..64 {
        let write = stream.write_all(chunk.as_bytes());
        match tokio::time::timeout(Duration::from_secs(2), write).await {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(sent < 64, "the server read all 64 MiB");

    // Broken chunked framing is a bad request, not a large one.
    let answer = exchange(
        server.addr,
        b"POST /rpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // A head over the 64 KiB limit.
    let mut big = b"GET /rpc HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    big.resize(big.len() + 70_000, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(server.addr, &big, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // `HEAD` is `GET` (the explorer page) without the body.
    let get = exchange(
        server.addr,
        b"GET /rpc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    let head = exchange(
        server.addr,
        b"HEAD /rpc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        get.starts_with("HTTP/1.1 200") && head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let (get_head, get_body) = get.split_once("\r\n\r\n").expect("a head");
    assert!(get_body.contains("<html"), "{get_body}");
    assert!(head.ends_with("\r\n\r\n"), "HEAD got a body: {head}");
    let length = |h: &str| {
        h.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-length:"))
            .map(|l| l.to_owned())
    };
    assert_eq!(length(get_head), length(&head));

    let latency = honest_call(&server.url()).await;
    let peak = sampler.peak_kib();
    eprintln!("oversize bodies: rss before {before} KiB, peak {peak} KiB, honest call {latency:?}");
    assert!(
        peak < before + 24 * MIB,
        "peak {peak} KiB from {before} KiB"
    );
}

/// A service whose calls take as long, and answer as much, as they are asked to.
#[rpc]
pub trait Load {
    /// Sleeps `ms` milliseconds, then returns them.
    async fn sleep_ms(&self, ms: u64) -> u64;

    /// A string of `len` bytes.
    async fn blob(&self, len: usize) -> String;
}

struct Loader;

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
async fn serve_in_process(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_a_limit_get_a_json_rpc_error() {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_calls_in_flight() {
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
async fn call_on(stream: &mut TcpStream, addr: &str, call: &str) -> (String, String) {
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
async fn graceful_shutdown_answers_one_more_call_on_a_kept_alive_connection() {
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
async fn graceful_shutdown_answers_connections_still_in_the_listen_queue() {
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
