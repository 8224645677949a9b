//! The framework end to end: a real server on 127.0.0.1, the generated typed client and raw
//! HTTP, for every point of the JSON-RPC 2.0 contract.

mod common;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use rpc_core::{CallError, Error, RpcError, rpc};
use rpc_server::{RequestContext, RpcService};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An error with the default code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.reason)
    }
}

impl RpcError for Refused {}

/// Everything the wire can do, in one trait.
#[rpc(namespace = "t")]
pub trait Features {
    /// Trailing options may be left out.
    async fn echo_opt(
        &self,
        a: i32,
        b: Option<i32>,
        c: Option<String>,
    ) -> (i32, Option<i32>, Option<String>);

    /// Answers to `t.renamed` and `t.alias`.
    #[rpc(name = "renamed", aliases = ["alias"])]
    async fn original(&self) -> String;

    /// The client sends these params by name.
    #[rpc(params = "named")]
    async fn named(&self, first: String, second: u8) -> String;

    /// Sleeps, then returns how long.
    async fn sleep_ms(&self, ms: u64) -> u64;

    /// Panics when asked to.
    async fn boom(&self, really: bool) -> i32;

    /// A header of the HTTP request this call came in.
    async fn header(&self, name: String) -> Option<String>;

    /// The caller's TCP port, as the server saw it.
    async fn peer_port(&self) -> u16;

    /// Always fails with the default error code.
    async fn refuse(&self, reason: String) -> Result<u8, Refused>;

    /// Remembers `note`; meant to be sent as a notification.
    async fn record(&self, note: String);

    /// Every note recorded so far.
    async fn notes(&self) -> Vec<String>;

    /// Fixed params, then any count of numbers.
    async fn join(&self, sep: String, #[rpc(variadic)] numbers: Vec<u32>) -> String;

    /// A raw identifier param: `type` on the wire.
    async fn kind(&self, r#type: String) -> String;
}

#[derive(Default)]
struct Impl {
    notes: Mutex<Vec<String>>,
}

impl Features for Impl {
    async fn echo_opt(
        &self,
        a: i32,
        b: Option<i32>,
        c: Option<String>,
    ) -> (i32, Option<i32>, Option<String>) {
        (a, b, c)
    }

    async fn original(&self) -> String {
        "original".into()
    }

    async fn named(&self, first: String, second: u8) -> String {
        format!("{first}/{second}")
    }

    async fn sleep_ms(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    async fn boom(&self, really: bool) -> i32 {
        if really {
            panic!("secret internals");
        }
        1
    }

    async fn header(&self, name: String) -> Option<String> {
        RequestContext::header(name.as_str()).and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    async fn peer_port(&self) -> u16 {
        RequestContext::extension::<ConnectInfo<SocketAddr>>().map_or(0, |c| c.0.port())
    }

    async fn refuse(&self, reason: String) -> Result<u8, Refused> {
        Err(Refused { reason })
    }

    async fn record(&self, note: String) {
        self.notes.lock().unwrap().push(note);
    }

    async fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    async fn join(&self, sep: String, numbers: Vec<u32>) -> String {
        numbers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(&sep)
    }

    async fn kind(&self, r#type: String) -> String {
        r#type
    }
}

/// Serves the features at `/rpc` with connection info, returning the URL.
async fn features() -> String {
    let app = axum::Router::new().route(
        "/rpc",
        RpcService::new(FeaturesServer(Impl::default())).into_method_router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}/rpc")
}

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

#[tokio::test]
async fn http_level_answers() {
    let url = features().await;
    let wrong_type = common::post_with(
        &url,
        r#"{"jsonrpc":"2.0","method":"t.renamed","id":1}"#,
        "text/plain",
    )
    .await;
    assert_eq!(wrong_type.status, 415);
    let with_charset = common::post_with(
        &url,
        r#"{"jsonrpc":"2.0","method":"t.renamed","id":1}"#,
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(with_charset.json()["result"], json!("original"));
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let empty = common::post(&url, "").await.json();
    assert_eq!(empty["error"]["code"], json!(-32700));

    let small = axum::Router::new().route(
        "/rpc",
        RpcService::new(FeaturesServer(Impl::default()))
            .max_body_bytes(64)
            .into_method_router(),
    );
    let small = common::serve(small, "/rpc").await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"t.kind","params":["{}"],"id":1}}"#,
        "x".repeat(100)
    );
    assert_eq!(common::post(&small, &big).await.status, 413);
}

#[tokio::test]
async fn client_reuses_its_connection() {
    let url = features().await;
    let client = FeaturesClient::new(&url).unwrap();
    let mut ports = Vec::new();
    for _ in 0..20 {
        ports.push(client.peer_port().await.unwrap());
    }
    ports.dedup();
    assert_eq!(ports.len(), 1, "20 sequential calls used ports {ports:?}");
    assert_ne!(ports[0], 0);
}

#[tokio::test]
async fn client_headers_timeout_and_auth() {
    let url = features().await;
    let client = rpc_client::Client::builder(&url)
        .header("x-trace", "abc")
        .bearer_auth("tok")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let client = FeaturesClient::from_client(client);
    assert_eq!(
        client.header("x-trace".into()).await.unwrap().as_deref(),
        Some("abc")
    );
    assert_eq!(
        client
            .header("authorization".into())
            .await
            .unwrap()
            .as_deref(),
        Some("Bearer tok")
    );
    assert!(matches!(client.sleep_ms(2_000).await, Err(Error::Timeout)));
    assert_eq!(
        client.sleep_ms(1).await.unwrap(),
        1,
        "a timeout leaves the client usable"
    );

    let basic = rpc_client::Client::builder(&url)
        .basic_auth("Aladdin", Some("open sesame"))
        .build()
        .unwrap();
    let basic = FeaturesClient::from_client(basic);
    assert_eq!(
        basic
            .header("authorization".into())
            .await
            .unwrap()
            .as_deref(),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
}

#[tokio::test]
async fn client_errors_tell_what_failed() {
    // Nothing listens on a port we just released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/rpc", listener.local_addr().unwrap());
    drop(listener);
    let client = FeaturesClient::new(&dead).unwrap();
    let e = client.original().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.is_retryable());

    let odd = axum::Router::new()
        .route("/status", axum::routing::post(|| async { (axum::http::StatusCode::BAD_GATEWAY, "<html>upstream down</html>") }))
        .route("/text", axum::routing::post(|| async { "hello" }))
        .route("/wrong-id", axum::routing::post(|| async { r#"{"jsonrpc":"2.0","result":1,"id":999999}"# }))
        .route(
            "/rpc-500",
            axum::routing::post(|| async {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}"#)
            }),
        );
    let base = common::serve(odd, "").await;
    let at = |path: &str| FeaturesClient::new(&format!("{base}{path}")).unwrap();
    match at("/status").original().await {
        Err(Error::Status { status: 502, body }) => assert!(body.contains("upstream down")),
        other => panic!("expected Status 502, got {other:?}"),
    }
    assert!(matches!(
        at("/text").original().await,
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        at("/wrong-id").original().await,
        Err(Error::Malformed(_))
    ));
    assert_eq!(
        at("/rpc-500").original().await.unwrap_err().rpc_code(),
        Some(-32603)
    );

    let url = features().await;
    let e = FeaturesClient::new(&url)
        .unwrap()
        .client()
        .call::<Value, ()>("t.missing", None)
        .await
        .unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32601));
    assert!(FeaturesClient::new("not a url").is_err());
}

#[tokio::test]
async fn mounts_nests_merges_with_state_and_layers() {
    #[derive(Clone)]
    struct AppState {
        greeting: &'static str,
    }
    let rpc = RpcService::new(FeaturesServer(Impl::default()));
    let app = axum::Router::new()
        .route(
            "/hello",
            axum::routing::get(
                |axum::extract::State(s): axum::extract::State<AppState>| async move { s.greeting },
            ),
        )
        .route("/deep/path/rpc", rpc.clone().into_method_router())
        .nest("/nested", rpc.clone().into_router())
        .merge(axum::Router::new().route("/merged", rpc.into_method_router()))
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.headers_mut()
                    .insert("x-layer", axum::http::HeaderValue::from_static("on"));
                r
            },
        ))
        .with_state(AppState { greeting: "hi" });
    let base = common::serve(app, "").await;
    for path in ["/deep/path/rpc", "/nested", "/merged"] {
        let client = FeaturesClient::new(&format!("{base}{path}")).unwrap();
        assert_eq!(client.original().await.unwrap(), "original", "{path}");
    }
    let hello = reqwest::get(format!("{base}/hello")).await.unwrap();
    assert_eq!(hello.headers()["x-layer"], "on");
    assert_eq!(hello.text().await.unwrap(), "hi");
}

#[tokio::test]
async fn authorize_hook_sees_the_request() {
    let rpc = RpcService::new(FeaturesServer(Impl::default())).authorize(|method| {
        let admin = RequestContext::header("x-role").is_some_and(|v| v == "admin");
        if method == "t.renamed" || admin {
            Ok(())
        } else {
            Err(rpc_core::ErrorObject::new(-32001, "forbidden"))
        }
    });
    let url = common::serve(
        axum::Router::new().route("/rpc", rpc.into_method_router()),
        "/rpc",
    )
    .await;
    let guest = FeaturesClient::new(&url).unwrap();
    assert_eq!(guest.original().await.unwrap(), "original");
    assert_eq!(
        guest.kind("x".into()).await.unwrap_err().rpc_code(),
        Some(-32001)
    );
    let admin = FeaturesClient::from_client(
        rpc_client::Client::builder(&url)
            .header("x-role", "admin")
            .build()
            .unwrap(),
    );
    assert_eq!(admin.kind("x".into()).await.unwrap(), "x");
}

#[tokio::test]
async fn client_reconnects_to_a_server_that_comes_up_late() {
    // A free port, with nothing on it for now.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let url = format!("http://{addr}/rpc");

    let impatient = FeaturesClient::new(&url).unwrap();
    assert!(matches!(
        impatient.original().await,
        Err(Error::Transport(_))
    ));

    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let app = axum::Router::new().route(
            "/rpc",
            RpcService::new(FeaturesServer(Impl::default())).into_method_router(),
        );
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    let patient = FeaturesClient::from_client(
        rpc_client::Client::builder(&url)
            .reconnect(8, Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    assert_eq!(patient.original().await.unwrap(), "original");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it waited for the server"
    );
    late.abort();
}
