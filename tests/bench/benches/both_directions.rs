//! Calls both ways over one WebSocket, side by side in one run: the client calling the server
//! (`ping`) and the server calling the client back (`pong`, from inside `ping_back`), one call
//! at a time, the two directions taking turns round by round; and cancellation latency, from
//! the moment a caller drops a call's future to the moment the method's future is dropped at
//! the server. Prints the medians and the ratio of the two directions (target: the call back
//! within 10% of the call).
//!
//! ```text
//! cargo bench -p rpc-bench --bench both_directions                  # 5 rounds of 2,000 calls
//! cargo bench -p rpc-bench --bench both_directions -- --smoke       # checks the answers, fast
//! cargo bench -p rpc-bench --bench both_directions -- --rounds 9 --calls 5000
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rpc_core::peer::Cancellation;
use rpc_core::rpc;

/// What the client serves.
#[rpc]
pub trait Pong {
    /// Answers at once.
    async fn pong(&self, n: u64) -> u64;
}

/// What the server serves.
#[rpc]
pub trait Ping {
    /// Answers at once.
    async fn ping(&self, n: u64) -> u64;
    /// Calls the client's `pong` `calls` times, one after another: the nanoseconds it took.
    async fn ping_back(&self, calls: u64) -> u64;
    /// Never answers; records when its future is dropped.
    async fn hang(&self) -> u64;
}

/// When the last `hang` was dropped.
static DROPPED: Mutex<Option<Instant>> = Mutex::new(None);

struct Dropped;

impl Drop for Dropped {
    fn drop(&mut self) {
        *DROPPED.lock().unwrap() = Some(Instant::now());
    }
}

struct Server;

impl Ping for Server {
    async fn ping(&self, n: u64) -> u64 {
        n + 1
    }

    async fn ping_back(&self, calls: u64) -> u64 {
        let peer = rpc_server::RequestContext::peer().expect("a message connection");
        let client = rpc_client::ClientBuilder::<PongClient>::peer(peer)
            .build()
            .expect("a client of the peer");
        let started = Instant::now();
        for n in 0..calls {
            assert_eq!(client.pong(n).await.expect("pong"), n + 1);
        }
        started.elapsed().as_nanos() as u64
    }

    async fn hang(&self) -> u64 {
        let _dropped = Dropped;
        std::future::pending::<()>().await;
        0
    }
}

struct Client;

impl Pong for Client {
    async fn pong(&self, n: u64) -> u64 {
        n + 1
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut calls, mut smoke) = (5usize, 2000u64, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--calls" => calls = args.next().and_then(|v| v.parse().ok()).expect("--calls N"),
            "--bench" => {}
            other => panic!("unknown argument `{other}`"),
        }
    }
    if smoke {
        (rounds, calls) = (1, 20);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let endpoint = rpc_server::RpcService::new(PingServer(Server))
            .cancellation(Cancellation::Lsp);
        let app = axum::Router::new().route("/rpc", endpoint.into_method_router());
        let addr = examples::spawn(app, "127.0.0.1:0").await.expect("serves");
        let client = PingClient::builder(&format!("ws://{addr}/rpc"))
            .serve(PongServer(Client), 16)
            .cancellation(Cancellation::Lsp)
            .build()
            .expect("a client");
        assert_eq!(client.ping(1).await.expect("warm up"), 2);
        let (mut forward, mut back) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let started = Instant::now();
            for n in 0..calls {
                assert_eq!(client.ping(n).await.expect("ping"), n + 1);
            }
            forward.push(started.elapsed().as_nanos() as f64 / calls as f64);
            let nanos = client.ping_back(calls).await.expect("ping_back");
            back.push(nanos as f64 / calls as f64);
        }
        let mut cancels = Vec::new();
        for _ in 0..rounds.max(3) * 10 {
            *DROPPED.lock().unwrap() = None;
            let call = client.hang();
            let gave_up = tokio::time::timeout(Duration::from_millis(5), call).await;
            assert!(gave_up.is_err());
            let at = Instant::now();
            let deadline = at + Duration::from_secs(5);
            loop {
                if let Some(dropped) = *DROPPED.lock().unwrap() {
                    cancels.push(dropped.saturating_duration_since(at).as_nanos() as f64);
                    break;
                }
                assert!(Instant::now() < deadline, "the cancelled call was never dropped");
                tokio::task::yield_now().await;
            }
        }
        let (forward, back) = (median(&mut forward), median(&mut back));
        println!(
            "both directions over one WebSocket: median of {rounds} rounds of {calls} calls, one at a time"
        );
        println!("  client -> server (ping)   {:>8.1} us a call", forward / 1e3);
        println!("  server -> client (pong)   {:>8.1} us a call", back / 1e3);
        println!("  call back / call          {:>8.2}x", back / forward);
        println!(
            "  cancellation: drop -> the method's future dropped at the server, median of {}: {:.1} us",
            cancels.len(),
            median(&mut cancels) / 1e3
        );
    });
}
