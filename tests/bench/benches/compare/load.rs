//! A small HTTP/1.1 keep-alive load generator over tokio `TcpStream`s: each connection sends one
//! prebuilt request, reads the whole response, and sends the next (closed loop), so the load
//! generator's own cost per request is a `write`, a `read` or two and a header scan.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw HTTP/1.1 POST of `body` to `path`.
pub(crate) fn http_request(path: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// One connection to a server.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A response: its status and where its body lies in the connection's buffer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    body: std::ops::Range<usize>,
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `request` and reads the whole response.
    pub(crate) async fn round_trip(&mut self, request: &[u8]) -> io::Result<Answer> {
        self.stream.write_all(request).await?;
        self.read_response().await
    }

    /// The body of the last response.
    pub(crate) fn body(&self, answer: &Answer) -> &[u8] {
        &self.buf[answer.body.clone()]
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    async fn read_response(&mut self) -> io::Result<Answer> {
        self.buf.clear();
        let (status, head_len, length) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.unwrap_or(0);
                    let mut length = None;
                    for h in response.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok());
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err(io::Error::other(
                                "chunked responses are not expected from these servers",
                            ));
                        }
                    }
                    break (status, head_len, length.unwrap_or(0));
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(e) => return Err(io::Error::other(format!("bad HTTP response: {e}"))),
            }
        };
        let end = head_len + length;
        if self.buf.len() < end {
            self.buf.reserve(end - self.buf.len());
        }
        while self.buf.len() < end {
            self.fill().await?;
        }
        if self.buf.len() > end {
            return Err(io::Error::other("unexpected bytes after a response"));
        }
        Ok(Answer {
            status,
            body: head_len..end,
        })
    }
}

/// How to run one load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Concurrent connections, each with one request in flight.
    pub(crate) conns: usize,
    /// Warm-up before measuring: connections are open and busy, nothing is recorded.
    pub(crate) warmup: Duration,
    /// How long to measure.
    pub(crate) measure: Duration,
    /// Stop measuring after this many requests, even before `measure` is over.
    pub(crate) max_requests: u64,
}

/// What a run measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) requests: u64,
    pub(crate) elapsed: Duration,
    /// Every measured request's latency, in nanoseconds, sorted.
    pub(crate) latencies: Vec<u64>,
}

impl Outcome {
    pub(crate) fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of latency, in microseconds.
    pub(crate) fn latency_us(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i] as f64 / 1e3
    }
}

/// Runs `plan` against `addr`, sending `request` on every connection. `around` is called with
/// `true` when measuring starts and `false` when it stops (to read the server's counters).
pub(crate) async fn run(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    plan: Plan,
    mut around: impl AsyncFnMut(bool),
) -> io::Result<Outcome> {
    let mut conns = Vec::with_capacity(plan.conns);
    for _ in 0..plan.conns {
        conns.push(Conn::open(addr).await?);
    }
    let start = Instant::now() + plan.warmup;
    let stop = start + plan.measure;
    let budget = Arc::new(AtomicU64::new(plan.max_requests));
    let mut tasks = tokio::task::JoinSet::new();
    for mut conn in conns {
        let request = request.clone();
        let budget = budget.clone();
        tasks.spawn(async move {
            let mut timer = Timer::new(start, stop, &budget);
            loop {
                let sent = Instant::now();
                let answer = conn.round_trip(&request).await?;
                if answer.status != 200 {
                    let body = String::from_utf8_lossy(conn.body(&answer)).into_owned();
                    return Err(io::Error::other(format!(
                        "HTTP {} from the server: {body}",
                        answer.status
                    )));
                }
                if !timer.record(sent) {
                    return Ok(timer.finish());
                }
            }
        });
    }
    gather(tasks, start, stop, &mut around).await
}

/// One task's latencies over the measured stretch, which a shared budget of requests may end
/// early.
struct Timer<'b> {
    start: Instant,
    stop: Instant,
    budget: &'b AtomicU64,
    latencies: Vec<u64>,
}

impl<'b> Timer<'b> {
    fn new(start: Instant, stop: Instant, budget: &'b AtomicU64) -> Self {
        Timer {
            start,
            stop,
            budget,
            latencies: Vec::with_capacity(4096),
        }
    }

    /// Records a call sent at `sent` and answered now; `false` means the loop is over.
    fn record(&mut self, sent: Instant) -> bool {
        let done = Instant::now();
        if done >= self.stop {
            return false;
        }
        if sent >= self.start {
            // Take one request from the budget; never below zero, so that every task sees the
            // budget spent (a wrapping subtraction would send all but one on forever).
            let took = self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1));
            if took.is_err() {
                return false;
            }
            self.latencies.push((done - sent).as_nanos() as u64);
            if took == Ok(1) {
                return false;
            }
        }
        true
    }

    /// The latencies and when the loop ended.
    fn finish(self) -> (Vec<u64>, Instant) {
        (self.latencies, Instant::now())
    }
}

/// Waits for the measured stretch to start, then for every task, with `around(true)` and
/// `around(false)` on either side, and merges what the tasks measured.
async fn gather(
    mut tasks: tokio::task::JoinSet<io::Result<(Vec<u64>, Instant)>>,
    start: Instant,
    stop: Instant,
    around: &mut impl AsyncFnMut(bool),
) -> io::Result<Outcome> {
    tokio::time::sleep_until(start.into()).await;
    around(true).await;
    let mut latencies = Vec::new();
    let mut last = start;
    while let Some(joined) = tasks.join_next().await {
        let (mut l, ended) = joined.map_err(io::Error::other)??;
        latencies.append(&mut l);
        last = last.max(ended);
    }
    around(false).await;
    latencies.sort_unstable();
    Ok(Outcome {
        requests: latencies.len() as u64,
        elapsed: last.min(stop).saturating_duration_since(start),
        latencies,
    })
}

/// Runs `plan` with `call` as the client: each of `plan.conns` tasks calls `call` in a loop.
/// For comparing clients, which bring their own connections. `around` as for [`run`].
pub(crate) async fn run_client<F>(
    plan: Plan,
    call: F,
    mut around: impl AsyncFnMut(bool),
) -> io::Result<Outcome>
where
    F: AsyncFn() -> Result<(), String> + Clone + 'static,
{
    let start = Instant::now() + plan.warmup;
    let stop = start + plan.measure;
    let budget = Arc::new(AtomicU64::new(plan.max_requests));
    let mut tasks = tokio::task::JoinSet::new();
    let local = tokio::task::LocalSet::new();
    for _ in 0..plan.conns {
        let call = call.clone();
        let budget = budget.clone();
        tasks.spawn_local_on(
            async move {
                let mut timer = Timer::new(start, stop, &budget);
                loop {
                    let sent = Instant::now();
                    call().await.map_err(io::Error::other)?;
                    if !timer.record(sent) {
                        return Ok(timer.finish());
                    }
                }
            },
            &local,
        );
    }
    local
        .run_until(gather(tasks, start, stop, &mut around))
        .await
}
