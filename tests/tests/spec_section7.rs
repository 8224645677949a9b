//! Every example of the JSON-RPC 2.0 specification's section 7, sent over HTTP to a live
//! `spec_server` and compared as the vectors file says: code and id exactly, message loosely,
//! batches as unordered multisets, `null` meaning no response at all.

mod common;

use serde_json::{Value, json};

const VECTORS: &str = include_str!("../data/jsonrpc-spec-section7.json");

/// A response with the message dropped (the spec's table text is not normative per
/// implementation) and the rest kept for exact comparison.
fn normalized(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(error) = v.get_mut("error").and_then(Value::as_object_mut) {
        let message = error.remove("message");
        assert!(
            message.as_ref().is_some_and(Value::is_string),
            "error without a string message: {v:?}"
        );
        error.remove("data");
    }
    v
}

fn as_multiset(v: &Value) -> Vec<String> {
    let mut items: Vec<String> = v
        .as_array()
        .expect("a batch answer is an array")
        .iter()
        .map(|item| normalized(item).to_string())
        .collect();
    items.sort();
    items
}

#[tokio::test]
async fn section7_examples_against_spec_server() {
    let url = common::serve(examples::spec::app(), "/rpc").await;
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 15, "the file holds the spec's 15 examples");
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let request = vector["request"].as_str().unwrap();
        let expected = &vector["expected"];
        let raw = common::post(&url, request).await;
        assert_eq!(raw.status, 200, "{name}: HTTP status");
        match expected {
            Value::Null => assert_eq!(raw.body, "", "{name}: expected no response"),
            Value::Array(_) => {
                assert_eq!(as_multiset(&raw.json()), as_multiset(expected), "{name}");
                assert_eq!(
                    raw.content_type.as_deref(),
                    Some("application/json"),
                    "{name}"
                );
            }
            _ => {
                assert_eq!(normalized(&raw.json()), normalized(expected), "{name}");
                assert_eq!(
                    raw.content_type.as_deref(),
                    Some("application/json"),
                    "{name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn spec_messages_are_the_table_text() {
    let url = common::serve(examples::spec::app(), "/rpc").await;
    let cases = [
        ("{", -32700, "Parse error"),
        (
            r#"{"jsonrpc":"2.0","method":1,"id":1}"#,
            -32600,
            "Invalid Request",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"nope","id":1}"#,
            -32601,
            "Method not found",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":1}"#,
            -32602,
            "Invalid params",
        ),
    ];
    for (request, code, message) in cases {
        let answer = common::post(&url, request).await.json();
        assert_eq!(answer["error"]["code"], json!(code), "{request}");
        assert_eq!(answer["error"]["message"], json!(message), "{request}");
    }
}

#[tokio::test]
async fn notifications_in_the_examples_really_run() {
    let url = common::serve(examples::spec::app(), "/rpc").await;
    let seen = r#"{"jsonrpc":"2.0","method":"notifications_seen","id":1}"#;
    assert_eq!(common::post(&url, seen).await.json()["result"], json!(0));
    let batch = r#"[{"jsonrpc":"2.0","method":"notify_sum","params":[1,2,4]},
                    {"jsonrpc":"2.0","method":"notify_hello","params":[7]}]"#;
    assert_eq!(common::post(&url, batch).await.body, "");
    let single = r#"{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}"#;
    assert_eq!(common::post(&url, single).await.body, "");
    assert_eq!(common::post(&url, seen).await.json()["result"], json!(3));
}
