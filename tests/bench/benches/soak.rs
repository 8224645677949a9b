//! The honest-load soak: a million calls over 64 keep-alive connections to `spec_server`'s app,
//! served by `rpc_server::serve` on 127.0.0.1, with the process's resident memory reported at
//! intervals. Memory that grows from one interval to the next under a steady load is a leak;
//! the figures should level off after the first seconds.
//!
//! ```text
//! cargo bench -p rpc-bench --bench soak                 # 1,000,000 calls
//! cargo bench -p rpc-bench --bench soak -- --smoke      # 2,000 calls
//! cargo bench -p rpc-bench --bench soak -- --calls 5000000
//! ```

#[path = "compare/load.rs"]
#[allow(dead_code)] // The compare bench's load generator, of which this uses the load loop.
mod load;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The process's resident set, in MiB, from `/proc/self/status` (0 where there is none).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let calls: u64 = args
        .iter()
        .position(|a| a == "--calls")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if smoke { 2_000 } else { 1_000_000 });

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the server's runtime");
    let addr = server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { rpc_server::serve(listener, examples::spec::app()).await });
        addr
    });

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                samples.push((started.elapsed().as_secs_f64(), rss_mib()));
                std::thread::sleep(Duration::from_millis(if smoke { 100 } else { 1000 }));
            }
            samples.push((started.elapsed().as_secs_f64(), rss_mib()));
            samples
        })
    };

    let body = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let request = Arc::new(load::http_request("/rpc", body));
    let plan = load::Plan {
        conns: 64,
        warmup: Duration::ZERO,
        measure: Duration::from_secs(3600),
        max_requests: calls,
    };
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the load's runtime");
    let before = rss_mib();
    let outcome = client
        .block_on(load::run(addr, request, plan, async |_| {}))
        .expect("every call is answered 200");
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().expect("the sampler");

    println!(
        "{} calls over 64 connections in {:.1} s: {:.0} calls/s, p50 {:.0} µs, p99 {:.0} µs, 0 failed",
        outcome.requests,
        outcome.elapsed.as_secs_f64(),
        outcome.throughput(),
        outcome.latency_us(0.5),
        outcome.latency_us(0.99),
    );
    println!("resident memory of the process (server and load generator), MiB:");
    for (t, rss) in &samples {
        println!("  {t:>6.1} s  {rss:>7.1}");
    }
    let peak = samples.iter().map(|s| s.1).fold(before, f64::max);
    let last = samples.last().map_or(before, |s| s.1);
    println!(
        "before {before:.1}, peak {peak:.1}, after {last:.1} (the load generator keeps every latency: 8 bytes a call)"
    );
    assert!(outcome.requests >= calls, "every call ran");
}
