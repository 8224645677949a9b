//! Automatic batching against a real server on 127.0.0.1 that counts the HTTP requests it
//! gets: calls from many tasks share requests, each caller gets its own answer or error, a
//! failed batch fails each of its calls (and is sent again only when all are idempotent), a
//! lone call goes out at once, notifications join the batches, and callers or clients that go
//! away stop cleanly.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use rpc_client::{AutoBatch, Retry};
use rpc_core::{CallError, Error, RpcError, rpc};
use serde::{Deserialize, Serialize};

/// Why a division failed.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum DivideError {
    /// The divisor was zero.
    ByZero,
}

impl std::fmt::Display for DivideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("division by zero")
    }
}

impl RpcError for DivideError {}

/// Arithmetic, and a tally that must not run twice.
#[rpc]
pub trait Arith {
    /// `n * n`.
    #[rpc(idempotent)]
    async fn square(&self, n: i64) -> i64;
    /// `a / b`.
    #[rpc(idempotent)]
    async fn divide(&self, a: i64, b: i64) -> Result<i64, DivideError>;
    /// Counts one more: not idempotent.
    async fn tally(&self) -> u64;
}

#[derive(Default)]
struct Counts {
    /// Calls run, of any method.
    calls: AtomicUsize,
    tallies: AtomicUsize,
}

impl Arith for Arc<Counts> {
    async fn square(&self, n: i64) -> i64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        n * n
    }
    async fn divide(&self, a: i64, b: i64) -> Result<i64, DivideError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        a.checked_div(b).ok_or(DivideError::ByZero)
    }
    async fn tally(&self) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.tallies.fetch_add(1, Ordering::SeqCst) as u64 + 1
    }
}

/// The server's counts: HTTP requests received, and calls run.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    counts: Arc<Counts>,
}

/// A server whose first `failures` requests are answered 503; it counts every request.
async fn start(failures: usize) -> Server {
    let counts = Arc::new(Counts::default());
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let app = rpc_server::router(ArithServer(counts.clone())).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    return (StatusCode::SERVICE_UNAVAILABLE, "warming up").into_response();
                }
                next.run(request).await
            }
        },
    ));
    Server {
        url: common::serve(app, "/").await,
        requests,
        counts,
    }
}

fn batching(url: &str, policy: AutoBatch) -> ArithClient {
    ArithClient::builder(url)
        .auto_batch(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_from_many_tasks_share_requests_and_each_gets_its_answer() {
    let server = start(0).await;
    let client = batching(&server.url, AutoBatch::new().max_size(64));
    let calls: Vec<_> = (0..300i64)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move { (n, client.square(n).await) })
        })
        .collect();
    for call in calls {
        let (n, answer) = call.await.unwrap();
        assert_eq!(answer.unwrap(), n * n);
    }
    let requests = server.requests.load(Ordering::SeqCst);
    assert!(
        (5..=30).contains(&requests),
        "300 calls in batches of at most 64: {requests} requests"
    );
    assert_eq!(server.counts.calls.load(Ordering::SeqCst), 300);
}

#[tokio::test]
async fn a_method_error_reaches_only_its_caller() {
    let server = start(0).await;
    let client = batching(&server.url, AutoBatch::new());
    let calls = (0..40i64).map(|n| {
        let client = client.clone();
        async move { (n, client.divide(120, n % 4).await) }
    });
    for (n, answer) in futures_util::future::join_all(calls).await {
        match (n % 4, answer) {
            (0, Err(CallError::Method(DivideError::ByZero))) => {}
            (d, Ok(q)) if d != 0 => assert_eq!(q, 120 / d),
            (_, other) => panic!("divide(120, {}): {other:?}", n % 4),
        }
    }
    let requests = server.requests.load(Ordering::SeqCst);
    assert!(requests < 10, "40 calls: {requests} requests");
}

#[tokio::test]
async fn a_lone_call_goes_out_at_once() {
    let server = start(0).await;
    let client = batching(
        &server.url,
        AutoBatch::new().max_delay(Duration::from_secs(5)),
    );
    for n in 0..3 {
        let started = Instant::now();
        assert_eq!(client.square(n).await.unwrap(), n * n);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failed_batch_fails_each_call_and_is_sent_again_only_when_all_are_idempotent() {
    let retry = Retry::new(2).backoff(Duration::from_millis(1), Duration::from_millis(5));
    // All idempotent: the batch is sent again whole, and every call succeeds.
    let server = start(1).await;
    let client = ArithClient::builder(&server.url)
        .auto_batch(AutoBatch::new())
        .retry(retry)
        .build()
        .unwrap();
    let calls = (0..20i64).map(|n| client.square(n));
    let answers = futures_util::future::join_all(calls).await;
    for (n, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), (n * n) as i64);
    }
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        2,
        "one 503, one retry"
    );

    // One tally among them: the batch is not sent again, and each call gets the 503.
    let server = start(1).await;
    let client = ArithClient::builder(&server.url)
        .auto_batch(AutoBatch::new())
        .retry(retry)
        .build()
        .unwrap();
    let (squares, tally) = tokio::join!(
        futures_util::future::join_all((0..10i64).map(|n| client.square(n))),
        client.tally()
    );
    for answer in squares {
        assert!(
            matches!(answer, Err(Error::Status { status: 503, .. })),
            "{answer:?}"
        );
    }
    assert!(matches!(tally, Err(Error::Status { status: 503, .. })));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    assert_eq!(server.counts.tallies.load(Ordering::SeqCst), 0);

    // A transport failure reaches every caller too.
    let refusing = common::RefusingPort::new();
    let client = batching(&refusing.url("/"), AutoBatch::new());
    let answers = futures_util::future::join_all((0..5i64).map(|n| client.square(n))).await;
    for answer in answers {
        let error = answer.unwrap_err();
        assert!(
            matches!(error, Error::Transport(_)) && error.to_string().contains("refused"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn callers_that_give_up_do_not_disturb_the_others() {
    let server = start(0).await;
    let client = batching(&server.url, AutoBatch::new());
    let calls = (0..40i64).map(|n| {
        let client = client.clone();
        async move {
            if n % 2 == 0 {
                // Queued, then dropped at once.
                let _ = tokio::time::timeout(Duration::ZERO, client.square(n)).await;
                None
            } else {
                Some((n, client.square(n).await))
            }
        }
    });
    for (n, answer) in futures_util::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
    {
        assert_eq!(answer.unwrap(), n * n);
    }
    // And the client goes on working.
    assert_eq!(client.square(9).await.unwrap(), 81);
}

#[tokio::test]
async fn dropping_the_client_stops_its_batching_task() {
    let server = start(0).await;
    // The connection pool outlives the client, so that only the batching task can end.
    let http = reqwest::Client::new();
    let client = ArithClient::builder(&server.url)
        .http_client(http.clone())
        .auto_batch(AutoBatch::new())
        .build()
        .unwrap();
    assert_eq!(client.square(3).await.unwrap(), 9);
    let metrics = tokio::runtime::Handle::current().metrics();
    let with_client = metrics.num_alive_tasks();
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while metrics.num_alive_tasks() >= with_client && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.num_alive_tasks(), with_client - 1);
    drop(http);
}

#[tokio::test]
async fn batches_go_over_a_websocket_too() {
    let server = start(0).await;
    let url = server.url.replacen("http://", "ws://", 1);
    let client = batching(&url, AutoBatch::new());
    let calls = (0..100i64).map(|n| {
        let client = client.clone();
        async move { (n, client.divide(n, n % 3).await) }
    });
    for (n, answer) in futures_util::future::join_all(calls).await {
        match (n % 3, answer) {
            (0, Err(CallError::Method(DivideError::ByZero))) => {}
            (d, Ok(q)) if d != 0 => assert_eq!(q, n / d),
            (_, other) => panic!("divide({n}, {}): {other:?}", n % 3),
        }
    }
    assert_eq!(server.counts.calls.load(Ordering::SeqCst), 100);
    // One HTTP request: the upgrade.
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn notifications_from_many_tasks_join_the_batches_and_each_runs_once() {
    let server = start(0).await;
    let client = batching(&server.url, AutoBatch::new().max_size(64));
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                // Calls and notifications mixed in the same batches.
                if n % 2 == 0 {
                    client.client().notify("tally", None::<&()>).await
                } else {
                    client.square(n).await.map(drop)
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let requests = server.requests.load(Ordering::SeqCst);
    assert!(
        requests < 50,
        "100 calls and notifications in batches: {requests} requests"
    );
    // A notification's caller returns once its request is delivered; the server may still be
    // running it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.counts.tallies.load(Ordering::SeqCst) < 50 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.counts.tallies.load(Ordering::SeqCst), 50);
    assert_eq!(server.counts.calls.load(Ordering::SeqCst), 100);

    // Notifications alone, in one batch the server answers with no body at all.
    let before = server.requests.load(Ordering::SeqCst);
    let alone = (0..10).map(|_| {
        let client = client.clone();
        async move { client.client().notify("tally", None::<&()>).await }
    });
    for delivered in futures_util::future::join_all(alone).await {
        delivered.unwrap();
    }
    assert!(server.requests.load(Ordering::SeqCst) - before < 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.counts.tallies.load(Ordering::SeqCst) < 60 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.counts.tallies.load(Ordering::SeqCst), 60);

    // A notification whose request fails reports the failure to its caller.
    let down = common::RefusingPort::new();
    let client = batching(&down.url("/"), AutoBatch::new());
    assert!(matches!(
        client.client().notify("tally", None::<&()>).await,
        Err(Error::Transport(_))
    ));
}
