//! Many tasks, one client: 32 concurrent callers of typed `subtract(42, 23)` sharing one client,
//! against our server on 127.0.0.1. Our client with automatic batching (`AutoBatch`), our plain
//! client, and jsonrpsee's `HttpClient` take turns, round by round; the figures are calls per
//! second, latency, the client's CPU per call and calls per HTTP request, and the ratios the
//! issue sets as targets: batching ≥ 2× jsonrpsee's calls/s, with its p50 at most 1 ms above
//! the plain client's.
//!
//! ```text
//! cargo bench -p rpc-bench --bench autobatch                  # 5 rounds of 1 s per client
//! cargo bench -p rpc-bench --bench autobatch -- --smoke       # checks the answers, ~1 s
//! cargo bench -p rpc-bench --bench autobatch -- --rounds 9 --duration 2
//! ```
//!
//! Placement as in the `compare` bench: the callers and the client on a current-thread runtime
//! pinned to the first allowed CPU, the server's runtime (one worker) on the second.

#[path = "compare/load.rs"]
#[allow(dead_code)] // The compare bench's load generator, of which this uses the client loop.
mod load;
#[path = "compare/servers.rs"]
#[allow(dead_code)] // The compare bench's servers, of which this uses ours and the clients.
mod servers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bench_support::{current_tid, thread_cpu_ns};
use servers::{BenchClient, JBenchClient as _};

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

/// Concurrent callers sharing one client.
const CALLERS: usize = 32;

/// The clients compared, in the order they take turns.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Contender {
    Batching,
    Plain,
    Jsonrpsee,
}

const CONTENDERS: [Contender; 3] = [Contender::Batching, Contender::Plain, Contender::Jsonrpsee];

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Batching => "ours, AutoBatch::new()",
            Contender::Plain => "ours, plain",
            Contender::Jsonrpsee => "jsonrpsee HttpClient",
        }
    }
}

/// One round of one client.
struct Round {
    outcome: load::Outcome,
    cpu_us: f64,
    /// HTTP requests the server got per call.
    requests_per_call: f64,
}

fn fail(why: impl std::fmt::Display) -> ! {
    eprintln!("autobatch bench: {why}");
    std::process::exit(1)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    let value = args.get(i + 1).and_then(|v| v.parse().ok());
    Some(value.unwrap_or_else(|| fail(format!("{name} takes a number"))))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let rounds: usize = arg(&args, "--rounds").unwrap_or(if smoke { 1 } else { 5 });
    let seconds: f64 = arg(&args, "--duration").unwrap_or(if smoke { 0.2 } else { 1.0 });
    let plan = load::Plan {
        conns: CALLERS,
        warmup: Duration::from_secs_f64(if smoke { 0.05 } else { 0.3 }),
        measure: Duration::from_secs_f64(seconds),
        max_requests: u64::MAX,
    };

    let cpus = bench_support::allowed_cpus();
    let (load_cpu, server_cpu) = match cpus.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    };
    if let Some(cpu) = load_cpu
        && let Err(e) = bench_support::pin_current_thread(cpu)
    {
        println!("note: could not pin the callers to CPU {cpu} ({e}); continuing unpinned");
    }
    // Our server, with a count of the HTTP requests it gets.
    let requests = Arc::new(AtomicU64::new(0));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .on_thread_start(move || {
            if let Some(cpu) = server_cpu {
                let _ = bench_support::pin_current_thread(cpu);
            }
        })
        .build()
        .unwrap_or_else(|e| fail(e));
    let addr = {
        let requests = requests.clone();
        server_rt.block_on(async move {
            let app = servers::ours().layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    requests.fetch_add(1, Ordering::Relaxed);
                    next.run(request)
                },
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| fail(e));
            let addr = listener.local_addr().unwrap_or_else(|e| fail(e));
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        })
    };
    let url = format!("http://{addr}/");
    if let Some(load) = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        && load > 1.0
    {
        println!("note: load average {load:.2} before starting: the figures will be noisy\n");
    }
    println!(
        "{CALLERS} concurrent callers of subtract(42, 23) sharing one client; {rounds} round(s) of \
         {seconds} s per client after {:?} of warm-up, taking turns; callers on CPU {load_cpu:?}, \
         server on CPU {server_cpu:?}\n",
        plan.warmup
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e));
    let results = rt.block_on(measure(&url, plan, rounds, &requests));
    let (ratio, added) = report(&results);

    // A caller alone: what the trip through the gathering task costs a call that has no one
    // to share a request with.
    let alone = load::Plan { conns: 1, ..plan };
    println!("\nOne caller alone, the same rounds:\n");
    let results = rt.block_on(measure(&url, alone, rounds, &requests));
    let added_alone = report_alone(&results);

    if smoke {
        println!("\n(smoke run: the answers were checked; the figures are no measurement)");
    } else {
        let met = |ok: bool| if ok { "met" } else { "not met" };
        println!(
            "\ntargets: calls/s ≥ 2× jsonrpsee: {}; p50 ≤ +1 ms with {CALLERS} callers: {}, alone: {}",
            met(ratio >= 2.0),
            met(added <= 1.0),
            met(added_alone <= 1.0)
        );
    }
}

/// `rounds` rounds of each contender in turn, under `plan`.
async fn measure(
    url: &str,
    plan: load::Plan,
    rounds: usize,
    requests: &AtomicU64,
) -> Vec<Vec<Round>> {
    let batching = BenchClient::builder(url)
        .auto_batch(rpc_client::AutoBatch::new())
        .build()
        .unwrap_or_else(|e| fail(e));
    let plain = BenchClient::new(url).unwrap_or_else(|e| fail(e));
    let theirs = jsonrpsee::http_client::HttpClient::builder()
        .build(url)
        .unwrap_or_else(|e| fail(e));
    let mut results: Vec<Vec<Round>> = CONTENDERS.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, contender) in CONTENDERS.into_iter().enumerate() {
            let round = match contender {
                Contender::Batching => {
                    let client = batching.clone();
                    run(plan, requests, async move || client.subtract(42, 23).await).await
                }
                Contender::Plain => {
                    let client = plain.clone();
                    run(plan, requests, async move || client.subtract(42, 23).await).await
                }
                Contender::Jsonrpsee => {
                    let client = theirs.clone();
                    run(plan, requests, async move || client.subtract(42, 23).await).await
                }
            };
            results[i].push(round);
        }
    }
    results
}

/// One round of `call` from `plan.conns` tasks; every answer must be 19.
async fn run<F, E>(plan: load::Plan, requests: &AtomicU64, call: F) -> Round
where
    F: AsyncFn() -> Result<i64, E> + Clone + 'static,
    E: std::fmt::Debug,
{
    let checked = async move || match call().await {
        Ok(19) => Ok(()),
        other => Err(format!("subtract(42, 23): {other:?}")),
    };
    let tid = current_tid();
    let before = std::cell::Cell::new((0, 0));
    let after = std::cell::Cell::new((0, 0));
    let outcome = load::run_client(plan, checked, async |starting| {
        let now = (
            thread_cpu_ns(tid).unwrap_or(0),
            requests.load(Ordering::Relaxed),
        );
        if starting {
            before.set(now);
        } else {
            after.set(now);
        }
    })
    .await
    .unwrap_or_else(|e| fail(e));
    let calls = outcome.requests.max(1) as f64;
    Round {
        cpu_us: (after.get().0 - before.get().0) as f64 / 1e3 / calls,
        // Requests counted from the start to the end of the measured stretch, a little wider
        // than the calls measured (those answered after it): a slight overestimate.
        requests_per_call: (after.get().1 - before.get().1) as f64 / calls,
        outcome,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The table of median rounds, and each round's calls/s.
fn table(results: &[Vec<Round>]) {
    println!("| client | calls/s | p50 µs | p99 µs | client CPU µs/call | HTTP requests/call |");
    println!("|---|---:|---:|---:|---:|---:|");
    let figure = |i: usize, f: &dyn Fn(&Round) -> f64| median(results[i].iter().map(f).collect());
    for (i, contender) in CONTENDERS.into_iter().enumerate() {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.3} |",
            contender.name(),
            figure(i, &|r| r.outcome.throughput()),
            figure(i, &|r| r.outcome.latency_us(0.5)),
            figure(i, &|r| r.outcome.latency_us(0.99)),
            figure(i, &|r| r.cpu_us),
            figure(i, &|r| r.requests_per_call),
        );
    }
    println!();
    for (i, contender) in CONTENDERS.into_iter().enumerate() {
        let rounds: Vec<_> = results[i]
            .iter()
            .map(|r| format!("{:.0}", r.outcome.throughput()))
            .collect();
        println!(
            "calls/s of each round, {}: {}",
            contender.name(),
            rounds.join(" / ")
        );
    }
}

/// The median over rounds of `f` of contenders `a` and `b` in the same round (the clients
/// take turns, so each round compares them under the same conditions).
fn paired(results: &[Vec<Round>], a: usize, b: usize, f: impl Fn(&Round, &Round) -> f64) -> f64 {
    median(
        results[a]
            .iter()
            .zip(&results[b])
            .map(|(x, y)| f(x, y))
            .collect(),
    )
}

fn throughput_ratio(x: &Round, y: &Round) -> f64 {
    x.outcome.throughput() / y.outcome.throughput()
}

/// How much later `x`'s median call was answered than `y`'s, in ms.
fn added_p50_ms(x: &Round, y: &Round) -> f64 {
    (x.outcome.latency_us(0.5) - y.outcome.latency_us(0.5)) / 1e3
}

/// Prints the figures of the run with many callers; returns batching's calls/s over
/// jsonrpsee's and its added p50.
fn report(results: &[Vec<Round>]) -> (f64, f64) {
    table(results);
    let batching_vs_jsonrpsee = paired(results, 0, 2, throughput_ratio);
    let added = paired(results, 0, 1, added_p50_ms);
    println!();
    println!("batching / jsonrpsee calls/s: {batching_vs_jsonrpsee:.2}× (target ≥ 2×)");
    println!(
        "plain / jsonrpsee calls/s: {:.2}×",
        paired(results, 1, 2, throughput_ratio)
    );
    println!(
        "batching / plain calls/s: {:.2}×",
        paired(results, 0, 1, throughput_ratio)
    );
    println!("batching p50 − plain p50: {added:+.3} ms (target ≤ +1 ms)");
    (batching_vs_jsonrpsee, added)
}

/// Prints the figures of the lone caller; returns batching's added p50.
fn report_alone(results: &[Vec<Round>]) -> f64 {
    table(results);
    let added = paired(results, 0, 1, added_p50_ms);
    println!("\nalone: batching p50 − plain p50: {added:+.3} ms (target ≤ +1 ms)");
    added
}
