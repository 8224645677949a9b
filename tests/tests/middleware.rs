//! Per-call middleware over real HTTP: a layer sees every call (batch members included) and
//! its outcome; a rate-limited caller is refused while another is served; a concurrency limit
//! refuses past its cap; the buckets a client can make are bounded; layers run in the stated
//! order.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rpc_core::rpc;
use rpc_server::middleware::{
    BUSY, Call, Calls, ConcurrencyLimit, Layer, Next, Outcome, RATE_LIMITED, RateLimit,
};
use rpc_server::{RequestContext, RouterExt, RpcService};

/// A small service to call.
#[rpc]
pub trait Work {
    /// Answers at once.
    async fn quick(&self, n: u32) -> u32;
    /// Takes `ms` milliseconds.
    async fn slow(&self, ms: u64) -> u64;
    /// A notification.
    async fn poke(&self);
}

struct Worker;

impl Work for Worker {
    async fn quick(&self, n: u32) -> u32 {
        n + 1
    }
    async fn slow(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }
    async fn poke(&self) {}
}

/// Records what it sees, tagged with its name: the method, the id, the outcome.
struct Record {
    tag: &'static str,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Layer for Record {
    async fn call<'a, N: Calls>(&'a self, call: Call<'a>, next: Next<'a, N>) -> Outcome {
        let id = call
            .id()
            .map_or("notification".to_owned(), |id| id.get().to_owned());
        let outcome = next.run(call).await;
        let code = outcome.as_ref().err().map(|e| e.code);
        self.seen.lock().unwrap().push(format!(
            "{} {} {} {id} {code:?}",
            self.tag,
            call.method(),
            call.known_method().unwrap_or("?")
        ));
        outcome
    }
}

/// Refuses `quick` with 7 without calling it.
struct Refuse7;

impl Layer for Refuse7 {
    async fn call<'a, N: Calls>(&'a self, call: Call<'a>, next: Next<'a, N>) -> Outcome {
        if call.method() == "quick" && call.params().is_some_and(|p| p.get() == "[7]") {
            return Err(rpc_core::ErrorObject::new(4000, "seven is refused"));
        }
        next.run(call).await
    }
}

#[tokio::test]
async fn layers_see_every_call_and_its_outcome_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let endpoint = RpcService::new(WorkServer(Worker))
        .layer(Record {
            tag: "inner",
            seen: seen.clone(),
        })
        .layer(Refuse7)
        .layer(Record {
            tag: "outer",
            seen: seen.clone(),
        });
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let work = WorkClient::new(&url).unwrap();
    assert_eq!(work.quick(1).await.unwrap(), 2);
    let refused = work.quick(7).await.unwrap_err();
    assert_eq!(refused.rpc_code(), Some(4000));
    let raw = common::post(
        &url,
        r#"[{"jsonrpc":"2.0","method":"quick","params":[2],"id":"a"},
            {"jsonrpc":"2.0","method":"poke"},
            {"jsonrpc":"2.0","method":"nope","id":9}]"#,
    )
    .await
    .json();
    assert_eq!(raw[0]["result"], 3);
    assert_eq!(raw[1]["error"]["code"], -32601);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "inner quick quick 1 None",
            "outer quick quick 1 None",
            // Refused between the two: the inner layer never saw it.
            "outer quick quick 2 Some(4000)",
            "inner quick quick \"a\" None",
            "outer quick quick \"a\" None",
            "inner poke poke notification None",
            "outer poke poke notification None",
            "inner nope ? 9 Some(-32601)",
            "outer nope ? 9 Some(-32601)",
        ]
    );
}

#[tokio::test]
async fn a_rate_limited_caller_is_refused_while_another_is_served() {
    let limit = RateLimit::per_caller(1, 2, |_: &Call<'_>| RequestContext::header("x-api-key"));
    let endpoint = RpcService::new(WorkServer(Worker)).layer(limit);
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let as_caller = |key: &str| {
        WorkClient::builder(&url)
            .header("x-api-key", key)
            .build()
            .unwrap()
    };
    let (alice, bob) = (as_caller("alice"), as_caller("bob"));
    // A burst of 2, then refused, with how long to wait.
    assert_eq!(alice.quick(1).await.unwrap(), 2);
    assert_eq!(alice.quick(1).await.unwrap(), 2);
    let e = alice.quick(1).await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(RATE_LIMITED), "{e}");
    let rpc_core::Error::Rpc(obj) = &e else {
        unreachable!()
    };
    let wait: serde_json::Value = obj.data_as().unwrap();
    assert!(wait["retry_after_ms"].as_u64().unwrap() <= 1000, "{wait}");
    // Bob has his own bucket; and alice's other method too.
    assert_eq!(bob.quick(5).await.unwrap(), 6);
    assert_eq!(alice.slow(1).await.unwrap(), 1);
}

#[tokio::test]
async fn callers_past_the_cap_are_refused_not_remembered() {
    // One call a second: a caller's bucket stays in use (not refilled) for a second.
    let limit = RateLimit::per_caller(1, 1, |_: &Call<'_>| RequestContext::header("x-api-key"))
        .max_callers(3);
    let endpoint = RpcService::new(WorkServer(Worker)).layer(limit);
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let mut refused = 0;
    for key in 0..20 {
        let client = WorkClient::builder(&url)
            .header("x-api-key", &format!("key-{key}"))
            .build()
            .unwrap();
        if client.quick(1).await.is_err() {
            refused += 1;
        }
    }
    // Three buckets fit; every fresh key after that finds none idle (refilled) and is refused.
    assert_eq!(refused, 17);
}

#[tokio::test]
async fn a_concurrency_limit_refuses_past_its_cap_as_busy() {
    let limit = ConcurrencyLimit::new(8, Duration::from_millis(50)).method("slow", 1);
    let endpoint = RpcService::new(WorkServer(Worker)).layer(limit);
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let work = WorkClient::new(&url).unwrap();
    let (first, second, quick) = tokio::join!(work.slow(400), work.slow(400), work.quick(1));
    let busy = [first, second]
        .into_iter()
        .filter_map(Result::err)
        .collect::<Vec<_>>();
    assert_eq!(busy.len(), 1, "one of the two slow calls is refused");
    assert_eq!(busy[0].rpc_code(), Some(BUSY));
    assert!(busy[0].is_retryable());
    assert_eq!(quick.unwrap(), 2, "another method has its own limit");
}

/// A layer's check that panics fails its own call with `-32603`, alone and in a batch, and the
/// endpoint goes on serving the others: the check runs inside the call, where a panic is caught.
#[tokio::test]
async fn a_check_that_panics_fails_only_its_call() {
    let endpoint = RpcService::new(WorkServer(Worker)).authorize(|method| {
        assert_ne!(method, "slow", "a bug in the check");
        Ok(())
    });
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let client = WorkClient::new(&url).unwrap();
    let e = client.slow(1).await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32603), "{e}");
    assert_eq!(client.quick(1).await.unwrap(), 2);
    let batch = r#"[{"jsonrpc":"2.0","method":"slow","params":[1],"id":1},
                    {"jsonrpc":"2.0","method":"quick","params":[1],"id":2}]"#;
    let answer = common::post(&url, batch).await;
    assert_eq!(answer.status, 200);
    let answers: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["error"]["code"], -32603, "{answers}");
    assert_eq!(answers[1]["result"], 2, "{answers}");
}
