//! Any bytes as a POST body to `spec_server`'s app (the specification's service, with
//! `rpc.discover`, introspection and the explorer on): the answer is an empty body or valid
//! JSON-RPC, one response object or a non-empty array of them, and our own client reads it.

#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use rpc_core::wire::Response;
use serde_json::Value;
use tower::ServiceExt as _;

static APP: LazyLock<axum::Router> = LazyLock::new(examples::spec::app);

fuzz_target!(|body: &[u8]| {
    let request = Request::post("/rpc")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a valid request head");
    let (status, answer) = rpc_fuzz::runtime().block_on(async {
        let response = APP.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let answer = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        (status, answer.expect("the answer is in memory"))
    });
    assert_eq!(status, StatusCode::OK, "every JSON-RPC answer is 200 OK");
    if answer.is_empty() {
        return;
    }
    let value: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    match &value {
        Value::Array(items) => {
            assert!(!items.is_empty(), "an empty array is never an answer");
            items.iter().for_each(check_response);
            let parsed = Response::parse_batch(&answer).expect("our client reads the batch");
            assert_eq!(parsed.len(), items.len());
        }
        single => {
            check_response(single);
            Response::parse(&answer).expect("our client reads the response");
        }
    }
});

/// One response object as JSON-RPC 2.0 has it: `jsonrpc` "2.0", an `id` (null, a number or a
/// string), exactly one of `result` and `error`, an error with an integer `code` and a string
/// `message`, nothing else.
fn check_response(value: &Value) {
    let object = value.as_object().expect("a response is an object");
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")), "{value}");
    let id = object.get("id").expect("a response has an id");
    assert!(
        id.is_null() || id.is_number() || id.is_string(),
        "id {id} is null, a number or a string"
    );
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => assert_eq!(object.len(), 3, "{value}"),
        (None, Some(error)) => {
            assert_eq!(object.len(), 3, "{value}");
            let error = error.as_object().expect("an error is an object");
            assert!(error["code"].is_i64(), "an integer code: {value}");
            assert!(error["message"].is_string(), "a message: {value}");
            assert!(
                error
                    .keys()
                    .all(|k| ["code", "message", "data"].contains(&k.as_str()))
            );
        }
        _ => panic!("exactly one of result and error: {value}"),
    }
}
