//! The report: markdown tables of the figures with their ratios, and the targets met or not.

use std::fmt::Write as _;

use crate::cli::Options;
use crate::clients::{CALLERS, ClientResult};
use crate::measure::{Figures, WorkloadResult};
use crate::servers::{Client, Server};
use crate::workloads::{ECHO_BYTES, Workload};

/// The heading: how the run is set up.
pub(crate) fn preamble(opts: &Options, load_cpu: Option<usize>, server_cpu: Option<usize>) {
    println!("# JSON-RPC over HTTP: ours vs jsonrpsee vs the floors\n");
    println!(
        "{} run; CPU: {}; load generator on CPU {}, servers (1 tokio worker) on CPU {}; {} s \
         measured per server and workload, in {} round(s) taking turns, each after {} s of \
         warm-up; the median round is shown.\n",
        if opts.smoke { "Smoke" } else { "Full" },
        cpu_model(),
        load_cpu.map_or("any".into(), |c| c.to_string()),
        server_cpu.map_or("any".into(), |c| c.to_string()),
        opts.measure.as_secs_f64(),
        opts.rounds,
        opts.warmup.as_secs_f64(),
    );
    println!(
        "Each cell: value (ratio to the strict floor ×S, to the floor ×F, to jsonrpsee ×J). \
         Allocations are \
         allocator calls (alloc + realloc); in-process ones count only the server's handler \
         (tower `oneshot`, prebuilt request), over-HTTP ones everything the server's thread did \
         per request, hyper included.\n"
    );
}

/// A figure for humans: three significant digits or so, with `k` and `M`.
pub(crate) fn si(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `value (a×S, b×F, c×J)`: the figure with its ratio to the strict floor's, the floor's and
/// jsonrpsee's.
fn cell(v: f64, strict: f64, floor: f64, jsonrpsee: f64) -> String {
    let ratio = |r: f64| {
        if r.is_finite() && r != 0.0 {
            format!("{:.2}", v / r)
        } else {
            "–".into()
        }
    };
    format!(
        "{} ({}×S, {}×F, {}×J)",
        si(v),
        ratio(strict),
        ratio(floor),
        ratio(jsonrpsee)
    )
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// A markdown table with a row per `(name, cells)`, the first column headed `first`.
fn table(first: &str, headers: &[&str], rows: &[(&str, Vec<String>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {first} | {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|---|{}",
        headers.iter().map(|_| "---:|").collect::<String>()
    );
    for (name, cells) in rows {
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out
}

/// The section of one workload: what it is, its table, and each round's throughput.
pub(crate) fn workload(w: &Workload, result: &WorkloadResult, opts: &Options) {
    println!(
        "## {}\n\n{} connection(s), one request in flight on each{}.\n",
        w.title,
        w.conns,
        if w.calls_per_request > 1 {
            format!("; a request is {} calls", w.calls_per_request)
        } else {
            String::new()
        }
    );
    println!("{}", workload_table(w, result));
    if opts.rounds > 1 {
        let spread: Vec<String> = result
            .round_throughputs
            .iter()
            .map(|(server, rounds)| {
                let each: Vec<String> = rounds.iter().map(|t| si(*t)).collect();
                format!("{} {}", server.name(), each.join(" / "))
            })
            .collect();
        println!("req/s of each round: {}.\n", spread.join("; "));
    }
}

fn workload_table(w: &Workload, result: &WorkloadResult) -> String {
    let figures = &result.figures;
    let (s, f, j) = (
        &figures[Server::Strict],
        &figures[Server::Floor],
        &figures[Server::Jsonrpsee],
    );
    let echo = w.key == "echo";
    type Metric<'a> = (&'a str, &'a dyn Fn(&Figures) -> f64);
    let columns: [Metric; 8] = [
        ("req/s", &|x| x.outcome.throughput()),
        ("p50 µs", &|x| x.outcome.latency_us(0.50)),
        ("p99 µs", &|x| x.outcome.latency_us(0.99)),
        ("server CPU µs/req", &|x| opt(x.cpu_us)),
        ("server busy %", &|x| {
            opt(x.cpu_us) * x.outcome.throughput() / 1e4
        }),
        ("allocs/req in-process", &|x| x.inproc.calls),
        ("allocs/req over HTTP", &|x| opt(x.http_allocs)),
        (
            if echo {
                "peak heap ÷ payload"
            } else {
                "peak heap bytes"
            },
            &|x| {
                if echo {
                    x.inproc.peak / ECHO_BYTES as f64
                } else {
                    x.inproc.peak
                }
            },
        ),
    ];
    let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let rows: Vec<(&str, Vec<String>)> = figures
        .iter()
        .map(|(server, x)| {
            let cells = columns
                .iter()
                .map(|(_, get)| cell(get(x), get(s), get(f), get(j)))
                .collect();
            (server.name(), cells)
        })
        .collect();
    table("server", &headers, &rows)
}

/// The client section: both clients' table and each round's calls per second.
pub(crate) fn clients(result: &ClientResult, opts: &Options) {
    println!(
        "## (f) client side: typed `subtract(42, 23)` against our server\n\n{CALLERS} \
         concurrent callers sharing one client; the client runs on the load generator's \
         CPU, the server on its own.{}\n",
        if opts.client_http2 {
            " Ours speaks HTTP/2 with prior knowledge (one connection, h2c), jsonrpsee's \
             HTTP/1.1 (a connection per caller)."
        } else {
            ""
        }
    );
    let theirs = result.get(Client::Jsonrpsee);
    type Metric<'a> = (&'a str, &'a dyn Fn(&crate::clients::ClientFigures) -> f64);
    let columns: [Metric; 5] = [
        ("calls/s", &|x| x.outcome.throughput()),
        ("p50 µs", &|x| x.outcome.latency_us(0.50)),
        ("p99 µs", &|x| x.outcome.latency_us(0.99)),
        ("client CPU µs/call", &|x| opt(x.cpu_us)),
        ("client allocs/call", &|x| x.allocs),
    ];
    let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let rows: Vec<(&str, Vec<String>)> = [Client::Ours, Client::Jsonrpsee]
        .into_iter()
        .map(|client| {
            let x = result.get(client);
            let cells = columns
                .iter()
                .map(|(_, get)| {
                    let v = get(x);
                    let r = v / get(theirs);
                    format!("{} ({r:.2}×J)", si(v))
                })
                .collect();
            (client.name(), cells)
        })
        .collect();
    println!("{}", table("client", &headers, &rows));
    if opts.rounds > 1 {
        println!("calls/s of each round: {}.\n", result.spread);
    }
}

/// A target of BENCHMARKS.md and how this run did against it.
pub(crate) struct Target {
    what: String,
    figure: String,
    /// `None`: measured elsewhere.
    met: Option<bool>,
}

/// The targets the servers' workloads measure, for those that ran.
pub(crate) fn server_targets(
    small: Option<&WorkloadResult>,
    batch: Option<&WorkloadResult>,
    echo: Option<&WorkloadResult>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    if let Some(small) = small {
        let r = small.paired_ratio(Server::Ours, Server::Floor);
        targets.push(Target {
            what: "small call: throughput ≥ 0.95× floor".into(),
            figure: format!("{r:.2}× floor"),
            met: Some(r >= 0.95),
        });
        let f = &small.figures;
        let (o, fl) = (f[Server::Ours].inproc.calls, f[Server::Floor].inproc.calls);
        targets.push(Target {
            what: "small call: allocations ≤ floor + 3".into(),
            figure: format!("{o:.1} vs floor {fl:.1} (floor + {:.1})", o - fl),
            met: Some(o <= fl + 3.0),
        });
        targets.extend(spec_targets("small call", small, 1.0));
    }
    if let Some(batch) = batch {
        let r = batch.paired_ratio(Server::Ours, Server::Floor);
        targets.push(Target {
            what: "batch of 100: throughput ≥ 0.8× floor".into(),
            figure: format!("{r:.2}× floor"),
            met: Some(r >= 0.8),
        });
        targets.extend(spec_targets("batch of 100", batch, 0.8));
    }
    if let Some(echo) = echo {
        let ours = echo.figures[Server::Ours].inproc.peak;
        let peak = ours / ECHO_BYTES as f64;
        targets.push(Target {
            what: "1 MiB echo: peak memory ≤ 4× payload".into(),
            figure: format!("{peak:.3}× payload ({ours} bytes)"),
            met: Some(peak <= 4.0),
        });
        let r = echo.paired_ratio(Server::Ours, Server::Jsonrpsee);
        targets.push(Target {
            what: "1 MiB echo: throughput ≥ jsonrpsee".into(),
            figure: format!("{r:.2}× jsonrpsee"),
            met: Some(r >= 1.0),
        });
    }
    targets
}

/// The targets against the strict floor and jsonrpsee: ours ≥ `strict`× the strict floor, and
/// ≥ 1.2× jsonrpsee.
fn spec_targets(name: &str, result: &WorkloadResult, strict: f64) -> [Target; 2] {
    let s = result.paired_ratio(Server::Ours, Server::Strict);
    let j = result.paired_ratio(Server::Ours, Server::Jsonrpsee);
    [
        Target {
            what: format!("{name}: throughput ≥ {strict:.1}× strict floor"),
            figure: format!("{s:.2}× strict floor"),
            met: Some(s >= strict),
        },
        Target {
            what: format!("{name}: throughput ≥ 1.2× jsonrpsee"),
            figure: format!("{j:.2}× jsonrpsee"),
            met: Some(j >= 1.2),
        },
    ]
}

/// The client's target.
pub(crate) fn client_target(result: &ClientResult) -> Target {
    let r = result.paired_ratio;
    Target {
        what: "client: calls/s ≥ 1.2× jsonrpsee's HttpClient".into(),
        figure: format!("{r:.2}× jsonrpsee"),
        met: Some(r >= 1.2),
    }
}

/// The build-time target, which `scripts/bench-build-time.sh` measures.
pub(crate) fn build_time_target() -> Target {
    Target {
        what: "50-method trait: build time ≤ 0.35× jsonrpsee's".into(),
        figure: "see scripts/bench-build-time.sh".into(),
        met: None,
    }
}

/// The closing table of targets.
pub(crate) fn targets(targets: &[Target], opts: &Options) {
    println!(
        "## Targets\n\nThroughput ratios are medians of the per-round ratios (the servers take \
         turns, so each round compares them under the same conditions).\n\n\
         | target | figure | |\n|---|---|---|"
    );
    for t in targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "–",
        };
        println!("| {} | {} | {verdict} |", t.what, t.figure);
    }
    if opts.smoke {
        println!("\n(smoke run: figures are indicative only)");
    }
}

/// The one-minute load average.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
