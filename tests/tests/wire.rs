//! The JSON-RPC 2.0 wire end to end: raw requests over real HTTP to a server on 127.0.0.1,
//! for every point of the contract (params, names, ids, versions, notifications, batches,
//! errors, panics).

mod common;

use std::time::{Duration, Instant};

use common::features::{FeaturesClient, FeaturesServer, Impl, Refused, features};
use rpc_core::CallError;
use rpc_server::RpcService;
use serde_json::{Value, json};

async fn call(url: &str, body: Value) -> Value {
    common::post(url, &body.to_string()).await.json()
}

#[tokio::test]
async fn positional_named_and_omitted_options() {
    let url = features().await;
    let by_position = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.echo_opt","params":[1, 2, "x"],"id":1}),
    )
    .await;
    assert_eq!(by_position["result"], json!([1, 2, "x"]));
    let by_name = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.echo_opt","params":{"c":"x","a":1},"id":2}),
    )
    .await;
    assert_eq!(by_name["result"], json!([1, null, "x"]));
    let omitted = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.echo_opt","params":[7],"id":3}),
    )
    .await;
    assert_eq!(omitted["result"], json!([7, null, null]));

    let client = FeaturesClient::new(&url).unwrap();
    assert_eq!(
        client.echo_opt(5, None, Some("y".into())).await.unwrap(),
        (5, None, Some("y".into()))
    );
    assert_eq!(client.named("a".into(), 7).await.unwrap(), "a/7");
    assert_eq!(
        client.join("-".into(), vec![1, 2, 3]).await.unwrap(),
        "1-2-3"
    );
    assert_eq!(client.kind("k".into()).await.unwrap(), "k");
    let raw_name = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.kind","params":{"type":"z"},"id":4}),
    )
    .await;
    assert_eq!(raw_name["result"], json!("z"));
    let variadic_by_name = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.join","params":{"sep":"+","numbers":[4,5]},"id":5}),
    )
    .await;
    assert_eq!(variadic_by_name["result"], json!("4+5"));
}

#[tokio::test]
async fn invalid_params_name_the_problem() {
    let url = features().await;
    let cases = [
        (json!([]), "missing param `a`"),
        (
            json!([1, 2, "x", 4]),
            "too many params: expected at most 3 (`a`, `b`, `c`), got 4",
        ),
        (
            json!({"a": 1, "z": 2}),
            "unknown param `z`, expected one of: `a`, `b`, `c`",
        ),
        (json!({"b": 1}), "missing param `a`"),
        (
            json!(["one"]),
            "param `a`: invalid type: string \"one\", expected i32",
        ),
        (
            json!([1, 2, 3]),
            "param `c`: invalid type: integer `3`, expected a string",
        ),
    ];
    for (params, data) in cases {
        let answer = call(
            &url,
            json!({"jsonrpc":"2.0","method":"t.echo_opt","params":params,"id":9}),
        )
        .await;
        assert_eq!(answer["error"]["code"], json!(-32602), "{params}");
        assert_eq!(answer["error"]["data"], json!(data), "{params}");
        assert_eq!(answer["id"], json!(9));
    }
    let client = FeaturesClient::new(&url).unwrap();
    let e = client
        .client()
        .call::<Value, _>("t.named", Some(&json!({"first": "a"})))
        .await
        .unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32602), "{e}");
}

#[tokio::test]
async fn names_namespaces_and_aliases() {
    let url = features().await;
    for method in ["t.renamed", "t.alias"] {
        let answer = call(&url, json!({"jsonrpc":"2.0","method":method,"id":1})).await;
        assert_eq!(answer["result"], json!("original"), "{method}");
    }
    for method in ["t.original", "renamed", "echo_opt"] {
        let answer = call(&url, json!({"jsonrpc":"2.0","method":method,"id":1})).await;
        assert_eq!(answer["error"]["code"], json!(-32601), "{method}");
    }
    let client = FeaturesClient::new(&url).unwrap();
    assert_eq!(client.original().await.unwrap(), "original");
    let names: Vec<_> = FeaturesServer::INFO
        .methods
        .iter()
        .map(|m| m.name)
        .collect();
    assert!(
        names.contains(&"t.renamed") && names.contains(&"t.echo_opt"),
        "{names:?}"
    );
}

#[tokio::test]
async fn ids_are_echoed_byte_for_byte() {
    let url = features().await;
    for id in [
        r#""1""#,
        "1",
        "1.0",
        "-0",
        "12345678901234567890123",
        r#""\u00e9t\u00e9""#,
        "null",
        "1e3",
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"t.renamed","id":{id}}}"#);
        let raw = common::post(&url, &body).await;
        assert!(
            raw.body.ends_with(&format!(r#","id":{id}}}"#)),
            "{id}: {}",
            raw.body
        );
    }
    for (id, why) in [("{}", "object"), ("[1]", "array"), ("true", "bool")] {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"t.renamed","id":{id}}}"#);
        let answer = common::post(&url, &body).await.json();
        assert_eq!(answer["error"]["code"], json!(-32600), "{why}");
        assert_eq!(answer["id"], Value::Null, "{why}");
    }
}

#[tokio::test]
async fn jsonrpc_must_be_exactly_2_0() {
    let url = features().await;
    for version in [r#""2.1""#, r#""2""#, "2.0", r#""1.0""#, "null"] {
        let body = format!(r#"{{"jsonrpc":{version},"method":"t.renamed","id":"x"}}"#);
        let answer = common::post(&url, &body).await.json();
        assert_eq!(answer["error"]["code"], json!(-32600), "{version}");
        assert_eq!(
            answer["id"],
            json!("x"),
            "the valid id is echoed for {version}"
        );
    }
    let missing = common::post(&url, r#"{"method":"t.renamed","id":1}"#)
        .await
        .json();
    assert_eq!(missing["error"]["code"], json!(-32600));
    let escaped = common::post(
        &url,
        r#"{"jsonrpc":"2\u002e0","method":"t.renam\u0065d","id":1}"#,
    )
    .await
    .json();
    assert_eq!(escaped["result"], json!("original"));
    let params_scalar = common::post(
        &url,
        r#"{"jsonrpc":"2.0","method":"t.renamed","params":3,"id":1}"#,
    )
    .await
    .json();
    assert_eq!(params_scalar["error"]["code"], json!(-32600));
}

#[tokio::test]
async fn notifications_get_no_response_but_run() {
    let url = features().await;
    let raw = common::post(
        &url,
        r#"{"jsonrpc":"2.0","method":"t.record","params":["a"]}"#,
    )
    .await;
    assert_eq!((raw.status, raw.body.as_str()), (200, ""));
    // A failing or unknown notification is still silent.
    let raw = common::post(
        &url,
        r#"{"jsonrpc":"2.0","method":"t.refuse","params":["x"]}"#,
    )
    .await;
    assert_eq!(raw.body, "");
    let raw = common::post(&url, r#"{"jsonrpc":"2.0","method":"t.nothing"}"#).await;
    assert_eq!(raw.body, "");

    let client = FeaturesClient::new(&url).unwrap();
    client.notify().record("b".into()).await.unwrap();
    let mut batch = client.batch();
    batch.notify().record("c".into());
    batch.notify().record("d".into());
    let answers = batch.send().await.unwrap();
    assert!(answers.is_empty());
    let mut notes = client.notes().await.unwrap();
    notes.sort();
    assert_eq!(notes, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn batches_run_concurrently_and_keep_order() {
    let url = features().await;
    let calls: Vec<Value> = (0..8)
        .map(|i| json!({"jsonrpc":"2.0","method":"t.sleep_ms","params":[300],"id":i}))
        .collect();
    let started = Instant::now();
    let answer = call(&url, Value::Array(calls)).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(8 * 300 / 2),
        "8 x 300 ms took {elapsed:?}"
    );
    let ids: Vec<_> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, (0..8).map(|i| json!(i)).collect::<Vec<_>>());

    let client = FeaturesClient::new(&url).unwrap();
    let mut batch = client.batch();
    let a = batch.echo_opt(1, Some(2), None);
    let b = batch.refuse("no".into());
    let c = batch.join(",".into(), vec![9, 8]);
    batch.notify().record("in batch".into());
    let d = batch.original();
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers.take(d).unwrap(), "original");
    assert_eq!(answers.take(c).unwrap(), "9,8");
    assert_eq!(answers.take(a).unwrap(), (1, Some(2), None));
    match answers.take(b) {
        Err(CallError::Method(e)) => assert_eq!(
            e,
            Refused {
                reason: "no".into()
            }
        ),
        other => panic!("expected the typed error, got {other:?}"),
    }
}

/// Calls that finish at once, calls that wait (finishing in another order than sent),
/// notifications and a panic, mixed in one batch: every answer comes back once, in request
/// order, whichever of them is first, last or pending.
#[tokio::test]
async fn batches_mixing_waiting_and_finished_calls_keep_order() {
    let url = features().await;
    let now = |id: i64| json!({"jsonrpc":"2.0","method":"t.echo_opt","params":[id],"id":id});
    let wait =
        |id: i64, ms: u64| json!({"jsonrpc":"2.0","method":"t.sleep_ms","params":[ms],"id":id});
    let boom = |id: i64| json!({"jsonrpc":"2.0","method":"t.boom","params":[true],"id":id});
    let quiet = |ms: u64| json!({"jsonrpc":"2.0","method":"t.sleep_ms","params":[ms]});
    let note = json!({"jsonrpc":"2.0","method":"t.record","params":["n"]});
    let batches = [
        vec![
            now(0),
            wait(1, 200),
            note.clone(),
            now(2),
            wait(3, 50),
            boom(4),
            now(5),
        ],
        vec![
            wait(0, 100),
            wait(1, 10),
            quiet(30),
            now(2),
            wait(3, 60),
            note.clone(),
        ],
        vec![
            note.clone(),
            quiet(20),
            now(0),
            quiet(5),
            wait(1, 40),
            now(2),
            note.clone(),
        ],
        vec![quiet(40), wait(0, 20), quiet(10), now(1)],
        vec![now(0), now(1), boom(2), now(3)],
    ];
    for batch in batches {
        let expected: Vec<i64> = batch.iter().filter_map(|c| c["id"].as_i64()).collect();
        let answer = call(&url, Value::Array(batch.clone())).await;
        let answers = answer.as_array().expect("an array of answers");
        let ids: Vec<i64> = answers.iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, expected, "{answer}");
        for (answer, request) in answers
            .iter()
            .zip(batch.iter().filter(|c| c.get("id").is_some()))
        {
            match request["method"].as_str().unwrap() {
                "t.echo_opt" => {
                    assert_eq!(answer["result"], json!([request["params"][0], null, null]))
                }
                "t.sleep_ms" => assert_eq!(answer["result"], request["params"][0]),
                _ => assert_eq!(answer["error"]["code"], -32603, "{answer}"),
            }
        }
    }

    let only_notifications = vec![quiet(30), note.clone(), quiet(5)];
    let raw = common::post(&url, &Value::Array(only_notifications).to_string()).await;
    assert_eq!((raw.status, raw.body.as_str()), (200, ""));
}

#[tokio::test]
async fn batch_limits_are_enforced() {
    let app = axum::Router::new().route(
        "/rpc",
        RpcService::new(FeaturesServer(Impl::default()))
            .max_batch_len(3)
            .into_method_router(),
    );
    let url = common::serve(app, "/rpc").await;
    let calls: Vec<Value> = (0..4)
        .map(|i| json!({"jsonrpc":"2.0","method":"t.renamed","id":i}))
        .collect();
    let answer = call(&url, Value::Array(calls)).await;
    assert_eq!(answer["error"]["code"], json!(-32600));
    assert_eq!(answer["id"], Value::Null);
}

#[tokio::test]
async fn typed_errors_travel_with_default_code() {
    let url = features().await;
    let raw = call(
        &url,
        json!({"jsonrpc":"2.0","method":"t.refuse","params":["because"],"id":1}),
    )
    .await;
    assert_eq!(
        raw["error"],
        json!({"code": -32000, "message": "refused: because", "data": {"reason": "because"}})
    );
    let client = FeaturesClient::new(&url).unwrap();
    match client.refuse("why".into()).await {
        Err(CallError::Method(Refused { reason })) => assert_eq!(reason, "why"),
        other => panic!("expected CallError::Method, got {other:?}"),
    }
}

#[tokio::test]
async fn a_panic_fails_only_its_call() {
    let url = features().await;
    let answer = call(
        &url,
        json!([
            {"jsonrpc":"2.0","method":"t.boom","params":[true],"id":1},
            {"jsonrpc":"2.0","method":"t.boom","params":[false],"id":2}
        ]),
    )
    .await;
    assert_eq!(answer[0]["error"]["code"], json!(-32603));
    assert_eq!(answer[0]["id"], json!(1));
    assert!(
        !answer.to_string().contains("secret"),
        "panic message leaked: {answer}"
    );
    assert_eq!(answer[1]["result"], json!(1));
    let client = FeaturesClient::new(&url).unwrap();
    assert_eq!(
        client.boom(true).await.unwrap_err().rpc_code(),
        Some(-32603)
    );
    assert_eq!(
        client.boom(false).await.unwrap(),
        1,
        "the server keeps serving"
    );
}
