//! Measuring the servers: their pinned runtime, the HTTP load rounds with the server thread's CPU
//! and allocations, and the in-process allocation counts.

use std::net::SocketAddr;
use std::sync::Arc;

use bench_support::{Stats, current_tid, thread_cpu_ns, thread_stats};

use crate::cli::{Options, fail};
use crate::inproc::{self, Allocs, Handler, ResponseBody};
use crate::load::{self, Outcome};
use crate::servers::{self, PerServer, SERVERS, Server};
use crate::workloads::Workload;

/// The servers' side of the process: a one-worker runtime pinned to its own CPU.
pub(crate) struct Servers {
    runtime: tokio::runtime::Runtime,
    worker_tid: u32,
    addrs: PerServer<SocketAddr>,
}

impl Servers {
    /// Starts the four servers on one worker thread, pinned to `cpu` when given.
    pub(crate) fn start(cpu: Option<usize>) -> Servers {
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
        let worker_tid = runtime.block_on(async {
            tokio::spawn(async { current_tid() })
                .await
                .expect("the worker answers")
        });
        let addrs = PerServer::from_fn(|server| {
            runtime
                .block_on(servers::start(server))
                .unwrap_or_else(|e| fail(format!("bind: {e}")))
        });
        Servers {
            runtime,
            worker_tid,
            addrs,
        }
    }

    /// Where `server` listens.
    pub(crate) fn addr(&self, server: Server) -> SocketAddr {
        self.addrs[server]
    }

    /// The worker thread's allocation counters, read on the worker itself.
    async fn worker_stats(&self) -> Stats {
        self.runtime
            .spawn(async { thread_stats() })
            .await
            .expect("the worker answers")
    }
}

/// One server's figures for one workload.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub(crate) outcome: Outcome,
    /// CPU the server's worker thread used per HTTP request, in µs.
    pub(crate) cpu_us: Option<f64>,
    /// Allocator calls the server's worker thread made per HTTP request (hyper included).
    pub(crate) http_allocs: Option<f64>,
    /// In-process allocations per HTTP request's worth of calls.
    pub(crate) inproc: Allocs,
}

/// Everything measured on one workload.
pub(crate) struct WorkloadResult {
    /// Each server's median round, with its in-process figures.
    pub(crate) figures: PerServer<Figures>,
    /// Each server's throughput in each round, in the order the rounds ran.
    pub(crate) round_throughputs: PerServer<Vec<f64>>,
}

impl WorkloadResult {
    /// The median over rounds of `a`'s throughput over `b`'s in the same round: the servers take
    /// turns, so a slow stretch of the machine hits both sides of a ratio.
    pub(crate) fn paired_ratio(&self, a: Server, b: Server) -> f64 {
        let (a, b) = (&self.round_throughputs[a], &self.round_throughputs[b]);
        median(a.iter().zip(b).map(|(x, y)| x / y).collect())
    }
}

/// Checks every server's answer to `w`, then measures `w` on each: HTTP load in rounds taken in
/// turn, then the in-process allocations.
pub(crate) fn run_workload(
    load_rt: &tokio::runtime::Runtime,
    servers: &Servers,
    w: &Workload,
    opts: &Options,
) -> WorkloadResult {
    for server in SERVERS {
        load_rt.block_on(async {
            if let Err(e) = check_http(servers, server, w).await {
                fail(format!("{}: {} over HTTP: {e}", w.key, server.name()));
            }
        });
    }
    let mut rounds: PerServer<Vec<Figures>> = PerServer::default();
    for _ in 0..opts.rounds {
        for server in SERVERS {
            let f = load_rt
                .block_on(run_http(servers, server, w, opts))
                .unwrap_or_else(|e| fail(format!("{}: {}: {e}", w.key, server.name())));
            rounds[server].push(f);
        }
    }
    let round_throughputs = PerServer::from_fn(|server| {
        rounds[server]
            .iter()
            .map(|f| f.outcome.throughput())
            .collect()
    });
    let inproc = run_inproc(w, opts);
    let figures = rounds.map(|server, rounds| Figures {
        inproc: inproc[server],
        ..median_round(rounds)
    });
    WorkloadResult {
        figures,
        round_throughputs,
    }
}

/// Sends one request over HTTP and checks the answer.
async fn check_http(servers: &Servers, server: Server, w: &Workload) -> Result<(), String> {
    check_at(servers.addr(server), w.path(server), w).await
}

/// Sends `w` once to `addr` at `path` and judges the answer.
pub(crate) async fn check_at(addr: SocketAddr, path: &str, w: &Workload) -> Result<(), String> {
    let request = load::http_request(path, &w.body);
    let mut conn = load::Conn::open(addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let answer = conn.round_trip(&request).await.map_err(|e| e.to_string())?;
    let body = conn.body(&answer);
    if answer.status != 200 {
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(300)]);
        return Err(format!("HTTP {}: {excerpt}", answer.status));
    }
    w.judge(body)
}

/// Runs the HTTP load of `w` against `server`.
async fn run_http(
    servers: &Servers,
    server: Server,
    w: &Workload,
    opts: &Options,
) -> std::io::Result<Figures> {
    let request = Arc::new(load::http_request(w.path(server), &w.body));
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

/// The median of `v`; NaN when it is empty.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
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

/// The in-process allocation figures of `w` for each server.
fn run_inproc(w: &Workload, opts: &Options) -> PerServer<Allocs> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    let n = opts.inproc_calls(w.inproc_calls);
    let warmup = if w.key == "slow" { 2 } else { 20 };
    runtime.block_on(async {
        let floor = servers::floor();
        let strict = servers::strict();
        let ours = servers::ours();
        let jsonrpsee = servers::jsonrpsee_service();
        // Check the in-process path answers as the HTTP one does.
        check_inproc(Server::Floor, &floor, w).await;
        check_inproc(Server::Strict, &strict, w).await;
        check_inproc(Server::Ours, &ours, w).await;
        check_inproc(Server::Jsonrpsee, &jsonrpsee, w).await;
        let mut allocs = PerServer::<Allocs>::default();
        allocs[Server::Floor] = measure_inproc(Server::Floor, &floor, w, warmup, n).await;
        allocs[Server::Strict] = measure_inproc(Server::Strict, &strict, w, warmup, n).await;
        allocs[Server::Ours] = measure_inproc(Server::Ours, &ours, w, warmup, n).await;
        allocs[Server::Jsonrpsee] =
            measure_inproc(Server::Jsonrpsee, &jsonrpsee, w, warmup, n).await;
        allocs
    })
}

/// Fails the benchmark unless `svc`, called in process, answers `w` rightly.
async fn check_inproc<S, B>(server: Server, svc: &S, w: &Workload)
where
    S: Handler<B>,
    B: ResponseBody,
{
    let (status, text) = inproc::call_text(svc, w.path(server), &w.body).await;
    if status != 200 || w.judge(text.as_bytes()).is_err() {
        fail(format!(
            "{}: {} in process answered {status}: {}",
            w.key,
            server.name(),
            &text[..text.len().min(300)]
        ));
    }
}

/// `svc`'s allocations for `w`: `n` calls counted after `warmup` calls.
async fn measure_inproc<S, B>(
    server: Server,
    svc: &S,
    w: &Workload,
    warmup: usize,
    n: usize,
) -> Allocs
where
    S: Handler<B>,
    B: ResponseBody,
{
    inproc::measure(svc, w.path(server), &w.body, warmup, n).await
}
