//! Drives replicas of `examples/examples/replica.rs` through their load balancer with the typed
//! client and a `Retry` policy, and counts what its callers saw: the client half of
//! `scripts/scale-out.sh`.
//!
//! ```text
//! cargo run -p examples --example scale_out_driver -- --url http://127.0.0.1:7010/rpc \
//!     --calls 4000 --tasks 8 --seconds 10 --record /tmp/run
//! ```
//!
//! `--calls` calls in all (half `status`, which is idempotent, half `increment`, which is not),
//! spread over `--tasks` tasks calling in step over about `--seconds` seconds. With `--record DIR`
//! the tokens of the `increment` calls that succeeded go to `DIR/ok-tokens` and those reported
//! failed to `DIR/failed-tokens`, one a line, for comparison with the replicas' logs. The last
//! line printed holds the counts as `key=value` words; the exit status is 0 whatever they are
//! (the script judges them).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use examples::replica::ReplicaClient;
use rpc_client::Retry;

/// What the callers saw.
#[derive(Default)]
struct Counts {
    status_ok: AtomicU64,
    status_failed: AtomicU64,
    increment_ok: AtomicU64,
    increment_failed: AtomicU64,
}

struct Options {
    url: String,
    calls: u64,
    tasks: u64,
    seconds: f64,
    record: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:7010/rpc".to_owned(),
        calls: 4000,
        tasks: 8,
        seconds: 10.0,
        record: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value after it"))?;
        let number = || format!("`{flag}` needs a positive number, not `{value}`");
        match flag.as_str() {
            "--url" => options.url = value,
            "--calls" => options.calls = value.parse().map_err(|_| number())?,
            "--tasks" => options.tasks = value.parse().map_err(|_| number())?,
            "--seconds" => options.seconds = value.parse().map_err(|_| number())?,
            "--record" => options.record = Some(value.into()),
            _ => {
                return Err(format!(
                    "unknown option `{flag}`, expected `--url`, `--calls`, `--tasks`, \
                     `--seconds` or `--record`"
                ));
            }
        }
    }
    if options.calls == 0
        || options.tasks == 0
        || !options.seconds.is_finite()
        || options.seconds <= 0.0
    {
        return Err("`--calls`, `--tasks` and `--seconds` must be above 0".to_owned());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    // Every retry the policy allows within the run, but never more than a tenth of the calls:
    // a client that retried without a budget would double the load on a struggling service.
    let client = ReplicaClient::builder(&options.url)
        .retry(
            Retry::new(5)
                .backoff(Duration::from_millis(20), Duration::from_millis(500))
                .deadline(Duration::from_secs(10)),
        )
        .timeout(Duration::from_secs(30))
        .build()?;
    // Tokens unique across runs, so that logs of several runs never collide.
    let run = format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos()
    );
    let counts = Arc::new(Counts::default());
    let per_task = options.calls.div_ceil(options.tasks);
    let pace = Duration::from_secs_f64(options.seconds / per_task as f64);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..options.tasks {
        let client = client.clone();
        let counts = counts.clone();
        let run = run.clone();
        let tasks_total = options.tasks;
        let calls = per_task.min(options.calls - (task * per_task).min(options.calls));
        tasks.spawn(async move {
            let mut ok_tokens = Vec::new();
            let mut failed_tokens = Vec::new();
            // Tasks spread over the pace rather than calling in step, so that calls are in
            // flight at any instant a replica may be stopped.
            let offset = pace.mul_f64(task as f64 / tasks_total as f64);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, pace);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for call in 0..calls {
                tick.tick().await;
                if call % 2 == 0 {
                    match client.status().await {
                        Ok(_) => counts.status_ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("status failed: {e}");
                            counts.status_failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                } else {
                    let token = format!("{run}-{task}-{call}");
                    match client.increment(token.clone()).await {
                        Ok(_) => {
                            counts.increment_ok.fetch_add(1, Ordering::Relaxed);
                            ok_tokens.push(token);
                        }
                        Err(e) => {
                            eprintln!("increment {token} failed: {e}");
                            counts.increment_failed.fetch_add(1, Ordering::Relaxed);
                            failed_tokens.push(token);
                        }
                    }
                }
            }
            (ok_tokens, failed_tokens)
        });
    }
    let mut ok_tokens = Vec::new();
    let mut failed_tokens = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (ok, failed) = done?;
        ok_tokens.extend(ok);
        failed_tokens.extend(failed);
    }
    if let Some(dir) = &options.record {
        let lines = |tokens: &[String]| tokens.iter().map(|t| format!("{t}\n")).collect::<String>();
        std::fs::write(dir.join("ok-tokens"), lines(&ok_tokens))?;
        std::fs::write(dir.join("failed-tokens"), lines(&failed_tokens))?;
    }
    let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
    println!(
        "scale_out_driver: {} calls in {:.1} s; idempotent: {} ok, {} failed; \
         non-idempotent: {} ok, {} reported failed",
        options.calls,
        started.elapsed().as_secs_f64(),
        get(&counts.status_ok),
        get(&counts.status_failed),
        get(&counts.increment_ok),
        get(&counts.increment_failed),
    );
    println!(
        "idempotent_ok={} idempotent_failed={} counter_ok={} counter_failed={}",
        get(&counts.status_ok),
        get(&counts.status_failed),
        get(&counts.increment_ok),
        get(&counts.increment_failed),
    );
    Ok(())
}
