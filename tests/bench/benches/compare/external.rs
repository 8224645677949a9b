//! `--against NAME=ADDR/PATH ...`: servers running in other processes (another commit's build,
//! say) measured in turns with the strict floor, each round's throughputs paired, so that builds
//! of different commits compare in one run. `scripts/bisect-speed.sh` starts the builds and calls
//! this.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::cli::{Options, fail, usage};
use crate::load;
use crate::measure::{self, Servers, median};
use crate::servers::Server;
use crate::workloads;

/// A server in another process.
#[derive(Debug, Clone)]
pub(crate) struct External {
    name: String,
    addr: SocketAddr,
    path: String,
}

impl External {
    /// Reads `NAME=ADDR` or `NAME=ADDR/PATH` (the path defaults to `/`).
    pub(crate) fn parse(arg: &str) -> External {
        let Some((name, rest)) = arg.split_once('=') else {
            usage(&format!("--against takes NAME=ADDR[/PATH], not {arg:?}"))
        };
        let (addr, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = addr
            .parse()
            .unwrap_or_else(|_| usage(&format!("--against: {addr:?} is not an address")));
        External {
            name: name.to_owned(),
            addr,
            path: path.to_owned(),
        }
    }
}

/// Measures each wanted workload on the strict floor and on every external server, in rounds
/// taken in turn, and prints each one's median throughput and its ratio to the strict floor.
pub(crate) fn run(
    load_rt: &tokio::runtime::Runtime,
    servers: &Servers,
    externals: &[External],
    opts: &Options,
) {
    for w in workloads::workloads().iter().filter(|w| opts.wants(w.key)) {
        let strict = Target {
            name: "strict floor".to_owned(),
            addr: servers.addr(Server::Strict),
            path: w.path(Server::Strict).to_owned(),
        };
        let targets: Vec<Target> = std::iter::once(strict)
            .chain(externals.iter().map(|e| Target {
                name: e.name.clone(),
                addr: e.addr,
                path: e.path.clone(),
            }))
            .collect();
        for t in &targets {
            if let Err(e) = load_rt.block_on(measure::check_at(t.addr, &t.path, w)) {
                fail(format!("{}: {}: {e}", w.key, t.name));
            }
        }
        let mut throughputs = vec![Vec::new(); targets.len()];
        for _ in 0..opts.rounds {
            for (i, t) in targets.iter().enumerate() {
                let request = Arc::new(load::http_request(&t.path, &w.body));
                let outcome = load_rt
                    .block_on(load::run(t.addr, request, opts.plan(w.conns), async |_| {}))
                    .unwrap_or_else(|e| fail(format!("{}: {}: {e}", w.key, t.name)));
                throughputs[i].push(outcome.throughput());
            }
        }
        println!("\n{}", w.title);
        println!(
            "{:<24} {:>12} {:>14} {:>14}",
            "server", "requests/s", "x strict floor", "x first other"
        );
        for (i, t) in targets.iter().enumerate() {
            let paired = |j: usize| {
                median(
                    throughputs[i]
                        .iter()
                        .zip(&throughputs[j])
                        .map(|(a, b)| a / b)
                        .collect(),
                )
            };
            let first_other = if targets.len() > 1 {
                paired(1)
            } else {
                f64::NAN
            };
            println!(
                "{:<24} {:>12.0} {:>13.3}x {:>13.3}x",
                t.name,
                median(throughputs[i].clone()),
                paired(0),
                first_other
            );
        }
    }
}

/// Where one measured server listens.
struct Target {
    name: String,
    addr: SocketAddr,
    path: String,
}
