//! What the client's resilience and speed-ups did, counted through the `metrics` facade and read
//! back from a Prometheus recorder, and logged through `tracing`: retries by reason, retries refused by reason (a call that is
//! not idempotent, attempts spent, the budget spent), an endpoint set aside and restored, a
//! WebSocket reconnect that resubscribes, and the calls per automatic batch.
//!
//! The metrics recorder is one per process, so this file holds the only test that reads it.

mod common;

use common::pubsub::{next, ticks};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rpc_client::{AutoBatch, Client, Failover, Retry};
use rpc_core::{CallError, Error, rpc};
use rpc_server::RpcService;

/// A meter.
#[rpc]
pub trait Meter {
    /// The reading: reading twice is reading once.
    #[rpc(idempotent)]
    async fn read(&self) -> u64;
    /// Adds one and returns the new reading: not idempotent.
    async fn bump(&self) -> u64;
}

#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Meter for Count {
    async fn read(&self) -> u64 {
        self.0.load(Ordering::SeqCst) as u64
    }
    async fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) as u64 + 1
    }
}

/// A meter behind a front that answers 503 to as many requests as `fail` says (counting down).
async fn meter() -> (String, Arc<AtomicUsize>) {
    let fail = Arc::new(AtomicUsize::new(0));
    let endpoint = RpcService::new(MeterServer(Count::default()));
    let front = {
        let fail = fail.clone();
        move |headers: HeaderMap, body: Bytes| {
            let endpoint = endpoint.clone();
            let fail = fail.clone();
            async move {
                let failing = fail
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
                }
                let mut request = axum::extract::Request::post("/rpc")
                    .body(axum::body::Body::from(body))
                    .unwrap();
                *request.headers_mut() = headers;
                endpoint.handle(request).await
            }
        }
    };
    let app = axum::Router::new().route("/rpc", axum::routing::post(front));
    (common::serve(app, "/rpc").await, fail)
}

fn quick(attempts: u32) -> Retry {
    Retry::new(attempts).backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// The value of metric `name` (a counter may carry Prometheus's `_total`) whose labels contain
/// every one of `labels`; 0 when it was never recorded.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let metric = l.split(['{', ' ']).next().unwrap_or_default();
            metric == name || metric.strip_suffix("_total") == Some(name)
        })
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_counts_and_logs_its_retries_failovers_reconnects_and_batches() {
    // One thread: every task of the test logs to this subscriber.
    let logs = common::Captured::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let recorder = examples::observability::prometheus().expect("the only recorder");
    let metrics = |name: &str, labels: &[&str]| value(&recorder.render(), name, labels);
    let retries = |reason: &str| metrics("rpc_client_retries", &[&format!("reason=\"{reason}\"")]);
    let refused = |reason: &str| {
        metrics(
            "rpc_client_retries_refused",
            &[&format!("reason=\"{reason}\"")],
        )
    };

    // Two 503s, then the answer: two retries for their status.
    let (url, fail) = meter().await;
    let client = MeterClient::builder(&url).retry(quick(3)).build().unwrap();
    fail.store(2, Ordering::SeqCst);
    assert_eq!(client.read().await.unwrap(), 0);
    assert_eq!(retries("status"), 2.0);

    // A 503 to a call that is not idempotent: not tried again, and counted as such.
    fail.store(1, Ordering::SeqCst);
    assert!(matches!(
        client.bump().await,
        Err(Error::Status { status: 503, .. })
    ));
    assert_eq!(refused("not_idempotent"), 1.0);

    // More failures than attempts: three retries, then the attempts are spent.
    fail.store(10, Ordering::SeqCst);
    assert!(client.read().await.is_err());
    assert_eq!(retries("status"), 5.0);
    assert_eq!(refused("attempts"), 1.0);

    // A budget of no share of calls: only the 10 retries any client starts with, then none.
    let thrifty = MeterClient::builder(&url)
        .retry(quick(100).budget(0.0))
        .build()
        .unwrap();
    fail.store(1000, Ordering::SeqCst);
    assert!(thrifty.read().await.is_err());
    assert_eq!(retries("status"), 15.0);
    assert_eq!(refused("budget"), 1.0);
    fail.store(0, Ordering::SeqCst);

    // Two endpoints; the first fails once and is set aside, is probed after its cool-down, and
    // answers: set aside once, restored once, and both carry the endpoint without credentials.
    let (other, _) = meter().await;
    let with_user = url.replacen("http://", "http://user:secret@", 1);
    let pair = MeterClient::builder(&with_user)
        .endpoints([other.as_str()])
        .failover(
            Failover::new()
                .failures(1)
                .cool_down(Duration::from_millis(100), Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    let first = format!("endpoint=\"{url}\"");
    fail.store(1, Ordering::SeqCst);
    // The calls take the endpoints in turn: the first's meets the 503 and moves to the other
    // endpoint at once.
    for _ in 0..2 {
        assert_eq!(pair.read().await.unwrap(), 0);
    }
    assert_eq!(metrics("rpc_client_endpoint_set_aside", &[&first]), 1.0);
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..4 {
        pair.read().await.unwrap();
    }
    assert_eq!(metrics("rpc_client_endpoint_restored", &[&first]), 1.0);
    assert!(
        !recorder.render().contains("secret"),
        "no credentials in labels"
    );
    // Nor in what the client shows of its endpoints, or in its `Debug`.
    assert_eq!(
        pair.client().endpoints()[0].url(),
        url.replacen("http://", "http://user:***@", 1)
    );
    assert!(!format!("{pair:?}").contains("secret"), "{pair:?}");

    // Automatic batching: 20 tasks' calls at once go out in fewer requests than calls, and the
    // histogram counts every call.
    let batching = MeterClient::builder(&url)
        .auto_batch(AutoBatch::new())
        .build()
        .unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = batching.clone();
            tokio::spawn(async move { client.read().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let batches = metrics("rpc_client_batch_calls_count", &[]);
    assert_eq!(metrics("rpc_client_batch_calls_sum", &[]), 20.0);
    assert!((1.0..20.0).contains(&batches), "{batches} requests");

    // A WebSocket server restarts: one reconnect, one subscription resubscribed; then it goes
    // for good, and the reconnect gives up and counts the subscription lost.
    let (port, socket) = common::SharedPort::new();
    let common::Stoppable {
        addr,
        stop: stop_first,
        server: first_server,
    } = common::serve_until_stopped_on(socket.listen(64).unwrap(), examples::pubsub::app());
    let ws = Client::builder(&format!("ws://{addr}/rpc"))
        .reconnect(Retry::new(3).backoff(Duration::from_millis(20), Duration::from_millis(50)))
        .build()
        .unwrap();
    let mut ticks = ticks(&ws, examples::pubsub::MIN_INTERVAL_MS).await;
    assert_eq!(next(&mut ticks).await.unwrap().unwrap(), 0);
    let restart = port.next();
    stop_first.send(()).unwrap();
    first_server.await.unwrap().unwrap();
    let common::Stoppable {
        stop: stop_second,
        server: second_server,
        ..
    } = common::serve_until_stopped_on(restart.listen(64).unwrap(), examples::pubsub::app());
    loop {
        // Items from the first server, then the new subscription's, from 0.
        if next(&mut ticks).await.unwrap().unwrap() == 0 {
            break;
        }
    }
    let reconnects = |outcome: &str| {
        metrics(
            "rpc_client_websocket_reconnects",
            &[&format!("outcome=\"{outcome}\"")],
        )
    };
    assert_eq!(reconnects("connected"), 1.0);
    assert_eq!(metrics("rpc_client_subscriptions_resubscribed", &[]), 1.0);
    // The first reconnect may have tried before the new server was listening.
    let failed_before = reconnects("failed");
    stop_second.send(()).unwrap();
    second_server.await.unwrap().unwrap();
    let end = loop {
        match next(&mut ticks).await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert!(
        matches!(end, CallError::Call(Error::Transport(_))),
        "{end:?}"
    );
    assert_eq!(reconnects("failed") - failed_before, 3.0);
    assert_eq!(reconnects("gave_up"), 1.0);
    assert_eq!(
        metrics(
            "rpc_client_subscriptions_lost",
            &["reason=\"connection_lost\""]
        ),
        1.0
    );

    // Each of those is in the log, at its level, with its reason.
    let logs = logs.text();
    let line = |level: &str, message: &str| {
        logs.lines()
            .find(|l| l.contains(level) && l.contains(message))
            .unwrap_or_else(|| panic!("no {level} line `{message}` in:\n{logs}"))
            .to_owned()
    };
    let retry = line("DEBUG", "retrying a call");
    assert!(
        retry.contains("reason=HTTP status 503") && retry.contains("attempt=1"),
        "{retry}"
    );
    let set_aside = line("WARN", "endpoint set aside");
    let shown = url.replacen("http://", "http://user:***@", 1);
    assert!(set_aside.contains(&shown), "{set_aside}");
    assert!(!logs.contains("secret"), "a password in the logs:\n{logs}");
    line("INFO", "endpoint answered its probe, back in turn");
    line("INFO", "WebSocket connection lost; reconnecting");
    line("INFO", "WebSocket reconnected");
    line("INFO", "WebSocket reconnect gave up");
}
