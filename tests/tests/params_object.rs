//! `params = "object"`: a method whose one param is the whole params object, as LSP and MCP
//! methods take theirs, through the typed client and as raw JSON with keys the struct does
//! not name, absent params, and params of the wrong shape.

mod common;

use rpc_core::rpc;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A hover request's params, as LSP names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoverParams {
    /// The document.
    pub text_document: String,
    /// The line in it.
    pub line: u32,
}

/// A listing's params, which may be left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListParams {
    /// Where the last page ended.
    pub cursor: Option<String>,
}

/// Methods taking their params whole.
#[rpc]
pub trait Editor {
    /// The word at a place.
    #[rpc(name = "textDocument/hover", params = "object")]
    async fn hover(&self, params: HoverParams) -> String;

    /// A page of tools.
    #[rpc(name = "tools/list", params = "object")]
    async fn list(&self, params: Option<ListParams>) -> String;
}

struct Impl;

impl Editor for Impl {
    async fn hover(&self, params: HoverParams) -> String {
        format!("{}:{}", params.text_document, params.line)
    }

    async fn list(&self, params: Option<ListParams>) -> String {
        format!("{:?}", params.and_then(|p| p.cursor))
    }
}

#[tokio::test]
async fn the_whole_params_object_is_the_param() {
    let app = axum::Router::new().route(
        "/rpc",
        rpc_server::RpcService::new(EditorServer(Impl)).into_method_router(),
    );
    let base = common::serve(app, "").await;
    let url = format!("{base}/rpc");
    let client = EditorClient::new(&url).unwrap();
    let hover = HoverParams {
        text_document: "a.txt".into(),
        line: 3,
    };
    assert_eq!(client.hover(hover).await.unwrap(), "a.txt:3");
    assert_eq!(
        client
            .list(Some(ListParams {
                cursor: Some("c".into())
            }))
            .await
            .unwrap(),
        r#"Some("c")"#
    );
    // Raw: the client's keys in camelCase, with one the struct does not name.
    let call = |params: serde_json::Value| {
        json!({"jsonrpc": "2.0", "method": "textDocument/hover", "params": params, "id": 1})
            .to_string()
    };
    let answer = common::post(
        &url,
        &call(json!({"textDocument": "b.txt", "line": 7, "workDoneToken": "t"})),
    )
    .await;
    assert_eq!(answer.json()["result"], "b.txt:7", "{}", answer.body);
    // A missing field is the caller's mistake, said precisely.
    let answer = common::post(&url, &call(json!({"textDocument": "b.txt"}))).await;
    assert_eq!(answer.json()["error"]["code"], -32602, "{}", answer.body);
    assert_eq!(
        answer.json()["error"]["data"],
        "missing field `line`",
        "{}",
        answer.body
    );
    // Params of another shape are refused, saying why.
    let answer = common::post(&url, &call(json!([7]))).await;
    assert_eq!(answer.json()["error"]["code"], -32602, "{}", answer.body);
    // Absent params are `null`: an `Option` param takes them.
    let answer = common::post(
        &url,
        &json!({"jsonrpc": "2.0", "method": "tools/list", "id": 2}).to_string(),
    )
    .await;
    assert_eq!(answer.json()["result"], "None", "{}", answer.body);
}
