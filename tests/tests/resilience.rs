//! Calls that survive failures without ever running a non-idempotent call twice, against real
//! servers on 127.0.0.1 that fail on purpose: a front that answers 503 (with or without
//! `Retry-After`) or the server's "busy" error a set number of times, and a server that reads a
//! request and drops the connection without answering.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use rpc_client::Retry;
use rpc_core::{Error, rpc};
use rpc_server::RpcService;

/// An account.
#[rpc]
pub trait Ledger {
    /// The balance: reading it twice is reading it once.
    #[rpc(idempotent)]
    async fn balance(&self) -> u64;
    /// Adds `amount` and returns the new balance: running it twice adds twice.
    async fn deposit(&self, amount: u64) -> u64;
}

#[derive(Default)]
struct Account {
    balance: AtomicUsize,
    deposits: AtomicUsize,
}

impl Ledger for Arc<Account> {
    async fn balance(&self) -> u64 {
        self.balance.load(Ordering::SeqCst) as u64
    }
    async fn deposit(&self, amount: u64) -> u64 {
        self.deposits.fetch_add(1, Ordering::SeqCst);
        (self.balance.fetch_add(amount as usize, Ordering::SeqCst) + amount as usize) as u64
    }
}

/// How the front fails its first requests.
#[derive(Clone, Copy)]
enum Fail {
    /// 503, with `Retry-After` in seconds when some.
    Unavailable(Option<u64>),
    /// 503, with `Retry-After` as an HTTP date this long after the failure.
    UnavailableUntil(Duration),
    /// 200 with the server's "busy" error.
    Busy,
}

/// A server whose first `failures` requests fail as `how`; the rest reach the ledger.
async fn flaky(failures: usize, how: Fail) -> (String, Arc<Account>, Arc<AtomicUsize>) {
    let account = Arc::new(Account::default());
    let seen = Arc::new(AtomicUsize::new(0));
    let endpoint = RpcService::new(LedgerServer(account.clone()));
    let front = {
        let seen = seen.clone();
        move |headers: HeaderMap, body: Bytes| {
            let endpoint = endpoint.clone();
            let seen = seen.clone();
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) < failures {
                    return match how {
                        Fail::Unavailable(after) => {
                            let mut response =
                                (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
                            if let Some(after) = after {
                                response
                                    .headers_mut()
                                    .insert(header::RETRY_AFTER, after.into());
                            }
                            response
                        }
                        Fail::UnavailableUntil(wait) => {
                            let date = httpdate::fmt_http_date(std::time::SystemTime::now() + wait);
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                [(header::RETRY_AFTER, date)],
                                "down",
                            )
                                .into_response()
                        }
                        Fail::Busy => {
                            let id = serde_json::from_slice::<serde_json::Value>(&body)
                                .map(|v| v["id"].clone())
                                .unwrap_or_default();
                            let answer = serde_json::json!({"jsonrpc": "2.0", "id": id,
                                "error": {"code": -32005, "message": "Server busy"}});
                            (
                                [(header::CONTENT_TYPE, "application/json")],
                                answer.to_string(),
                            )
                                .into_response()
                        }
                    };
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
    (common::serve(app, "/rpc").await, account, seen)
}

fn client(url: &str, policy: Retry) -> LedgerClient {
    LedgerClient::builder(url).retry(policy).build().unwrap()
}

fn quick(attempts: u32) -> Retry {
    Retry::new(attempts).backoff(Duration::from_millis(1), Duration::from_millis(5))
}

#[tokio::test]
async fn an_idempotent_call_rides_through_failures_and_a_deposit_is_never_repeated() {
    let (url, account, seen) = flaky(2, Fail::Unavailable(None)).await;
    let ledger = client(&url, quick(3));
    assert_eq!(ledger.balance().await.unwrap(), 0);
    assert_eq!(seen.load(Ordering::SeqCst), 3, "two 503s, then the answer");

    let (url, account2, seen2) = flaky(1, Fail::Unavailable(None)).await;
    let ledger = client(&url, quick(3));
    match ledger.deposit(5).await {
        Err(Error::Status { status: 503, .. }) => {}
        other => panic!("a deposit is not sent again after a 503: {other:?}"),
    }
    assert_eq!(seen2.load(Ordering::SeqCst), 1);
    assert_eq!(ledger.deposit(5).await.unwrap(), 5);
    assert_eq!(account2.deposits.load(Ordering::SeqCst), 1);
    drop(account);
}

#[tokio::test]
async fn the_servers_busy_error_is_retried_for_idempotent_calls_only() {
    let (url, _, seen) = flaky(1, Fail::Busy).await;
    let ledger = client(&url, quick(2));
    assert_eq!(ledger.balance().await.unwrap(), 0);
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    let (url, account, _) = flaky(1, Fail::Busy).await;
    let ledger = client(&url, quick(2));
    assert_eq!(
        ledger.deposit(1).await.unwrap_err().rpc_code(),
        Some(-32005)
    );
    assert_eq!(account.deposits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    // In seconds, and as an HTTP date 2 s ahead (to the second: a wait of more than 1 s).
    for how in [
        Fail::Unavailable(Some(1)),
        Fail::UnavailableUntil(Duration::from_secs(2)),
    ] {
        let (url, _, seen) = flaky(1, how).await;
        let ledger = client(&url, quick(2));
        let started = Instant::now();
        assert_eq!(ledger.balance().await.unwrap(), 0);
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn a_request_that_was_written_is_not_sent_again_unless_idempotent() {
    let (url, read) = common::hang_up_server("/rpc").await;
    let ledger = client(&url, quick(3));
    assert!(matches!(ledger.deposit(5).await, Err(Error::Transport(_))));
    assert_eq!(
        read.load(Ordering::SeqCst),
        1,
        "the deposit reached the server once, and only once"
    );
    read.store(0, Ordering::SeqCst);
    assert!(ledger.balance().await.is_err());
    assert_eq!(
        read.load(Ordering::SeqCst),
        4,
        "the balance was asked for again, three times"
    );
}

#[tokio::test]
async fn a_batch_is_sent_again_only_when_every_call_in_it_is_idempotent() {
    let (url, account, seen) = flaky(1, Fail::Unavailable(None)).await;
    let ledger = client(&url, quick(2));
    let mut batch = ledger.batch();
    let a = batch.balance();
    let b = batch.balance();
    let mut answers = batch.send().await.unwrap();
    assert_eq!((answers.take(a).unwrap(), answers.take(b).unwrap()), (0, 0));
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    let (url, account2, _) = flaky(1, Fail::Unavailable(None)).await;
    let ledger = client(&url, quick(2));
    let mut batch = ledger.batch();
    let _ = batch.balance();
    let _ = batch.deposit(3);
    assert!(batch.send().await.is_err());
    assert_eq!(account2.deposits.load(Ordering::SeqCst), 0);
    drop(account);
}

#[tokio::test]
async fn the_budget_stops_retries_when_most_calls_fail() {
    // Always down: with no share of calls to spend, only the 10 retries allowed at the start
    // are made, however many calls fail.
    let (url, _, seen) = flaky(usize::MAX, Fail::Unavailable(None)).await;
    let ledger = client(&url, quick(3).budget(0.0));
    for _ in 0..20 {
        assert!(ledger.balance().await.is_err());
    }
    assert_eq!(seen.load(Ordering::SeqCst), 20 + 10);
}

#[test]
fn idempotency_is_in_the_openrpc_document() {
    let doc = LedgerServer::openrpc();
    assert_eq!(doc["methods"][0]["name"], "balance");
    assert_eq!(doc["methods"][0]["x-idempotent"], true);
    assert!(doc["methods"][1].get("x-idempotent").is_none());
    let info = LedgerServer::INFO;
    assert!(info.methods[0].idempotent && !info.methods[1].idempotent);
}

/// Every method idempotent but one.
#[rpc(idempotent)]
pub trait Cache {
    /// Reads.
    async fn get(&self, key: String) -> Option<String>;
    /// Counts a hit: not idempotent.
    #[rpc(idempotent = false)]
    async fn hit(&self, key: String) -> u64;
}

#[test]
fn a_trait_default_and_a_method_override() {
    let info = CacheServer::INFO;
    assert!(info.methods[0].idempotent);
    assert!(!info.methods[1].idempotent);
}
