//! One replica of a service run several times behind a load balancer (`docs/deploying.md`):
//! `rpc_server::serve` with its production defaults, `/rpc`, `/health` and `/metrics`, and a
//! graceful shutdown on `SIGTERM` (or Ctrl-C) that stops accepting and lets the calls in flight
//! answer (it prints how many there were).
//!
//! ```text
//! cargo run -p examples --example replica -- 127.0.0.1:7011 --name a --log /tmp/a.log
//! ```
//!
//! Options after the address: `--name NAME` (default: the address), `--log PATH` (append each
//! counter call's token to this file before answering it; the `REPLICA_LOG` environment
//! variable does the same), `--work-ms MS` (the time each call takes, default 0).

use std::time::Duration;

use examples::replica::{ReplicaService, app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7011".to_owned());
    let mut name = addr.clone();
    let mut log = std::env::var_os("REPLICA_LOG").map(std::path::PathBuf::from);
    let mut work = Duration::ZERO;
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            return Err(format!("`{flag}` needs a value after it").into());
        };
        match flag.as_str() {
            "--name" => name = value,
            "--log" => log = Some(value.into()),
            "--work-ms" => {
                let ms: u64 = value.parse().map_err(|_| {
                    format!("`--work-ms` needs a number of milliseconds, not `{value}`")
                })?;
                work = Duration::from_millis(ms);
            }
            _ => {
                return Err(format!(
                    "unknown option `{flag}`, expected `--name`, `--log` or `--work-ms`"
                )
                .into());
            }
        }
    }
    let mut replica = ReplicaService::new(&name, work);
    if let Some(path) = &log {
        replica = replica
            .log_to(path)
            .map_err(|e| format!("cannot open the log {}: {e}", path.display()))?;
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!(
        "replica {name} listening at http://{}/rpc",
        listener.local_addr()?
    );
    let in_flight = replica.in_flight();
    let stopping = {
        let name = name.clone();
        async move {
            rpc_server::shutdown_signal().await;
            // What the graceful shutdown has to finish: the scale-out test checks that these
            // calls were answered.
            println!(
                "replica {name} stopping with {} calls in flight",
                in_flight.load(std::sync::atomic::Ordering::SeqCst)
            );
        }
    };
    rpc_server::serve(listener, app(replica))
        // Behind the load balancer every client has its address: the per-peer share is the
        // balancer's, which has its own limits (worker_connections).
        .max_connections_per_peer(10_000)
        .with_graceful_shutdown(stopping)
        .await?;
    println!("replica {name} stopped");
    Ok(())
}
