//! The server as an HTTP citizen: status codes and content types, body limits, mounting in an
//! axum app (nested, merged, with state and layers), the authorize hook, and the explorer page
//! on `GET` (its behaviour in a browser is `explorer_browser`'s).

mod common;

use common::features::{FeaturesClient, FeaturesServer, Impl, features};
use rpc_server::{RequestContext, RpcService};
use serde_json::json;

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

/// `serve` takes any tower service of HTTP requests, whatever its body type, and hands it
/// each request's peer address.
#[tokio::test]
async fn serve_takes_any_tower_service_and_tells_it_the_peer() {
    use tower::ServiceExt as _;
    let rpc = axum::Router::new().route(
        "/rpc",
        RpcService::new(FeaturesServer(Impl::default())).into_method_router(),
    );
    let app = tower::service_fn(move |request: axum::extract::Request| {
        let rpc = rpc.clone();
        async move {
            if request.uri().path() != "/rpc" {
                let peer = request
                    .extensions()
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|peer| peer.0.ip().to_string());
                return Ok::<_, std::convert::Infallible>(axum::http::Response::new(format!(
                    "peer {peer:?}"
                )));
            }
            let (parts, body) = rpc.oneshot(request).await?.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            Ok(axum::http::Response::from_parts(
                parts,
                String::from_utf8(body.to_vec()).unwrap(),
            ))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(std::future::IntoFuture::into_future(rpc_server::serve(
        listener, app,
    )));
    let client = FeaturesClient::new(&format!("http://{addr}/rpc")).unwrap();
    assert_eq!(client.original().await.unwrap(), "original");
    let who = reqwest::get(format!("http://{addr}/who")).await.unwrap();
    assert_eq!(who.text().await.unwrap(), r#"peer Some("127.0.0.1")"#);
    server.abort();
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
/// The page is served on GET with the strict content security policy, and loads nothing from
/// anywhere: no external script, style, image or font.
#[tokio::test]
async fn explorer_page_is_self_contained() {
    let url = common::serve(examples::calculator::app(), "/rpc").await;
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
        .get(&url)
        .send()
        .await
        .expect("GET the explorer");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(
        header("content-security-policy").starts_with("default-src 'none'"),
        "{}",
        header("content-security-policy")
    );
    let page = response.text().await.expect("the page");
    for external in [
        "src=", "<link", "@import", "url(", "http://", "https://", "//cdn",
    ] {
        assert!(!page.contains(external), "the page holds `{external}`");
    }
    assert!(
        page.contains("location.href"),
        "it posts to its own address"
    );
    assert!(
        !page.contains("innerHTML") && !page.contains("insertAdjacentHTML"),
        "no HTML is built from strings"
    );
}
