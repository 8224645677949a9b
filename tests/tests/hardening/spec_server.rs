//! The attacks' harness: `spec_server` run as a child process with shortened timeouts, its memory read from `/proc`, and an honest client timing its calls.

#[allow(unused_imports)]
use super::*;

/// `spec_server` running as a child process, killed when dropped.
pub(crate) struct SpecServer {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl SpecServer {
    /// Starts `spec_server` on a free port under a limit of `files` open files, with `options`.
    pub(crate) fn start(files: u32, options: &[&str]) -> SpecServer {
        Self::launch(env!("CARGO_BIN_EXE_spec_server"), files, options)
    }

    /// Starts the `pubsub` example (subscriptions over WebSocket) the same way.
    pub(crate) fn pubsub(files: u32, options: &[&str]) -> SpecServer {
        Self::launch(env!("CARGO_BIN_EXE_pubsub"), files, options)
    }

    fn launch(program: &str, files: u32, options: &[&str]) -> SpecServer {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n "$1" && shift && exec "$@""#)
            .arg("sh")
            .arg(files.to_string())
            .arg(program)
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
        // `spec_server listening at http://ADDR/rpc`, `pubsub listening at ws://ADDR/rpc and ...`
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split("/rpc").next())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("a socket address");
        SpecServer { child, addr }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/rpc", self.addr)
    }

    /// The server's resident memory, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id()).expect("the server is alive, with VmRSS in its status")
    }

    /// Samples the server's memory every few milliseconds until the returned sampler is
    /// stopped; it then gives the peak, in KiB.
    pub(crate) fn sample_rss(&self) -> RssSampler {
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

    pub(crate) fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().expect("waiting works").is_none(),
            "the server exited"
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
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub(crate) struct RssSampler {
    pub(crate) peak: Arc<AtomicU64>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    pub(crate) fn peak_kib(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler does not panic");
        self.peak.load(Ordering::Relaxed)
    }
}

/// One honest call on a new connection; panics unless it is answered right within 5 s, and
/// returns how long it took.
pub(crate) async fn honest_call(url: &str) -> Duration {
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
pub(crate) async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> (bool, usize) {
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

pub(crate) const MIB: u64 = 1024;

/// A raw request for a batch of 1000 `rpc.discover` calls (about 3 MB of answer from 50 KB of
/// request), and the length of its whole answer, read once by an honest client.
pub(crate) async fn discover_batch(server: &SpecServer) -> (String, usize) {
    let discover = r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#;
    let batch = format!("[{}]", vec![discover; 1000].join(","));
    let request = format!(
        "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{batch}",
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
