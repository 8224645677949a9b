//! What observability and middleware cost per call, side by side in one run: the same endpoint
//! plain (no subscriber, no recorder, no layer) and observed (a production subscriber at INFO,
//! the Prometheus recorder, and a per-method rate limit that never refuses), on a small call
//! and a batch of 100:
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

/// Serves `app` on 127.0.0.1 from a thread of its own, with `observed`'s subscriber and
/// recorder as that thread's defaults (or none).
fn serve_on_thread(
    app: axum::Router,
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
            axum::serve(listener, app).await.expect("serve");
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

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let budget = if smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };

    let plain = RpcService::new(CalcServer(Impl));
    let observed = RpcService::new(CalcServer(Impl))
        .layer(RateLimit::per_method(1_000_000_000, 1_000_000_000));
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let prometheus = recorder.handle();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    let dispatch = tracing::Dispatch::new(subscriber);

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

    // Both setups answer the same.
    for body in [small, batch] {
        assert_eq!(plain_handle(request(body)), observed_handle(request(body)));
    }

    let http_observed = (
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::sink)
                .finish(),
        ),
        metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder(),
    );
    let http_prometheus = http_observed.1.handle();
    let route = |endpoint| axum::Router::new().route("/rpc", endpoint);
    let plain_addr = serve_on_thread(
        route(RpcService::new(CalcServer(Impl)).into_method_router()),
        None,
    );
    let observed_addr = serve_on_thread(
        route(
            RpcService::new(CalcServer(Impl))
                .layer(RateLimit::per_method(1_000_000_000, 1_000_000_000))
                .into_method_router(),
        ),
        Some(http_observed),
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
    println!("over HTTP on 127.0.0.1, 4 connections (requests per second, higher is better)");
    println!(
        "{:<14} {:>12} {:>12} {:>9}",
        "workload", "plain", "observed", "overhead"
    );
    let mut worst_http: f64 = 0.0;
    for (name, body) in [("small call", small), ("batch of 100", batch)] {
        let (mut plain_rate, mut observed_rate) = (0.0f64, 0.0f64);
        for _ in 0..rounds {
            plain_rate = plain_rate.max(http_rate(&load_runtime, plain_addr, body, measure));
            observed_rate =
                observed_rate.max(http_rate(&load_runtime, observed_addr, body, measure));
        }
        let overhead = plain_rate / observed_rate - 1.0;
        worst_http = worst_http.max(overhead);
        println!(
            "{name:<14} {plain_rate:>12.0} {observed_rate:>12.0} {:>+8.1}%",
            overhead * 100.0
        );
    }
    assert!(
        http_prometheus.render().contains("rpc_server_duration"),
        "the observed server recorded metrics"
    );
    println!(
        "over HTTP: {:+.1}% at worst (target: under 5%)\n",
        worst_http * 100.0
    );
    println!("observability and middleware overhead, in process (ns per request, lower is better)");
    println!(
        "{:<14} {:>12} {:>12} {:>8}",
        "workload", "plain", "observed", "ratio"
    );
    let mut worst: f64 = 0.0;
    for (name, body, iterations) in [("small call", small, 2_000u32), ("batch of 100", batch, 40)] {
        // Alternate short rounds of each so that drift hits both alike; keep each one's best.
        let (mut best_plain, mut best_observed) = (f64::MAX, f64::MAX);
        let started = Instant::now();
        while started.elapsed() < budget {
            best_plain = best_plain.min(time(&plain_handle, body, iterations));
            best_observed = best_observed.min(time(&observed_handle, body, iterations));
        }
        let ratio = best_observed / best_plain;
        worst = worst.max(ratio);
        println!("{name:<14} {best_plain:>12.0} {best_observed:>12.0} {ratio:>8.3}");
    }
    let calls = prometheus
        .render()
        .lines()
        .filter(|l| l.starts_with("rpc_server_duration_count"))
        .count();
    assert!(calls > 0, "the observed runs recorded metrics");
    println!(
        "overhead: {:+.1}% at worst (target: under 5%)",
        (worst - 1.0) * 100.0
    );
}
