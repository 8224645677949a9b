//! The client side: our generated client and jsonrpsee's `HttpClient` calling our server, with
//! their calls per second, latency, CPU and allocations counted on the calling thread.

use bench_support::{current_tid, thread_cpu_ns, thread_stats};

use crate::cli::{Options, fail};
use crate::load::{self, Outcome};
use crate::measure::median;
use crate::servers::{BenchClient, Client, JBenchClient as _};

/// Concurrent callers sharing one client.
pub(crate) const CALLERS: usize = 16;

/// One client's figures.
#[derive(Debug, Default)]
pub(crate) struct ClientFigures {
    pub(crate) outcome: Outcome,
    /// CPU the client's thread used per call, in µs.
    pub(crate) cpu_us: Option<f64>,
    /// Allocator calls per call, counted on the client's thread.
    pub(crate) allocs: f64,
}

/// Both clients' figures.
pub(crate) struct ClientResult {
    pub(crate) ours: ClientFigures,
    pub(crate) jsonrpsee: ClientFigures,
    /// Each round's calls per second, ours then jsonrpsee's, for the report.
    pub(crate) spread: String,
    /// The median over rounds of our calls per second over jsonrpsee's in the same round.
    pub(crate) paired_ratio: f64,
}

impl ClientResult {
    /// `client`'s figures.
    pub(crate) fn get(&self, client: Client) -> &ClientFigures {
        match client {
            Client::Ours => &self.ours,
            Client::Jsonrpsee => &self.jsonrpsee,
        }
    }
}

/// Typed `subtract(42, 23)` calls through our generated client, as a closure that checks each
/// answer.
pub(crate) fn ours_call(client: BenchClient) -> impl AsyncFn() -> Result<(), String> + Clone {
    async move || match client.subtract(42, 23).await {
        Ok(19) => Ok(()),
        other => Err(format!("our client: {other:?}")),
    }
}

/// The same calls through jsonrpsee's `HttpClient` to `url`.
pub(crate) fn jsonrpsee_call(url: &str) -> impl AsyncFn() -> Result<(), String> + Clone + use<> {
    let client = jsonrpsee::http_client::HttpClient::builder()
        .build(url)
        .unwrap_or_else(|e| fail(e));
    async move || match client.subtract(42, 23).await {
        Ok(19) => Ok(()),
        other => Err(format!("jsonrpsee's client: {other:?}")),
    }
}

/// Measures both clients against our server at `url`: allocations first, then load rounds taken
/// in turn.
pub(crate) async fn run(url: &str, opts: &Options) -> ClientResult {
    let ours_client = if opts.client_http2 {
        // One connection, every caller's calls multiplexed on it.
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .unwrap_or_else(|e| fail(e));
        rpc_client::ClientBuilder::<BenchClient>::new(url)
            .http_client(http)
            .build()
            .unwrap_or_else(|e| fail(e))
    } else {
        BenchClient::new(url).unwrap_or_else(|e| fail(e))
    };
    // The generated notification sender works too (and the server takes it).
    ours_client
        .notify()
        .notify_one(7)
        .await
        .unwrap_or_else(|e| fail(format!("our client's notification: {e}")));
    let ours_call = ours_call(ours_client);
    let theirs_call = jsonrpsee_call(url);
    let n = opts.inproc_calls(2000);
    let ours_allocs = client_allocs(&ours_call, n).await;
    let theirs_allocs = client_allocs(&theirs_call, n).await;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..opts.rounds {
        ours.push(client_round(ours_call.clone(), opts).await);
        theirs.push(client_round(theirs_call.clone(), opts).await);
    }
    let spread = |r: &[ClientFigures]| {
        r.iter()
            .map(|f| crate::report::si(f.outcome.throughput()))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let spread = format!("ours {}; jsonrpsee {}", spread(&ours), spread(&theirs));
    let paired_ratio = median(
        ours.iter()
            .zip(&theirs)
            .map(|(a, b)| a.outcome.throughput() / b.outcome.throughput())
            .collect(),
    );
    let mut ours = median_client_round(ours);
    let mut theirs = median_client_round(theirs);
    ours.allocs = ours_allocs;
    theirs.allocs = theirs_allocs;
    ClientResult {
        ours,
        jsonrpsee: theirs,
        spread,
        paired_ratio,
    }
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
async fn client_round<F>(call: F, opts: &Options) -> ClientFigures
where
    F: AsyncFn() -> Result<(), String> + Clone + 'static,
{
    let tid = current_tid();
    let cpu_start = std::cell::Cell::new(None);
    let cpu_end = std::cell::Cell::new(None);
    let outcome = load::run_client(opts.plan(CALLERS), call, async |starting| {
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
