//! The generated typed client against real servers on 127.0.0.1: connection reuse, headers,
//! timeouts and auth, errors that say what failed, reconnecting.

mod common;

use std::time::{Duration, Instant};

use common::features::{FeaturesClient, FeaturesServer, Impl, features};
use rpc_core::Error;
use rpc_server::RpcService;
use serde_json::Value;

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
    let refusing = common::RefusingPort::new();
    let client = FeaturesClient::new(&refusing.url("/rpc")).unwrap();
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
async fn client_reconnects_to_a_server_that_comes_up_late() {
    // A port of our own, refusing connections until the server comes up on it.
    let port = common::RefusingPort::new();
    let url = port.url("/rpc");

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
        axum::serve(port.listen(), app).await.unwrap();
    });
    let patient = FeaturesClient::from_client(
        rpc_client::Client::builder(&url)
            .retry(
                rpc_client::Retry::new(8)
                    .backoff(Duration::from_millis(50), Duration::from_millis(400)),
            )
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
