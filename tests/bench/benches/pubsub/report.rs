//! The report: each server's rate, its CPU per unit of work and how busy each side was, and the
//! ratios of ours to jsonrpsee's.

use crate::measure::Run;

pub(crate) fn ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}x", ours / theirs)
    }
}

/// Rates, the server's CPU per unit, and how busy each side was: when the client is the busier
/// side, the rate is the client's and the server's CPU per unit is the figure to compare.
pub(crate) fn report(runs: &[Run; 2], rate: &str, unit: &str) {
    for (name, run) in [("ours", &runs[0]), ("jsonrpsee", &runs[1])] {
        let (server, client) = run.busy();
        println!(
            "  {name:<9} {:>9.0} {rate}; server CPU {:>6.0} ns per {unit}; busy: server {:>3.0}%, client {:>3.0}%",
            run.per_second(),
            run.server_ns_each(),
            server * 100.0,
            client * 100.0,
        );
    }
    println!(
        "  ours/jsonrpsee: rate {}, server CPU per {unit} {}\n",
        ratio(runs[0].per_second(), runs[1].per_second()),
        ratio(runs[0].server_ns_each(), runs[1].server_ns_each()),
    );
}
