//! Drives replicas of `examples/examples/replica.rs` through their load balancer with the typed
//! client and a `Retry` policy, and counts what its callers saw: the client half of
//! `scripts/scale-out.sh`.
//!
//! ```text
//! cargo run -p examples --example scale_out_driver -- --url http://127.0.0.1:7010/rpc \
//!     --calls 4000 --tasks 8 --seconds 10 --record /tmp/run --subscribers 20
//! ```
//!
//! `--calls` calls in all (half `status`, which is idempotent, half `increment`, which is not),
//! spread over `--tasks` tasks calling in step over about `--seconds` seconds. With `--record DIR`
//! the tokens of the `increment` calls that succeeded go to `DIR/ok-tokens` and those reported
//! failed to `DIR/failed-tokens`, one a line, for comparison with the replicas' logs.
//!
//! With `--subscribers N`, N more clients connect over a WebSocket to the same URL (`ws://`
//! for `http://`), each with `reconnect`, subscribe to `subscribe_ticks` every 50 ms for the
//! whole run, and call `status` over their socket once a second: a feed that must follow the
//! replicas as they stop and start. Each counts its items, the switches from one replica's
//! ticks to another's, the longest wait between two items, and whether its stream ended.
//!
//! The last line printed holds the counts as `key=value` words; the exit status is 0 whatever
//! they are (the script judges them).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use examples::replica::ReplicaClient;
use futures_util::StreamExt as _;
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
    subscribers: u64,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:7010/rpc".to_owned(),
        calls: 4000,
        tasks: 8,
        seconds: 10.0,
        record: None,
        subscribers: 0,
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
            "--subscribers" => options.subscribers = value.parse().map_err(|_| number())?,
            _ => {
                return Err(format!(
                    "unknown option `{flag}`, expected `--url`, `--calls`, `--tasks`, \
                     `--seconds`, `--record` or `--subscribers`"
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

/// What one WebSocket subscriber saw.
#[derive(Debug, Default)]
struct Feed {
    items: u64,
    /// Items from another replica than the item before.
    switches: u64,
    longest_gap: Duration,
    /// Why the stream ended or failed before the run's end, if it did.
    ended: Option<String>,
    calls_ok: u64,
    calls_failed: u64,
}

/// One subscriber: subscribes over a WebSocket to `url` and follows the ticks until `until`,
/// calling `status` over the same socket once a second.
async fn follow(url: String, until: tokio::time::Instant) -> Feed {
    let mut feed = Feed::default();
    let policy = Retry::new(20)
        .backoff(Duration::from_millis(20), Duration::from_millis(500))
        .deadline(Duration::from_secs(10));
    let client = match ReplicaClient::builder(&url)
        .reconnect(policy)
        .retry(policy)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            feed.ended = Some(format!("no client: {e}"));
            return feed;
        }
    };
    let mut ticks = match client.subscribe_ticks(50).await {
        Ok(ticks) => ticks,
        Err(e) => {
            feed.ended = Some(format!("subscribing failed: {e}"));
            return feed;
        }
    };
    let mut last_replica = None;
    let mut last_item = tokio::time::Instant::now();
    let mut next_call = last_item + Duration::from_secs(1);
    loop {
        tokio::select! {
            item = ticks.next() => {
                let now = tokio::time::Instant::now();
                match item {
                    Some(Ok(tick)) => {
                        feed.items += 1;
                        feed.longest_gap = feed.longest_gap.max(now - last_item);
                        last_item = now;
                        if last_replica.as_ref().is_some_and(|r| *r != tick.replica) {
                            feed.switches += 1;
                        }
                        last_replica = Some(tick.replica);
                    }
                    Some(Err(e)) => {
                        feed.ended = Some(format!("the stream failed: {e}"));
                        return feed;
                    }
                    None => {
                        feed.ended = Some("the stream ended".to_owned());
                        return feed;
                    }
                }
            }
            () = tokio::time::sleep_until(next_call) => {
                match client.status().await {
                    Ok(_) => feed.calls_ok += 1,
                    Err(e) => {
                        eprintln!("status over the WebSocket failed: {e}");
                        feed.calls_failed += 1;
                    }
                }
                next_call += Duration::from_secs(1);
            }
            () = tokio::time::sleep_until(until) => {
                // The last wait counts too: a feed that went quiet before the end shows here.
                let now = tokio::time::Instant::now();
                feed.longest_gap = feed.longest_gap.max(now - last_item);
                return feed;
            }
        }
    }
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
    // The subscribers run for the calls' whole run, and a little past it.
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(options.seconds + 1.0);
    let ws_url = options.url.replacen("http", "ws", 1);
    let feeds: Vec<_> = (0..options.subscribers)
        .map(|_| tokio::spawn(follow(ws_url.clone(), until)))
        .collect();
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
    let mut subscribers = Feed::default();
    let (mut ended, mut unmoved) = (0, 0);
    for feed in feeds {
        let feed = feed.await?;
        if let Some(why) = &feed.ended {
            eprintln!("a subscriber's feed ended early: {why}");
            ended += 1;
        }
        if feed.switches == 0 {
            unmoved += 1;
        }
        subscribers.items += feed.items;
        subscribers.switches += feed.switches;
        subscribers.longest_gap = subscribers.longest_gap.max(feed.longest_gap);
        subscribers.calls_ok += feed.calls_ok;
        subscribers.calls_failed += feed.calls_failed;
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
    if options.subscribers > 0 {
        println!(
            "scale_out_driver: {} WebSocket subscribers: {} items, {} switches of replica, \
             {} never moved, {} ended early, longest wait between items {} ms; \
             status over the sockets: {} ok, {} failed",
            options.subscribers,
            subscribers.items,
            subscribers.switches,
            unmoved,
            ended,
            subscribers.longest_gap.as_millis(),
            subscribers.calls_ok,
            subscribers.calls_failed,
        );
    }
    let counts = [
        ("idempotent_ok", get(&counts.status_ok)),
        ("idempotent_failed", get(&counts.status_failed)),
        ("counter_ok", get(&counts.increment_ok)),
        ("counter_failed", get(&counts.increment_failed)),
        ("ws_subscribers", options.subscribers),
        ("ws_items", subscribers.items),
        ("ws_switches", subscribers.switches),
        ("ws_unmoved", unmoved),
        ("ws_ended", ended),
        ("ws_gap_ms", subscribers.longest_gap.as_millis() as u64),
        ("ws_calls_ok", subscribers.calls_ok),
        ("ws_calls_failed", subscribers.calls_failed),
    ];
    let words: Vec<String> = counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{}", words.join(" "));
    Ok(())
}
