//! What observability and middleware cost per call, side by side in one run: the same endpoint
//! three ways, on a small call and a batch of 100:
//!
//! - **plain**: no subscriber, no recorder, no layer;
//! - **observed**: a production subscriber at INFO and the Prometheus recorder (target: within
//!   3% of plain);
//! - **observed + rate limit**: the same with a per-method `RateLimit` that never refuses
//!   (target: within 5% of observed, the layer's own cost; and the whole against plain).
//!
//! And what `rpc_server::serve` (its limits and timers all on, as shipped) costs against
//! `axum::serve`, over HTTP, with the plain endpoint (target: within 3%).
//!
//! Each measured:
//!
//! - **over HTTP** on 127.0.0.1, as a client sees it: each server on a thread of its own whose
//!   subscriber and recorder are its own, loaded in turn by the closed-loop load generator of
//!   the `compare` bench; the figure the target is about;
//! - **in process**, `RpcService::handle` driven directly: an upper bound, since there the
//!   call is all there is.
//!
//! ```text
//! cargo bench -p rpc-bench --bench overhead              # ~2 s per workload and setup
//! cargo bench -p rpc-bench --bench overhead -- --smoke   # a short run that checks the answers
//! ```

#[path = "compare/load.rs"]
#[allow(dead_code)] // The compare bench's load generator, of which this uses the load loop.
mod load;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use rpc_core::rpc;
use rpc_server::RpcService;
use rpc_server::middleware::RateLimit;

/// The benchmark's service.
#[rpc(server)]
pub trait Calc {
    /// `a + b`.
    async fn add(&self, a: i64, b: i64) -> i64;
}

struct Impl;

impl Calc for Impl {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
}

/// Polls `fut` to completion on this thread; the endpoint's futures never wait on I/O here.
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = fut.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn request(body: &'static str) -> Request {
    Request::post("/rpc")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("a valid request")
}

/// Nanoseconds per request of `handle` over `iterations` requests of `body`.
fn time(handle: &dyn Fn(Request) -> usize, body: &'static str, iterations: u32) -> f64 {
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += handle(request(body));
    }
    std::hint::black_box(bytes);
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

/// Serves `app` on 127.0.0.1 from a thread of its own, with `rpc_server::serve` when `ours`
/// (else `axum::serve`), and `observed`'s subscriber and recorder as that thread's defaults (or
/// none).
fn serve_on_thread(
    app: axum::Router,
    ours: bool,
    observed: Option<(
        tracing::Dispatch,
        metrics_exporter_prometheus::PrometheusRecorder,
    )>,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (dispatch, recorder) = match observed {
            Some((dispatch, recorder)) => (Some(dispatch), Some(recorder)),
            None => (None, None),
        };
        let _tracing = dispatch.as_ref().map(tracing::dispatcher::set_default);
        let _metrics = recorder
            .as_ref()
            .map(|r| metrics::set_default_local_recorder(r));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("an address"))
                .expect("the bench waits");
            if ours {
                rpc_server::serve(listener, app).await.expect("serve");
            } else {
                axum::serve(listener, app).await.expect("serve");
            }
        });
    });
    rx.recv().expect("the server starts")
}

/// Requests per second of the best of `rounds` closed-loop runs of `body` against `addr`.
fn http_rate(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    body: &str,
    measure: Duration,
) -> f64 {
    let request = Arc::new(load::http_request("/rpc", body.as_bytes()));
    let plan = load::Plan {
        conns: 4,
        warmup: Duration::from_millis(100),
        measure,
        max_requests: u64::MAX,
    };
    let outcome = runtime
        .block_on(load::run(addr, request, plan, async |_| {}))
        .expect("the load runs");
    outcome.throughput()
}

/// The setups measured, in the order they take turns.
const SETUPS: [&str; 3] = ["plain", "observed", "observed + rate limit"];

/// A subscriber at INFO writing to a sink, and the Prometheus recorder with its upkeep every 5 s
/// on a thread, as an application runs it (`examples::observability`): without the upkeep, the
/// recorder keeps every histogram sample until it is rendered, and the growing heap would be
/// measured along with the calls.
fn observers() -> (
    tracing::Dispatch,
    metrics_exporter_prometheus::PrometheusRecorder,
) {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let upkeep = recorder.handle();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        }
    });
    (tracing::Dispatch::new(subscriber), recorder)
}

/// A rate limit that never refuses.
fn never() -> RateLimit<fn(&rpc_server::middleware::Call<'_>) -> Option<()>> {
    RateLimit::per_method(1_000_000_000, 1_000_000_000)
}

/// `(overhead of observed over plain, of observed + rate limit over observed, of the whole)`,
/// from three costs (time per request, lower is better).
fn overheads(cost: [f64; 3]) -> [f64; 3] {
    [
        cost[1] / cost[0] - 1.0,
        cost[2] / cost[1] - 1.0,
        cost[2] / cost[0] - 1.0,
    ]
}

fn print_header(unit: &str) {
    println!(
        "{:<14} {:>11} {:>11} {:>11} {:>10} {:>10} {:>9}   ({unit})",
        "workload", SETUPS[0], SETUPS[1], "+ ratelimit", "observing", "ratelimit", "total"
    );
}

fn print_row(name: &str, figures: [f64; 3], cost: [f64; 3]) {
    let [o, r, t] = overheads(cost);
    println!(
        "{name:<14} {:>11.0} {:>11.0} {:>11.0} {:>+9.1}% {:>+9.1}% {:>+8.1}%",
        figures[0],
        figures[1],
        figures[2],
        o * 100.0,
        r * 100.0,
        t * 100.0
    );
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let budget = if smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };

    let plain = RpcService::new(CalcServer(Impl));
    let observed = RpcService::new(CalcServer(Impl));
    let limited = RpcService::new(CalcServer(Impl)).layer(never());
    let (dispatch, recorder) = observers();
    let prometheus = recorder.handle();

    let answer_len = |response: axum::response::Response| {
        let body = run(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("a body");
        body.len()
    };
    let plain_handle = |req: Request| answer_len(run(plain.handle(req)));
    let observed_handle = |req: Request| {
        metrics::with_local_recorder(&recorder, || {
            tracing::dispatcher::with_default(&dispatch, || answer_len(run(observed.handle(req))))
        })
    };
    let limited_handle = |req: Request| {
        metrics::with_local_recorder(&recorder, || {
            tracing::dispatcher::with_default(&dispatch, || answer_len(run(limited.handle(req))))
        })
    };
    let handles: [&dyn Fn(Request) -> usize; 3] =
        [&plain_handle, &observed_handle, &limited_handle];

    let small: &'static str = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let batch: &'static str = Box::leak(
        format!(
            "[{}]",
            (0..100)
                .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{i},1],"id":{i}}}"#))
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_boxed_str(),
    );

    // Every setup answers the same.
    for body in [small, batch] {
        let expected = plain_handle(request(body));
        for handle in &handles[1..] {
            assert_eq!(handle(request(body)), expected);
        }
    }

    let (http_dispatch, http_recorder) = observers();
    let http_prometheus = http_recorder.handle();
    let (limited_dispatch, limited_recorder) = observers();
    let route = |endpoint| axum::Router::new().route("/rpc", endpoint);
    let addrs = [
        serve_on_thread(
            route(RpcService::new(CalcServer(Impl)).into_method_router()),
            false,
            None,
        ),
        serve_on_thread(
            route(RpcService::new(CalcServer(Impl)).into_method_router()),
            false,
            Some((http_dispatch, http_recorder)),
        ),
        serve_on_thread(
            route(
                RpcService::new(CalcServer(Impl))
                    .layer(never())
                    .into_method_router(),
            ),
            false,
            Some((limited_dispatch, limited_recorder)),
        ),
    ];
    let served = serve_on_thread(
        route(RpcService::new(CalcServer(Impl)).into_method_router()),
        true,
        None,
    );
    let load_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let measure = if smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    let rounds = if smoke { 1 } else { 3 };
    println!(
        "over HTTP on 127.0.0.1, 4 connections, best of {rounds} rounds taken in turn; overheads: \
         observing = observed vs plain (target < 3%), ratelimit = + rate limit vs observed \
         (target < 5%), total = + rate limit vs plain"
    );
    print_header("requests per second, higher is better");
    let mut serve_rates = Vec::new();
    for (name, body) in [("small call", small), ("batch of 100", batch)] {
        let mut rate = [0.0f64; 3];
        let mut ours = 0.0f64;
        for _ in 0..rounds {
            for (best, addr) in rate.iter_mut().zip(addrs) {
                *best = best.max(http_rate(&load_runtime, addr, body, measure));
            }
            ours = ours.max(http_rate(&load_runtime, served, body, measure));
        }
        print_row(name, rate, rate.map(|r| 1.0 / r));
        serve_rates.push((name, rate[0], ours));
    }
    println!(
        "\nrpc_server::serve (every limit on) against axum::serve, the plain endpoint \
         (target: within 3%)"
    );
    for (name, axum, ours) in serve_rates {
        println!(
            "{name:<14} axum::serve {axum:>9.0}/s   serve {ours:>9.0}/s   {:+.1}% ({:.3}x)",
            (axum / ours - 1.0) * 100.0,
            ours / axum
        );
    }
    assert!(
        http_prometheus.render().contains("rpc_server_duration"),
        "the observed server recorded metrics"
    );
    println!("\nin process, best of alternating rounds for {budget:?}");
    print_header("ns per request, lower is better");
    for (name, body, iterations) in [("small call", small, 2_000u32), ("batch of 100", batch, 40)] {
        // Alternate short rounds of each so that drift hits all alike; keep each one's best.
        let mut best = [f64::MAX; 3];
        let started = Instant::now();
        while started.elapsed() < budget {
            for (best, handle) in best.iter_mut().zip(handles) {
                *best = best.min(time(handle, body, iterations));
            }
        }
        print_row(name, best, best);
    }
    let calls = prometheus
        .render()
        .lines()
        .filter(|l| l.starts_with("rpc_server_duration_count"))
        .count();
    assert!(calls > 0, "the observed runs recorded metrics");
}
