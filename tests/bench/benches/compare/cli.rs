//! The command line: what to run, for how long, and the profiling runs.

use std::time::Duration;

use crate::external::External;
use crate::load::Plan;
use crate::servers::{Client, Server};

/// What the command line asked for.
pub(crate) struct Options {
    pub(crate) smoke: bool,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    only: Option<Vec<String>>,
    pub(crate) profile: Option<Profile>,
    /// Each server's time on a workload is split into this many rounds, the servers taking
    /// turns; the median round counts (a passing disturbance spoils one round, not the figure).
    pub(crate) rounds: usize,
    /// `--against NAME=ADDR[/PATH]`, repeatable: servers in other processes, measured against
    /// the strict floor only (see `external.rs`).
    pub(crate) against: Vec<External>,
    /// `--client-http2`: our client in the client workload speaks HTTP/2 with prior knowledge
    /// (h2c) to the same server, which speaks both.
    pub(crate) client_http2: bool,
    /// `--serve NAME`: only serve that server on 127.0.0.1 (its address printed) until killed,
    /// for a load or a profiler from another process.
    pub(crate) serve: Option<Server>,
}

/// A profiling run: only the request path of one server or client, in a loop, for
/// `valgrind --tool=callgrind --toggle-collect='*profile_loop*'` (see BENCHMARKS.md).
#[derive(Debug, Clone)]
pub(crate) enum Profile {
    /// `--profile-server WORKLOAD [--server NAME]`: in-process calls through one server.
    Server {
        workload: String,
        server: Server,
        calls: Option<usize>,
        /// `--observed`: with a subscriber at INFO and the Prometheus recorder installed, as
        /// the overhead bench's "observed" setup.
        observed: bool,
        /// `--rate-limited`: ours with `RateLimit::per_method` (a limit never reached), as the
        /// overhead bench's "+ rate limit" setup.
        rate_limited: bool,
    },
    /// `--profile-client ours|jsonrpsee`: typed calls to our server over 127.0.0.1.
    Client {
        client: Client,
        calls: Option<usize>,
    },
}

impl Options {
    /// Reads the process's arguments; prints the usage and exits on a bad one.
    pub(crate) fn parse() -> Options {
        Options::from_args(std::env::args().skip(1))
    }

    fn from_args(mut args: impl Iterator<Item = String>) -> Options {
        let mut smoke = false;
        let mut seconds = 3.0;
        let mut only = None;
        let mut profile_workload = None;
        let mut profile_client = None;
        let mut profile_server = Server::Ours;
        let mut calls = None;
        let mut observed = false;
        let mut rate_limited = false;
        let mut rounds = None;
        let mut against = Vec::new();
        let mut client_http2 = false;
        let mut serve = None;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--smoke" => smoke = true,
                "--duration" => {
                    seconds = args
                        .next()
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|s| *s > 0.0)
                        .unwrap_or_else(|| usage("--duration takes seconds"));
                }
                "--only" => {
                    let list = args.next().unwrap_or_else(|| usage("--only takes a list"));
                    only = Some(list.split(',').map(str::to_owned).collect());
                }
                "--profile-server" => {
                    let workload = args.next().unwrap_or_else(|| usage("which workload?"));
                    profile_workload = Some(workload);
                    profile_client = None;
                }
                "--server" => {
                    profile_server = args
                        .next()
                        .as_deref()
                        .and_then(Server::from_key)
                        .unwrap_or_else(|| {
                            usage("--server takes ours, floor, strict or jsonrpsee")
                        });
                }
                "--profile-client" => {
                    let client = match args.next().as_deref() {
                        Some("ours") => Client::Ours,
                        Some("jsonrpsee") => Client::Jsonrpsee,
                        _ => usage("--profile-client takes ours or jsonrpsee"),
                    };
                    profile_client = Some(client);
                    profile_workload = None;
                }
                "--rounds" => {
                    rounds = args.next().and_then(|n| n.parse::<usize>().ok());
                    if rounds.is_none_or(|r| r == 0) {
                        usage("--rounds takes a count");
                    }
                }
                "--calls" => {
                    calls = args.next().and_then(|n| n.parse::<usize>().ok());
                    if calls.is_none() {
                        usage("--calls takes a count");
                    }
                }
                "--observed" => observed = true,
                "--rate-limited" => rate_limited = true,
                "--client-http2" => client_http2 = true,
                "--serve" => {
                    serve = Some(
                        args.next()
                            .as_deref()
                            .and_then(Server::from_key)
                            .unwrap_or_else(|| {
                                usage("--serve takes ours, floor, strict or jsonrpsee")
                            }),
                    );
                }
                "--against" => {
                    let arg = args
                        .next()
                        .unwrap_or_else(|| usage("--against takes NAME=ADDR"));
                    against.push(External::parse(&arg));
                }
                "-h" | "--help" => usage(""),
                // `cargo bench` passes `--bench`; a name filter may follow it.
                "--bench" => {}
                other if other.starts_with('-') => usage(&format!("unknown option {other}")),
                _ => {}
            }
        }
        // The last `--profile-*` wins; `--server` applies wherever it stands.
        let profile = match (profile_workload, profile_client) {
            (Some(workload), _) => Some(Profile::Server {
                workload,
                server: profile_server,
                calls,
                observed,
                rate_limited,
            }),
            (None, Some(client)) => Some(Profile::Client { client, calls }),
            (None, None) => None,
        };
        let (warmup, measure) = if smoke {
            (Duration::from_millis(50), Duration::from_millis(200))
        } else {
            (
                Duration::from_secs_f64((seconds / 15.0).clamp(0.1, 0.25)),
                Duration::from_secs_f64(seconds),
            )
        };
        Options {
            smoke,
            warmup,
            measure,
            only,
            profile,
            rounds: rounds.unwrap_or(if smoke { 1 } else { 5 }),
            against,
            client_http2,
            serve,
        }
    }

    /// Whether `--only` (when given) names the workload `key`.
    pub(crate) fn wants(&self, key: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key))
    }

    /// One round of load over `conns` connections.
    pub(crate) fn plan(&self, conns: usize) -> Plan {
        Plan {
            conns,
            warmup: self.warmup,
            measure: self.measure / self.rounds as u32,
            max_requests: u64::MAX,
        }
    }

    /// How many in-process calls to count, `full` being the full run's number.
    pub(crate) fn inproc_calls(&self, full: usize) -> usize {
        if self.smoke { (full / 50).max(2) } else { full }
    }
}

/// Prints the usage, after `problem` when there is one, and exits.
pub(crate) fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("compare: {problem}");
    }
    eprintln!(
        "usage: cargo bench -p rpc-bench --bench compare -- [--smoke] [--duration SECS] \
         [--rounds N] [--only small,batch,echo,slow,notify,client] [--client-http2]\n       \
         cargo bench -p rpc-bench --bench compare -- --profile-server WORKLOAD \
         [--server ours|floor|strict|jsonrpsee] [--calls N] [--observed] [--rate-limited]\n       \
         cargo bench -p rpc-bench --bench compare -- --profile-client ours|jsonrpsee [--calls N]\n       \
         cargo bench -p rpc-bench --bench compare -- --only small,batch \
         --against NAME=ADDR[/PATH] ...\n       \
         cargo bench -p rpc-bench --bench compare -- --serve ours|floor|strict|jsonrpsee"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

/// Stops the benchmark, saying why: a server answered wrongly or something could not start.
pub(crate) fn fail(what: impl std::fmt::Display) -> ! {
    eprintln!("compare: {what}");
    std::process::exit(1)
}
