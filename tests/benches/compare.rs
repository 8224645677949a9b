//! Side by side: our `#[rpc]` server, jsonrpsee's HTTP server, and the "floor" (a hand-written
//! axum handler doing plain serde), on the same methods, over 127.0.0.1; then our typed client
//! against jsonrpsee's `HttpClient`.
//!
//! ```text
//! cargo bench -p tests --bench compare                 # the full run, ~3 s per server and workload
//! cargo bench -p tests --bench compare -- --smoke      # ~0.2 s each: checks that it all works
//! cargo bench -p tests --bench compare -- --duration 5 --only small,batch
//! ```
//!
//! The load generator runs on one CPU and the servers' runtime (one worker thread) on another;
//! allocations are counted per thread by the counting allocator of `benches/support`. See
//! BENCHMARKS.md for what each figure means.

// The modules live in `benches/compare/`, where cargo does not take them for benchmarks.
#[path = "compare/inproc.rs"]
mod inproc;
#[path = "compare/load.rs"]
mod load;
// `#[rpc]` generates a whole client API (batches, notifications) of which the benchmark calls a
// part only.
#[allow(dead_code)]
#[path = "compare/servers.rs"]
mod servers;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use bench_support::{Stats, current_tid, thread_cpu_ns, thread_stats};
use inproc::Allocs;
use load::{Outcome, Plan};
use servers::{BenchClient, JBenchClient as _};

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

/// The servers, in the order the tables list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Floor,
    Ours,
    Jsonrpsee,
}

const SERVERS: [Server; 3] = [Server::Floor, Server::Ours, Server::Jsonrpsee];

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Floor => "floor (axum + serde)",
            Server::Ours => "ours (#[rpc] + rpc-server)",
            Server::Jsonrpsee => "jsonrpsee 0.26 server",
        }
    }
}

/// What to send and what must come back.
struct Workload {
    key: &'static str,
    title: String,
    body: Bytes,
    floor_path: &'static str,
    conns: usize,
    /// Calls in one HTTP request (100 for the batch).
    calls_per_request: usize,
    /// In-process calls counted for allocations (full run).
    inproc_calls: usize,
    check: fn(&serde_json::Value, &Workload) -> bool,
    /// A notification: the answer is an empty body.
    empty_answer: bool,
}

const ECHO_BYTES: usize = 1 << 20;
const BATCH_LEN: usize = 100;

fn payload() -> String {
    // Printable ASCII with no escapes, so that every server copies it as is.
    (0..ECHO_BYTES)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect()
}

fn workloads() -> Vec<Workload> {
    let batch: Vec<String> = (0..BATCH_LEN)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":{i}}}"#))
        .collect();
    let echo = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        payload()
    );
    vec![
        Workload {
            key: "small",
            title: "(a) one small call: `subtract` [42, 23]".into(),
            body: Bytes::from_static(
                br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
            ),
            floor_path: servers::FLOOR_SUBTRACT,
            conns: 32,
            calls_per_request: 1,
            inproc_calls: 5000,
            check: |v, _| v["result"] == 19 && v["id"] == 1 && v["jsonrpc"] == "2.0",
            empty_answer: false,
        },
        Workload {
            key: "batch",
            title: format!("(b) a batch of {BATCH_LEN} `subtract` calls"),
            body: Bytes::from(format!("[{}]", batch.join(","))),
            floor_path: servers::FLOOR_BATCH,
            conns: 16,
            calls_per_request: BATCH_LEN,
            inproc_calls: 500,
            check: |v, _| {
                let Some(items) = v.as_array() else {
                    return false;
                };
                let mut ids: Vec<i64> = items.iter().filter_map(|i| i["id"].as_i64()).collect();
                ids.sort_unstable();
                items.len() == BATCH_LEN
                    && items.iter().all(|i| i["result"] == 19)
                    && ids == (0..BATCH_LEN as i64).collect::<Vec<_>>()
            },
            empty_answer: false,
        },
        Workload {
            key: "echo",
            title: "(c) 1 MiB string echo: `echo` [\"abc…\" × 1 MiB]".into(),
            body: Bytes::from(echo),
            floor_path: servers::FLOOR_ECHO,
            conns: 4,
            calls_per_request: 1,
            inproc_calls: 50,
            check: |v, _| v["result"].as_str().is_some_and(|s| s == payload()) && v["id"] == 1,
            empty_answer: false,
        },
        Workload {
            key: "slow",
            title: "(d) slow handler: `sleep50` (50 ms) under 256 concurrent callers".into(),
            body: Bytes::from_static(br#"{"jsonrpc":"2.0","method":"sleep50","id":1}"#),
            floor_path: servers::FLOOR_SLEEP50,
            conns: 256,
            calls_per_request: 1,
            inproc_calls: 20,
            check: |v, _| v["result"] == 50 && v["id"] == 1,
            empty_answer: false,
        },
        Workload {
            key: "notify",
            title: "(e) a notification stream: `notify` [7], no id".into(),
            body: Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notify","params":[7]}"#),
            floor_path: servers::FLOOR_NOTIFY,
            conns: 32,
            calls_per_request: 1,
            inproc_calls: 5000,
            check: |_, _| true,
            empty_answer: true,
        },
    ]
}

struct Options {
    smoke: bool,
    warmup: Duration,
    measure: Duration,
    only: Option<Vec<String>>,
    profile: Option<Profile>,
    /// Each server's time on a workload is split into this many rounds, the servers taking
    /// turns; the median round counts (a passing disturbance spoils one round, not the figure).
    rounds: usize,
}

/// A profiling run: only the request path of one server or client, in a loop, for
/// `valgrind --tool=callgrind --toggle-collect='*profile_loop*'` (see BENCHMARKS.md).
#[derive(Debug, Clone)]
enum Profile {
    /// `--profile-server WORKLOAD [--server NAME]`: in-process calls through one server.
    Server { workload: String, server: Server },
    /// `--profile-client ours|jsonrpsee`: typed calls to our server over 127.0.0.1.
    Client { ours: bool },
}

impl Options {
    fn parse() -> Options {
        let mut smoke = false;
        let mut seconds = 3.0;
        let mut only = None;
        let mut profile = None;
        let mut profile_server = Server::Ours;
        let mut calls = None;
        let mut rounds = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--smoke" => smoke = true,
                "--duration" => {
                    seconds = args
                        .next()
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|s| *s > 0.0)
                        .unwrap_or_else(|| usage("--duration takes seconds"));
                }
                "--only" => {
                    let list = args.next().unwrap_or_else(|| usage("--only takes a list"));
                    only = Some(list.split(',').map(str::to_owned).collect());
                }
                "--profile-server" => {
                    let workload = args.next().unwrap_or_else(|| usage("which workload?"));
                    profile = Some(Profile::Server {
                        workload,
                        server: Server::Ours,
                    });
                }
                "--server" => {
                    profile_server = match args.next().as_deref() {
                        Some("ours") => Server::Ours,
                        Some("floor") => Server::Floor,
                        Some("jsonrpsee") => Server::Jsonrpsee,
                        _ => usage("--server takes ours, floor or jsonrpsee"),
                    }
                }
                "--profile-client" => {
                    profile = match args.next().as_deref() {
                        Some("ours") => Some(Profile::Client { ours: true }),
                        Some("jsonrpsee") => Some(Profile::Client { ours: false }),
                        _ => usage("--profile-client takes ours or jsonrpsee"),
                    }
                }
                "--rounds" => {
                    rounds = args.next().and_then(|n| n.parse::<usize>().ok());
                    if rounds.is_none_or(|r| r == 0) {
                        usage("--rounds takes a count");
                    }
                }
                "--calls" => {
                    calls = args.next().and_then(|n| n.parse::<usize>().ok());
                    if calls.is_none() {
                        usage("--calls takes a count");
                    }
                }
                "-h" | "--help" => usage(""),
                // `cargo bench` passes `--bench`; a name filter may follow it.
                "--bench" => {}
                other if other.starts_with('-') => usage(&format!("unknown option {other}")),
                _ => {}
            }
        }
        if let Some(Profile::Server { server, .. }) = &mut profile {
            *server = profile_server;
        }
        let (warmup, measure) = if smoke {
            (Duration::from_millis(50), Duration::from_millis(200))
        } else {
            (
                Duration::from_secs_f64((seconds / 15.0).clamp(0.1, 0.25)),
                Duration::from_secs_f64(seconds),
            )
        };
        PROFILE_CALLS.store(calls.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        Options {
            smoke,
            warmup,
            measure,
            only,
            profile,
            rounds: rounds.unwrap_or(if smoke { 1 } else { 5 }),
        }
    }

    fn wants(&self, key: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key))
    }

    fn plan(&self, conns: usize) -> Plan {
        Plan {
            conns,
            warmup: self.warmup,
            measure: self.measure / self.rounds as u32,
            max_requests: u64::MAX,
        }
    }

    fn inproc_calls(&self, full: usize) -> usize {
        if self.smoke { (full / 50).max(2) } else { full }
    }
}

/// `--calls` for a profiling run (0: its default).
static PROFILE_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn profile_calls(default: usize) -> usize {
    match PROFILE_CALLS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => default,
        n => n,
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("compare: {problem}");
    }
    eprintln!(
        "usage: cargo bench -p tests --bench compare -- [--smoke] [--duration SECS] \
         [--rounds N] [--only small,batch,echo,slow,notify,client]\n       \
         cargo bench -p tests --bench compare -- --profile-server WORKLOAD \
         [--server ours|floor|jsonrpsee] [--calls N]\n       \
         cargo bench -p tests --bench compare -- --profile-client ours|jsonrpsee [--calls N]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

fn fail(what: impl std::fmt::Display) -> ! {
    eprintln!("compare: {what}");
    std::process::exit(1)
}

/// One server's figures for one workload.
#[derive(Debug, Default)]
struct Figures {
    outcome: Outcome,
    /// CPU the server's worker thread used per HTTP request, in µs.
    cpu_us: Option<f64>,
    /// Allocator calls the server's worker thread made per HTTP request (hyper included).
    http_allocs: Option<f64>,
    /// In-process allocations per HTTP request's worth of calls.
    inproc: Allocs,
}

/// The servers' side of the process: a one-worker runtime pinned to its own CPU.
struct Servers {
    runtime: tokio::runtime::Runtime,
    worker_tid: u32,
    floor: SocketAddr,
    ours: SocketAddr,
    jsonrpsee: SocketAddr,
}

impl Servers {
    fn start(cpu: Option<usize>) -> Servers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("server")
            .enable_all()
            .on_thread_start(move || {
                if let Some(cpu) = cpu
                    && let Err(e) = bench_support::pin_current_thread(cpu)
                {
                    eprintln!("note: could not pin a server thread to CPU {cpu}: {e}");
                }
            })
            .build()
            .unwrap_or_else(|e| fail(format!("server runtime: {e}")));
        let (worker_tid, floor, ours, jsonrpsee) = runtime.block_on(async {
            let tid = tokio::spawn(async { current_tid() })
                .await
                .expect("the worker answers");
            let floor = servers::start_axum(servers::floor()).await;
            let ours = servers::start_axum(servers::ours()).await;
            let jsonrpsee = servers::start_jsonrpsee().await;
            (tid, floor, ours, jsonrpsee)
        });
        let bind =
            |r: std::io::Result<SocketAddr>| r.unwrap_or_else(|e| fail(format!("bind: {e}")));
        Servers {
            worker_tid,
            floor: bind(floor),
            ours: bind(ours),
            jsonrpsee: bind(jsonrpsee),
            runtime,
        }
    }

    fn addr(&self, server: Server) -> SocketAddr {
        match server {
            Server::Floor => self.floor,
            Server::Ours => self.ours,
            Server::Jsonrpsee => self.jsonrpsee,
        }
    }

    /// The worker thread's allocation counters, read on the worker itself.
    async fn worker_stats(&self) -> Stats {
        self.runtime
            .spawn(async { thread_stats() })
            .await
            .expect("the worker answers")
    }
}

fn path(server: Server, w: &Workload) -> &'static str {
    match server {
        Server::Floor => w.floor_path,
        Server::Ours | Server::Jsonrpsee => "/",
    }
}

/// Whether `body` acknowledges a notification: empty (ours, the floor) or `null` (what
/// jsonrpsee 0.26 sends back for a notification over HTTP, without running its method).
fn notification_ack(body: &[u8]) -> bool {
    body.is_empty() || body == b"null"
}

/// Sends one request over HTTP and checks the answer.
async fn check_http(servers: &Servers, server: Server, w: &Workload) -> Result<(), String> {
    let request = load::http_request(path(server, w), &w.body);
    let mut conn = load::Conn::open(servers.addr(server))
        .await
        .map_err(|e| e.to_string())?;
    let answer = conn.round_trip(&request).await.map_err(|e| e.to_string())?;
    let body = conn.body(&answer);
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if answer.status != 200 {
        return Err(format!("HTTP {}: {}", answer.status, excerpt()));
    }
    if w.empty_answer {
        return if notification_ack(body) {
            Ok(())
        } else {
            Err(format!("a notification was answered: {}", excerpt()))
        };
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("{e}: {}", excerpt()))?;
    if (w.check)(&value, w) {
        Ok(())
    } else {
        Err(format!("unexpected answer: {}", excerpt()))
    }
}

/// Runs the HTTP load of `w` against `server`.
async fn run_http(
    servers: &Servers,
    server: Server,
    w: &Workload,
    opts: &Options,
) -> std::io::Result<Figures> {
    let request = Arc::new(load::http_request(path(server, w), &w.body));
    let mut marks: Vec<(Option<u64>, Stats)> = Vec::new();
    let outcome = load::run(
        servers.addr(server),
        request,
        opts.plan(w.conns),
        async |_starting| {
            let cpu = thread_cpu_ns(servers.worker_tid);
            let stats = servers.worker_stats().await;
            marks.push((cpu, stats));
        },
    )
    .await?;
    let n = outcome.requests.max(1) as f64;
    let (cpu_us, http_allocs) = match marks.as_slice() {
        [(cpu0, s0), (cpu1, s1)] => (
            cpu0.zip(*cpu1).map(|(a, b)| (b - a) as f64 / 1e3 / n),
            Some(s1.since(s0).allocator_calls() as f64 / n),
        ),
        _ => (None, None),
    };
    Ok(Figures {
        outcome,
        cpu_us,
        http_allocs,
        inproc: Allocs::default(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The round with the median throughput.
fn median_round(mut rounds: Vec<Figures>) -> Figures {
    rounds.sort_by(|a, b| a.outcome.throughput().total_cmp(&b.outcome.throughput()));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

/// The in-process allocation figures of `w` for each server, in `SERVERS` order.
fn run_inproc(w: &Workload, opts: &Options) -> Vec<Allocs> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    let n = opts.inproc_calls(w.inproc_calls);
    let warmup = if w.key == "slow" { 2 } else { 20 };
    runtime.block_on(async {
        let floor = servers::floor();
        let ours = servers::ours();
        let jsonrpsee = servers::jsonrpsee_service();
        // Check the in-process path answers as the HTTP one does.
        for (server, (status, text)) in [
            (
                Server::Floor,
                inproc::call_text(&floor, w.floor_path, &w.body).await,
            ),
            (Server::Ours, inproc::call_text(&ours, "/", &w.body).await),
            (
                Server::Jsonrpsee,
                inproc::call_text(&jsonrpsee, "/", &w.body).await,
            ),
        ] {
            let ok = status == 200
                && if w.empty_answer {
                    notification_ack(text.as_bytes())
                } else {
                    serde_json::from_str(&text).is_ok_and(|v| (w.check)(&v, w))
                };
            if !ok {
                fail(format!(
                    "{}: {} in process answered {status}: {}",
                    w.key,
                    server.name(),
                    &text[..text.len().min(300)]
                ));
            }
        }
        vec![
            inproc::measure(&floor, w.floor_path, &w.body, warmup, n).await,
            inproc::measure(&ours, "/", &w.body, warmup, n).await,
            inproc::measure(&jsonrpsee, "/", &w.body, warmup, n).await,
        ]
    })
}

// ---- Clients ---------------------------------------------------------------------------------

/// One client's figures.
#[derive(Debug, Default)]
struct ClientFigures {
    outcome: Outcome,
    /// CPU the client's thread used per call, in µs.
    cpu_us: Option<f64>,
    /// Allocator calls per call, counted on the client's thread.
    allocs: f64,
}

/// Allocator calls per call of `call`, counted on this thread (the server is on its own).
async fn client_allocs<F: AsyncFn() -> Result<(), String>>(call: &F, n: usize) -> f64 {
    for _ in 0..20 {
        call().await.unwrap_or_else(|e| fail(e));
    }
    let before = thread_stats();
    for _ in 0..n {
        call().await.unwrap_or_else(|e| fail(e));
    }
    thread_stats().since(&before).allocator_calls() as f64 / n as f64
}

/// One round of load through a client.
async fn client_round<F>(call: F, opts: &Options, conns: usize) -> ClientFigures
where
    F: AsyncFn() -> Result<(), String> + Clone + 'static,
{
    let tid = current_tid();
    let cpu_start = std::cell::Cell::new(None);
    let cpu_end = std::cell::Cell::new(None);
    let outcome = load::run_client(opts.plan(conns), call, async |starting| {
        if starting {
            cpu_start.set(thread_cpu_ns(tid));
        } else {
            cpu_end.set(thread_cpu_ns(tid));
        }
    })
    .await
    .unwrap_or_else(|e| fail(e));
    let cpu_us = cpu_start
        .get()
        .zip(cpu_end.get())
        .map(|(a, b)| (b - a) as f64 / 1e3 / outcome.requests.max(1) as f64);
    ClientFigures {
        outcome,
        cpu_us,
        allocs: 0.0,
    }
}

fn median_client_round(mut rounds: Vec<ClientFigures>) -> ClientFigures {
    rounds.sort_by(|a, b| a.outcome.throughput().total_cmp(&b.outcome.throughput()));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

// ---- Report ----------------------------------------------------------------------------------

fn si(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `value (a×F, b×J)`: the figure with its ratio to the floor's and to jsonrpsee's.
fn cell(v: f64, floor: f64, jsonrpsee: f64) -> String {
    let ratio = |r: f64| {
        if r.is_finite() && r != 0.0 {
            format!("{:.2}", v / r)
        } else {
            "–".into()
        }
    };
    format!("{} ({}×F, {}×J)", si(v), ratio(floor), ratio(jsonrpsee))
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// A markdown table of `rows`, one per server, columns from `columns`.
fn table(headers: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| server | {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|---|{}",
        headers.iter().map(|_| "---:|").collect::<String>()
    );
    for (name, cells) in rows {
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out
}

fn workload_table(w: &Workload, figures: &[Figures]) -> String {
    let (f, j) = (&figures[0], &figures[2]);
    let metric = |get: &dyn Fn(&Figures) -> f64| -> Vec<String> {
        figures
            .iter()
            .map(|x| cell(get(x), get(f), get(j)))
            .collect()
    };
    let columns: Vec<(&str, Vec<String>)> = vec![
        ("req/s", metric(&|x| x.outcome.throughput())),
        ("p50 µs", metric(&|x| x.outcome.latency_us(0.50))),
        ("p99 µs", metric(&|x| x.outcome.latency_us(0.99))),
        ("server CPU µs/req", metric(&|x| opt(x.cpu_us))),
        (
            "server busy %",
            metric(&|x| opt(x.cpu_us) * x.outcome.throughput() / 1e4),
        ),
        ("allocs/req in-process", metric(&|x| x.inproc.calls)),
        ("allocs/req over HTTP", metric(&|x| opt(x.http_allocs))),
        (
            if w.key == "echo" {
                "peak heap ÷ payload"
            } else {
                "peak heap bytes"
            },
            metric(&|x| {
                if w.key == "echo" {
                    x.inproc.peak / ECHO_BYTES as f64
                } else {
                    x.inproc.peak
                }
            }),
        ),
    ];
    let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let rows: Vec<(String, Vec<String>)> = SERVERS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.name().to_owned(),
                columns.iter().map(|(_, c)| c[i].clone()).collect(),
            )
        })
        .collect();
    table(&headers, &rows)
}

// ---- Profiling runs --------------------------------------------------------------------------

/// The loop a profiler looks at: `requests` through `svc`, nothing else. Not `async`, so that it
/// stays a function of its own (an `async fn`'s body may be inlined into its caller's poll).
#[inline(never)]
fn profile_loop<S, B>(
    runtime: &tokio::runtime::Runtime,
    svc: &S,
    requests: Vec<axum::http::Request<axum::body::Body>>,
) -> usize
where
    S: tower::Service<axum::http::Request<axum::body::Body>, Response = axum::http::Response<B>>
        + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    runtime.block_on(async {
        let mut bytes = 0;
        for req in requests {
            bytes += inproc::call(svc, req).await.1;
        }
        bytes
    })
}

/// The loop a profiler looks at for a client: `n` typed calls, one after another.
#[inline(never)]
fn profile_loop_client<F: AsyncFn() -> Result<(), String>>(
    runtime: &tokio::runtime::Runtime,
    call: F,
    n: usize,
) {
    runtime.block_on(async {
        for _ in 0..n {
            call().await.unwrap_or_else(|e| fail(e));
        }
    })
}

fn run_profile(profile: &Profile) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    match profile {
        Profile::Server { workload, server } => {
            let all = workloads();
            let w = all
                .iter()
                .find(|w| w.key == *workload)
                .unwrap_or_else(|| usage(&format!("no workload {workload}")));
            let n = profile_calls(if w.key == "echo" { 200 } else { 20_000 });
            let p = path(*server, w);
            let make = || {
                (0..n)
                    .map(|_| inproc::request(p, &w.body))
                    .collect::<Vec<_>>()
            };
            let bytes = match server {
                Server::Floor => {
                    let svc = servers::floor();
                    profile_loop(&runtime, &svc, make())
                }
                Server::Ours => {
                    let svc = servers::ours();
                    profile_loop(&runtime, &svc, make())
                }
                Server::Jsonrpsee => {
                    let svc = runtime.block_on(async { servers::jsonrpsee_service() });
                    profile_loop(&runtime, &svc, make())
                }
            };
            println!(
                "{n} {} calls through {}: {bytes} bytes answered",
                w.key,
                server.name()
            );
        }
        Profile::Client { ours } => {
            let servers = Servers::start(None);
            let url = format!("http://{}/", servers.ours);
            let n = profile_calls(20_000);
            if *ours {
                let client = BenchClient::new(&url).unwrap_or_else(|e| fail(e));
                let call = async || match client.subtract(42, 23).await {
                    Ok(19) => Ok(()),
                    other => Err(format!("{other:?}")),
                };
                // Warm up (connection, pools) outside the profiled loop.
                profile_warmup(&runtime, &call);
                profile_loop_client(&runtime, call, n);
            } else {
                let client = runtime.block_on(async {
                    jsonrpsee::http_client::HttpClient::builder()
                        .build(&url)
                        .unwrap_or_else(|e| fail(e))
                });
                let call = async || match client.subtract(42, 23).await {
                    Ok(19) => Ok(()),
                    other => Err(format!("{other:?}")),
                };
                profile_warmup(&runtime, &call);
                profile_loop_client(&runtime, call, n);
            }
            println!("{n} client calls done");
        }
    }
}

fn profile_warmup<F: AsyncFn() -> Result<(), String>>(runtime: &tokio::runtime::Runtime, call: &F) {
    runtime.block_on(async {
        for _ in 0..20 {
            call().await.unwrap_or_else(|e| fail(e));
        }
    });
}

struct Target {
    what: &'static str,
    figure: String,
    met: Option<bool>,
}

fn main() {
    let opts = Options::parse();
    if let Some(profile) = &opts.profile {
        return run_profile(profile);
    }
    let started = Instant::now();

    // CPUs: the load generator on the first allowed CPU, the servers on the second.
    let cpus = bench_support::allowed_cpus();
    let (load_cpu, server_cpu) = match cpus.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => {
            println!("note: fewer than 2 CPUs allowed ({cpus:?}); running unpinned");
            (None, None)
        }
    };
    if let Some(cpu) = load_cpu
        && let Err(e) = bench_support::pin_current_thread(cpu)
    {
        println!("note: could not pin the load generator to CPU {cpu} ({e}); continuing unpinned");
    }
    let servers = Servers::start(server_cpu);
    if let Some(load) = load_average()
        && load > 1.0
    {
        println!(
            "note: load average {load:.2} before starting: other processes compete for the \
             CPUs, so the figures will be noisy\n"
        );
    }

    println!("# JSON-RPC over HTTP: ours vs jsonrpsee vs the floor\n");
    println!(
        "{} run; CPU: {}; load generator on CPU {}, servers (1 tokio worker) on CPU {}; {} s \
         measured per server and workload, in {} round(s) taking turns, each after {} s of \
         warm-up; the median round is shown.\n",
        if opts.smoke { "Smoke" } else { "Full" },
        cpu_model(),
        load_cpu.map_or("any".into(), |c| c.to_string()),
        server_cpu.map_or("any".into(), |c| c.to_string()),
        opts.measure.as_secs_f64(),
        opts.rounds,
        opts.warmup.as_secs_f64(),
    );
    println!(
        "Each cell: value (ratio to the floor ×F, ratio to jsonrpsee ×J). Allocations are \
         allocator calls (alloc + realloc); in-process ones count only the server's handler \
         (tower `oneshot`, prebuilt request), over-HTTP ones everything the server's thread did \
         per request, hyper included.\n"
    );

    let load_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));

    let mut targets: Vec<Target> = Vec::new();
    let mut by_key: Vec<(&'static str, Vec<Figures>)> = Vec::new();
    // Throughput of each round, per server: for ratios paired round by round.
    let mut round_tputs: Vec<(&'static str, Vec<Vec<f64>>)> = Vec::new();
    for w in workloads().iter().filter(|w| opts.wants(w.key)) {
        for server in SERVERS {
            load_rt.block_on(async {
                if let Err(e) = check_http(&servers, server, w).await {
                    fail(format!("{}: {} over HTTP: {e}", w.key, server.name()));
                }
            });
        }
        let mut rounds: Vec<Vec<Figures>> = SERVERS.iter().map(|_| Vec::new()).collect();
        for _ in 0..opts.rounds {
            for (i, server) in SERVERS.into_iter().enumerate() {
                let f = load_rt
                    .block_on(run_http(&servers, server, w, &opts))
                    .unwrap_or_else(|e| fail(format!("{}: {}: {e}", w.key, server.name())));
                rounds[i].push(f);
            }
        }
        let spread: Vec<String> = rounds
            .iter()
            .zip(SERVERS)
            .map(|(r, server)| {
                let each: Vec<String> = r.iter().map(|f| si(f.outcome.throughput())).collect();
                format!("{} {}", server.name(), each.join(" / "))
            })
            .collect();
        round_tputs.push((
            w.key,
            rounds
                .iter()
                .map(|r| r.iter().map(|f| f.outcome.throughput()).collect())
                .collect(),
        ));
        let mut figures: Vec<Figures> = rounds.into_iter().map(median_round).collect();
        for (f, a) in figures.iter_mut().zip(run_inproc(w, &opts)) {
            f.inproc = a;
        }
        println!(
            "## {}\n\n{} connection(s), one request in flight on each{}.\n",
            w.title,
            w.conns,
            if w.calls_per_request > 1 {
                format!("; a request is {} calls", w.calls_per_request)
            } else {
                String::new()
            }
        );
        println!("{}", workload_table(w, &figures));
        if opts.rounds > 1 {
            println!("req/s of each round: {}.\n", spread.join("; "));
        }
        by_key.push((w.key, figures));
    }

    let get = |key: &str| by_key.iter().find(|(k, _)| *k == key).map(|(_, f)| f);
    // The median over rounds of server `a`'s throughput over server `b`'s in the same round:
    // the servers take turns, so a slow stretch of the machine hits both sides of a ratio.
    let paired = |key: &str, a: usize, b: usize| -> f64 {
        let Some((_, t)) = round_tputs.iter().find(|(k, _)| *k == key) else {
            return f64::NAN;
        };
        median(t[a].iter().zip(&t[b]).map(|(x, y)| x / y).collect())
    };
    if let Some(f) = get("small") {
        let r = paired("small", 1, 0);
        targets.push(Target {
            what: "small call: throughput ≥ 0.95× floor",
            figure: format!("{r:.2}× floor"),
            met: Some(r >= 0.95),
        });
        let (o, fl) = (f[1].inproc.calls, f[0].inproc.calls);
        targets.push(Target {
            what: "small call: allocations ≤ floor + 3",
            figure: format!("{o:.1} vs floor {fl:.1} (floor + {:.1})", o - fl),
            met: Some(o <= fl + 3.0),
        });
    }
    if get("batch").is_some() {
        let r = paired("batch", 1, 0);
        targets.push(Target {
            what: "batch of 100: throughput ≥ 0.8× floor",
            figure: format!("{r:.2}× floor"),
            met: Some(r >= 0.8),
        });
    }
    if let Some(f) = get("echo") {
        let peak = f[1].inproc.peak / ECHO_BYTES as f64;
        targets.push(Target {
            what: "1 MiB echo: peak memory ≤ 4× payload",
            figure: format!("{peak:.3}× payload ({} bytes)", f[1].inproc.peak),
            met: Some(peak <= 4.0),
        });
        let r = paired("echo", 1, 2);
        targets.push(Target {
            what: "1 MiB echo: throughput ≥ jsonrpsee",
            figure: format!("{r:.2}× jsonrpsee"),
            met: Some(r >= 1.0),
        });
    }

    if opts.wants("client") {
        let url = format!("http://{}/", servers.ours);
        let conns = 16;
        let (ours, theirs, spread, paired) = load_rt.block_on(async {
            let ours_client = BenchClient::new(&url).unwrap_or_else(|e| fail(e));
            // The generated notification sender works too (and the server takes it).
            ours_client
                .notify()
                .notify_one(7)
                .await
                .unwrap_or_else(|e| fail(format!("our client's notification: {e}")));
            let theirs_client = jsonrpsee::http_client::HttpClient::builder()
                .build(&url)
                .unwrap_or_else(|e| fail(e));
            let ours_call = async move || match ours_client.subtract(42, 23).await {
                Ok(19) => Ok(()),
                other => Err(format!("our client: {other:?}")),
            };
            let theirs_call = async move || match theirs_client.subtract(42, 23).await {
                Ok(19) => Ok(()),
                other => Err(format!("jsonrpsee's client: {other:?}")),
            };
            let n = opts.inproc_calls(2000);
            let ours_allocs = client_allocs(&ours_call, n).await;
            let theirs_allocs = client_allocs(&theirs_call, n).await;
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..opts.rounds {
                ours.push(client_round(ours_call.clone(), &opts, conns).await);
                theirs.push(client_round(theirs_call.clone(), &opts, conns).await);
            }
            let spread = |r: &[ClientFigures]| {
                r.iter()
                    .map(|f| si(f.outcome.throughput()))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            let spread = format!("ours {}; jsonrpsee {}", spread(&ours), spread(&theirs));
            let paired = median(
                ours.iter()
                    .zip(&theirs)
                    .map(|(a, b)| a.outcome.throughput() / b.outcome.throughput())
                    .collect(),
            );
            let mut ours = median_client_round(ours);
            let mut theirs = median_client_round(theirs);
            ours.allocs = ours_allocs;
            theirs.allocs = theirs_allocs;
            (ours, theirs, spread, paired)
        });
        println!(
            "## (f) client side: typed `subtract(42, 23)` against our server\n\n{conns} \
             concurrent callers sharing one client; the client runs on the load generator's \
             CPU, the server on its own.\n"
        );
        let both = [&ours, &theirs];
        let metric = |get: &dyn Fn(&ClientFigures) -> f64| -> Vec<String> {
            both.iter()
                .map(|x| {
                    let v = get(x);
                    let r = v / get(&theirs);
                    format!("{} ({r:.2}×J)", si(v))
                })
                .collect()
        };
        let columns: Vec<(&str, Vec<String>)> = vec![
            ("calls/s", metric(&|x| x.outcome.throughput())),
            ("p50 µs", metric(&|x| x.outcome.latency_us(0.50))),
            ("p99 µs", metric(&|x| x.outcome.latency_us(0.99))),
            ("client CPU µs/call", metric(&|x| opt(x.cpu_us))),
            ("client allocs/call", metric(&|x| x.allocs)),
        ];
        let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
        let rows: Vec<(String, Vec<String>)> =
            ["ours (generated BenchClient)", "jsonrpsee HttpClient"]
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    (
                        (*name).to_owned(),
                        columns.iter().map(|(_, c)| c[i].clone()).collect(),
                    )
                })
                .collect();
        println!(
            "{}",
            table(&headers, &rows).replacen("| server |", "| client |", 1)
        );
        if opts.rounds > 1 {
            println!("calls/s of each round: {spread}.\n");
        }
        let r = paired;
        targets.push(Target {
            what: "client: calls/s ≥ 1.2× jsonrpsee's HttpClient",
            figure: format!("{r:.2}× jsonrpsee"),
            met: Some(r >= 1.2),
        });
    }

    targets.push(Target {
        what: "50-method trait: build time ≤ 0.7× jsonrpsee's",
        figure: "see scripts/bench-build-time.sh".into(),
        met: None,
    });
    println!(
        "## Targets\n\nThroughput ratios are medians of the per-round ratios (the servers take \
         turns, so each round compares them under the same conditions).\n\n\
         | target | figure | |\n|---|---|---|"
    );
    for t in &targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "–",
        };
        println!("| {} | {} | {verdict} |", t.what, t.figure);
    }
    if opts.smoke {
        println!("\n(smoke run: figures are indicative only)");
    }
    println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
}

/// The one-minute load average.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
