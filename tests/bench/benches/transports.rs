//! Calls per second over each transport, side by side in one run: our typed client calling
//! `add(1, 2)` on our server over HTTP keep-alive, WebSocket and a Unix socket (Ethereum IPC
//! framing), and on jsonrpsee's WebSocket server (the same method, registered on an
//! `RpcModule` as its users write it), with 1 and 64 calls in flight, the transports taking
//! turns round by round. Prints each median and the ratios to HTTP at the same concurrency
//! (the target: a Unix socket at least 1.5× HTTP at 64 in flight), and our WebSocket server's
//! ratio to jsonrpsee's.
//!
//! ```text
//! cargo bench -p rpc-bench --bench transports                  # 5 rounds of 1 s each
//! cargo bench -p rpc-bench --bench transports -- --smoke       # checks the answers, ~1 s
//! cargo bench -p rpc-bench --bench transports -- --rounds 9 --duration 2
//! ```
//!
//! Client and server share one runtime of two workers, on this machine's two cores.

use std::future::IntoFuture as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use examples::pubsub::{PubsubClient, PubsubServer};
use rpc_core::framing::Framing;
use rpc_server::{RouterExt as _, RpcService};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Http,
    WebSocket,
    Unix,
    /// jsonrpsee's server, over WebSocket.
    JsonrpseeWs,
}

const TRANSPORTS: [Transport; 4] = [
    Transport::Http,
    Transport::WebSocket,
    Transport::Unix,
    Transport::JsonrpseeWs,
];
const IN_FLIGHT: [usize; 2] = [1, 64];

fn endpoint() -> RpcService<PubsubServer<examples::pubsub::Live>> {
    RpcService::new(PubsubServer(examples::pubsub::Live))
}

/// jsonrpsee's server with the same `add`, on 127.0.0.1.
async fn jsonrpsee_server() -> (std::net::SocketAddr, jsonrpsee::server::ServerHandle) {
    let mut module = jsonrpsee::RpcModule::new(());
    module
        .register_method("add", |params, _, _| {
            let (a, b): (u64, u64) = params.parse()?;
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(a + b)
        })
        .expect("a new name");
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .expect("jsonrpsee binds");
    let addr = server.local_addr().expect("an address");
    (addr, server.start(module))
}

/// `callers` tasks calling for `duration` on `client`: the calls answered.
async fn load(client: &PubsubClient, callers: usize, duration: Duration) -> u64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + duration;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (client, done) = (client.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let sum = client.add(1, 2).await.expect("an answer");
                    assert_eq!(sum, 3);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no caller panics");
    }
    done.load(Ordering::Relaxed)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut seconds, mut smoke) = (5usize, 1.0f64, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--duration" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--duration S")
            }
            "--bench" => {}
            other => panic!("unknown argument `{other}`"),
        }
    }
    if smoke {
        (rounds, seconds) = (1, 0.1);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let app = axum::Router::new().rpc("/rpc", endpoint());
        let addr = examples::spawn(app, "127.0.0.1:0").await.expect("serves");
        let dir = std::env::temp_dir().join(format!("rpc-bench-transports-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let path = dir.join("bench.ipc");
        let socket = rpc_server::UnixSocket::bind(&path).expect("binds");
        let ipc = tokio::spawn(rpc_server::serve_messages(socket, endpoint(), Framing::Ethereum).into_future());
        let (theirs, jsonrpsee) = jsonrpsee_server().await;
        let client = |transport: Transport| match transport {
            Transport::Http => PubsubClient::new(&format!("http://{addr}/rpc")),
            Transport::WebSocket => PubsubClient::new(&format!("ws://{addr}/rpc")),
            Transport::Unix => PubsubClient::new(&format!("unix://{}", path.display())),
            Transport::JsonrpseeWs => PubsubClient::new(&format!("ws://{theirs}")),
        }
        .expect("a client");
        let clients: Vec<_> = TRANSPORTS.iter().map(|t| (*t, client(*t))).collect();
        let duration = Duration::from_secs_f64(seconds);
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); TRANSPORTS.len() * IN_FLIGHT.len()];
        for _ in 0..rounds {
            for (c, in_flight) in IN_FLIGHT.iter().enumerate() {
                for (t, (_, client)) in clients.iter().enumerate() {
                    let calls = load(client, *in_flight, duration).await;
                    assert!(calls > 0, "no call was answered");
                    rates[c * TRANSPORTS.len() + t].push(calls as f64 / seconds);
                }
            }
        }
        println!("transports: calls/s, median of {rounds} rounds of {seconds} s (typed client, add(1, 2))");
        for (c, in_flight) in IN_FLIGHT.iter().enumerate() {
            let http = median(&mut rates[c * TRANSPORTS.len()].clone());
            for (t, transport) in TRANSPORTS.iter().enumerate() {
                let rate = median(&mut rates[c * TRANSPORTS.len() + t]);
                println!(
                    "  {in_flight:>2} in flight  {:<10} {rate:>10.0}/s  {:.2}x HTTP",
                    format!("{transport:?}"),
                    rate / http
                );
            }
            let ours = median(&mut rates[c * TRANSPORTS.len() + 1].clone());
            let theirs = median(&mut rates[c * TRANSPORTS.len() + 3].clone());
            println!(
                "  {in_flight:>2} in flight  WebSocket server: ours {:.2}x jsonrpsee's",
                ours / theirs
            );
        }
        ipc.abort();
        let _ = jsonrpsee.stop();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
