//! Shared helpers: real servers on 127.0.0.1 port 0 and raw HTTP posts to them.
#![allow(dead_code)] // Each test binary uses its own subset of these helpers.

use std::net::SocketAddr;

/// Serves `app` on a free port of 127.0.0.1 and returns the endpoint URL for `path`.
pub(crate) async fn serve(app: axum::Router, path: &str) -> String {
    let addr: SocketAddr = examples::spawn(app, "127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    format!("http://{addr}{path}")
}

/// What came back from a raw POST.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: String,
}

impl Raw {
    /// The body as JSON; panics (failing the test) when it is not.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// POSTs `body` as `application/json` to `url`.
pub(crate) async fn post(url: &str, body: &str) -> Raw {
    post_with(url, body, "application/json").await
}

/// POSTs `body` with the given content type.
pub(crate) async fn post_with(url: &str, body: &str, content_type: &str) -> Raw {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST reaches the test server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = response.text().await.expect("body reads");
    Raw {
        status,
        content_type,
        body,
    }
}
