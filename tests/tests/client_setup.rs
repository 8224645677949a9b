//! What a new user meets first: building a typed client with settings, URLs refused at
//! construction, error text, a result of the wrong type, sharing one implementation, mounting
//! under a path, and a client-only trait reading one method several ways.

mod common;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use examples::spec::{SpecExamples, SpecExamplesServer, SpecService};
use rpc_core::{Error, rpc};

async fn spec_url() -> String {
    common::serve(examples::spec::app(), "/rpc").await
}

#[tokio::test]
async fn the_typed_client_has_a_builder() {
    let url = spec_url().await;
    let spec: examples::spec::SpecExamplesClient =
        examples::spec::SpecExamplesClient::builder(&url)
            .timeout(Duration::from_secs(5))
            .header("x-caller", "tests")
            .retry(rpc_client::Retry::new(2))
            .build()
            .unwrap();
    assert_eq!(spec.subtract(42, 23).await.unwrap(), 19);
    let bad = examples::spec::SpecExamplesClient::builder(&url)
        .header("bad header", "x")
        .build();
    assert!(matches!(bad, Err(Error::Request(_))));
}

#[tokio::test]
async fn urls_no_call_could_use_are_refused_at_construction() {
    for (url, says) in [
        ("localhost:1/rpc", "URL scheme is not allowed"),
        ("not a url", "invalid URL"),
        ("ftp://127.0.0.1/rpc", "URL scheme is not allowed"),
        ("https://", "empty host"),
        ("wss://", "empty host"),
    ] {
        match rpc_client::Client::new(url) {
            Err(Error::Request(why)) => assert!(why.contains(says), "{url}: {why}"),
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    // With the `tls` feature (these tests build rpc-client with it), https:// and wss:// are
    // built; without it they are refused with the feature named (rpc-client's own unit tests,
    // run without the feature by scripts/test.sh).
    for url in ["https://127.0.0.1:1/rpc", "wss://127.0.0.1:1/rpc"] {
        assert!(rpc_client::Client::new(url).is_ok(), "{url}");
    }
    // A reqwest client cannot carry a WebSocket: its settings would be silently unused.
    let over_ws = rpc_client::Client::builder("ws://127.0.0.1:1/rpc")
        .http_client(reqwest::Client::new())
        .build();
    match over_ws {
        Err(Error::Request(why)) => assert!(why.contains("`http_client` is for http://"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_says_so_in_one_line() {
    let refusing = common::RefusingPort::new();
    let spec = examples::spec::SpecExamplesClient::new(&refusing.url("/rpc")).unwrap();
    let e = spec.get_data().await.unwrap_err();
    let line = e.to_string();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(line.contains("refused"), "{line}");
    assert!(
        !line.contains('\n') && line.matches("refused").count() == 1,
        "{line}"
    );
    // The layers underneath are still there for whoever walks them.
    assert!(e.source().is_some());

    // A password in the URL stays out of the message and every layer under it (reqwest takes
    // the credentials out of the URL it names).
    let url = refusing
        .url("/rpc")
        .replacen("http://", "http://user:secret@", 1);
    let e = rpc_client::Client::new(&url)
        .unwrap()
        .call::<u8, ()>("get_data", None)
        .await
        .unwrap_err();
    let mut layers = vec![e.to_string()];
    let mut source = e.source();
    while let Some(layer) = source {
        layers.push(layer.to_string());
        source = layer.source();
    }
    assert!(layers.iter().all(|l| !l.contains("secret")), "{layers:?}");
}

/// The specification's service read with the wrong result type.
#[rpc(client)]
pub trait Misread {
    /// `get_data` answers `["hello", 5]`, not a number.
    async fn get_data(&self) -> u64;
}

#[tokio::test]
async fn a_result_of_the_wrong_type_is_a_decode_error() {
    let misread = MisreadClient::new(&spec_url().await).unwrap();
    match misread.get_data().await {
        Err(Error::Decode(why)) => assert!(why.contains("invalid type"), "{why}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    let mut batch = misread.batch();
    let slot = batch.get_data();
    let mut answers = batch.send().await.unwrap();
    assert!(matches!(answers.take(slot), Err(Error::Decode(_))));
}

#[tokio::test]
async fn one_implementation_is_served_and_used_locally_through_arc() {
    let shared = Arc::new(SpecService::default());
    let app = axum::Router::new().nest(
        "/rpc",
        rpc_server::router(SpecExamplesServer(shared.clone())),
    );
    let url = common::serve(app, "/rpc").await;
    let remote = examples::spec::SpecExamplesClient::new(&url).unwrap();
    remote.notify().notify_hello(1).await.unwrap();
    shared.notify_hello(2).await;
    // Both went to the one service: local code sees the remote call and the other way round.
    assert_eq!(shared.notifications_seen().await, 2);
    assert_eq!(remote.notifications_seen().await.unwrap(), 2);
}

#[tokio::test]
async fn a_mounted_endpoint_answers_with_and_without_a_trailing_slash() {
    use rpc_server::{RouterExt, RpcService};
    let app = axum::Router::new()
        .rpc("/rpc", SpecExamplesServer(SpecService::default()))
        .rpc(
            "/admin/rpc/",
            RpcService::new(SpecExamplesServer(SpecService::default())).introspection(true),
        )
        .route("/health", axum::routing::get(|| async { "ok" }));
    let base = common::serve(app, "").await;
    for path in ["/rpc", "/rpc/", "/admin/rpc", "/admin/rpc/"] {
        let spec = examples::spec::SpecExamplesClient::new(&format!("{base}{path}")).unwrap();
        assert_eq!(spec.subtract(5, 3).await.unwrap(), 2, "at {path}");
    }
    let listed: Vec<String> = rpc_client::Client::new(&format!("{base}/admin/rpc"))
        .unwrap()
        .call("system.listMethods", None::<&()>)
        .await
        .unwrap();
    assert!(listed.iter().any(|m| m == "subtract"), "{listed:?}");
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
}

/// One wire method, three ways to call it.
#[rpc(client)]
pub trait Subtract {
    /// By position.
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> i64;
    /// By name.
    #[rpc(name = "subtract", params = "named")]
    async fn subtract_named(&self, minuend: i64, subtrahend: i64) -> i64;
    /// With narrower types.
    #[rpc(name = "subtract")]
    async fn subtract_small(&self, minuend: i8, subtrahend: i8) -> i8;
}

#[tokio::test]
async fn a_client_only_trait_may_read_one_method_several_ways() {
    let spec = SubtractClient::new(&spec_url().await).unwrap();
    assert_eq!(spec.subtract(42, 23).await.unwrap(), 19);
    assert_eq!(spec.subtract_named(42, 23).await.unwrap(), 19);
    assert_eq!(spec.subtract_small(-100, 27).await.unwrap(), -127);
    assert!(matches!(
        spec.subtract_small(-100, 29).await,
        Err(Error::Decode(_))
    ));
}
