//! Profiling runs: the request path of one server or client in a loop of its own, for
//! `valgrind --tool=callgrind --toggle-collect='*profile_loop*'` (see BENCHMARKS.md).

use axum::body::Body;
use axum::http::Request;

use crate::cli::{Profile, fail, usage};
use crate::clients::{jsonrpsee_call, ours_call};
use crate::inproc::{self, Handler, ResponseBody};
use crate::measure::Servers;
use crate::servers::{self, BenchClient, Client, Server};
use crate::workloads::workloads;

/// Runs the profiling run `profile` asks for and prints what it did.
pub(crate) fn run(profile: &Profile) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("runtime: {e}")));
    match profile {
        Profile::Server {
            workload,
            server,
            calls,
            observed,
            rate_limited,
        } => {
            if *observed {
                observe();
            }
            let all = workloads();
            let w = all
                .iter()
                .find(|w| w.key == *workload)
                .unwrap_or_else(|| usage(&format!("no workload {workload}")));
            let n = calls.unwrap_or(if w.key == "echo" { 200 } else { 20_000 });
            let p = w.path(*server);
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
                Server::Strict => {
                    let svc = servers::strict();
                    profile_loop(&runtime, &svc, make())
                }
                Server::Ours if *rate_limited => {
                    let limit = rpc_server::middleware::RateLimit::per_method(1 << 30, 1 << 30);
                    let svc = rpc_server::RpcService::new(servers::BenchServer(servers::Impl))
                        .layer(limit)
                        .into_router();
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
        Profile::Client { client, calls } => {
            let servers = Servers::start(None);
            let url = format!("http://{}/", servers.addr(Server::Ours));
            let n = calls.unwrap_or(20_000);
            match client {
                Client::Ours => {
                    let call = ours_call(BenchClient::new(&url).unwrap_or_else(|e| fail(e)));
                    // Warm up (connection, pools) outside the profiled loop.
                    profile_warmup(&runtime, &call);
                    profile_loop_client(&runtime, call, n);
                }
                Client::Jsonrpsee => {
                    // jsonrpsee's client starts its own tasks: build it inside the runtime.
                    let call = runtime.block_on(async { jsonrpsee_call(&url) });
                    profile_warmup(&runtime, &call);
                    profile_loop_client(&runtime, call, n);
                }
            }
            println!("{n} client calls done");
        }
    }
}

/// A subscriber at INFO writing to a sink and the Prometheus recorder, installed for the whole
/// process (the overhead bench's "observed" setup), and the recorder's upkeep on a thread.
fn observe() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .unwrap_or_else(|e| fail(format!("subscriber: {e}")));
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap_or_else(|e| fail(format!("recorder: {e}")));
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            handle.run_upkeep();
        }
    });
}

/// The loop a profiler looks at: `requests` through `svc`, nothing else. Not `async`, so that it
/// stays a function of its own (an `async fn`'s body may be inlined into its caller's poll).
#[inline(never)]
fn profile_loop<S, B>(
    runtime: &tokio::runtime::Runtime,
    svc: &S,
    requests: Vec<Request<Body>>,
) -> usize
where
    S: Handler<B>,
    B: ResponseBody,
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

fn profile_warmup<F: AsyncFn() -> Result<(), String>>(runtime: &tokio::runtime::Runtime, call: &F) {
    runtime.block_on(async {
        for _ in 0..20 {
            call().await.unwrap_or_else(|e| fail(e));
        }
    });
}
