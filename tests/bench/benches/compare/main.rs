//! Side by side: our `#[rpc]` server, jsonrpsee's HTTP server, the "floor" (a hand-written axum
//! handler doing plain serde) and the "strict floor" (the same, borrowing: `&str`s and a
//! `&RawValue` id, one output buffer), on the same methods, over 127.0.0.1; then our typed
//! client against jsonrpsee's `HttpClient`.
//!
//! ```text
//! cargo bench -p rpc-bench --bench compare               # the full run, ~3 s per server and workload
//! cargo bench -p rpc-bench --bench compare -- --smoke    # ~0.2 s each: checks that it all works
//! cargo bench -p rpc-bench --bench compare -- --duration 5 --only small,batch
//! ```
//!
//! The load generator runs on one CPU and the servers' runtime (one worker thread) on another;
//! allocations are counted per thread by the counting allocator of `tests/bench/support`. See
//! BENCHMARKS.md for what each figure means.

mod cli;
mod clients;
mod external;
mod inproc;
mod load;
mod measure;
mod profile;
mod report;
// `#[rpc]` generates a whole client API (batches, notifications) of which the benchmark calls a
// part only.
#[allow(dead_code)]
mod servers;
mod workloads;

use std::time::Instant;

use cli::{Options, fail};
use measure::Servers;
use servers::Server;

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

fn main() {
    let opts = Options::parse();
    if let Some(profile) = &opts.profile {
        return profile::run(profile);
    }
    if let Some(server) = opts.serve {
        return serve_only(server);
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
    if let Some(load) = report::load_average()
        && load > 1.0
    {
        println!(
            "note: load average {load:.2} before starting: other processes compete for the \
             CPUs, so the figures will be noisy\n"
        );
    }
    report::preamble(&opts, load_cpu, server_cpu);

    let load_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));

    if !opts.against.is_empty() {
        external::run(&load_rt, &servers, &opts.against, &opts);
        println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
        return;
    }

    let mut results = Vec::new();
    for w in workloads::workloads().iter().filter(|w| opts.wants(w.key)) {
        let result = measure::run_workload(&load_rt, &servers, w, &opts);
        report::workload(w, &result, &opts);
        results.push((w.key, result));
    }
    let result = |key: &str| results.iter().find(|(k, _)| *k == key).map(|(_, r)| r);
    let mut targets = report::server_targets(result("small"), result("batch"), result("echo"));

    if opts.wants("client") {
        let url = format!("http://{}/", servers.addr(Server::Ours));
        let clients = load_rt.block_on(clients::run(&url, &opts));
        report::clients(&clients, &opts);
        targets.push(report::client_target(&clients));
    }

    targets.push(report::build_time_target());
    report::targets(&targets, &opts);
    println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
}

/// `--serve NAME`: serves that one server on a free port of 127.0.0.1 (one worker thread, as the
/// benchmark's) and prints its address, until the process is killed: to load it, or profile it
/// over real HTTP, from another process.
fn serve_only(server: Server) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    runtime.block_on(async {
        let addr = servers::start(server)
            .await
            .unwrap_or_else(|e| fail(format!("{}: {e}", server.name())));
        println!("{} listening on {addr}", server.name());
        std::future::pending::<()>().await;
    });
}
