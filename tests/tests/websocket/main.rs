//! JSON-RPC over WebSocket on the RPC route, read with a plain WebSocket client
//! (tokio-tungstenite) so that every byte the server sends is checked: calls, batches and
//! notifications as over HTTP; subscriptions' ids, items, end, failure, unsubscribe; and every
//! per-connection limit, each pushed past.
//!
//! - `wire`: calls, batches and subscriptions on the wire, and through the middleware;
//! - `limits`: every per-connection limit, pushed past;
//! - `lifecycle`: a socket's end: closed by the client, by a shutdown, by silence; the
//!   connection cap.

#[path = "../common/mod.rs"]
mod common;
mod lifecycle;
mod limits;
mod wire;

pub(crate) use futures_util::{SinkExt as _, StreamExt as _, stream};
pub(crate) use rpc_core::{ErrorObject, Subscription, rpc};
pub(crate) use rpc_server::{RouterExt as _, RpcService, WsLimits};
pub(crate) use serde_json::{Value, json};
pub(crate) use std::sync::Arc;
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
pub(crate) use std::time::Duration;
pub(crate) use tokio_tungstenite::tungstenite::Message;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn serve(app: axum::Router) -> std::net::SocketAddr {
    examples::spawn(app, "127.0.0.1:0").await.unwrap()
}

pub(crate) async fn pubsub() -> std::net::SocketAddr {
    serve(examples::pubsub::app()).await
}

pub(crate) async fn connect(addr: std::net::SocketAddr) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/rpc"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

pub(crate) async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

/// The next text message as JSON, failing after 10 s.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    common::ws_next(socket).await
}

/// `body` posted over HTTP to the same route; the answer.
pub(crate) async fn post(addr: std::net::SocketAddr, body: Value) -> Value {
    let bytes = reqwest::Client::new()
        .post(format!("http://{addr}/rpc"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Subscribes with `method(params)` as call `id`; the subscription id.
pub(crate) async fn subscribe(socket: &mut Socket, method: &str, params: Value, id: u64) -> String {
    send(
        socket,
        json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}),
    )
    .await;
    let answer = next(socket).await;
    assert_eq!(
        answer["id"], id,
        "the subscribe answer comes first: {answer}"
    );
    answer["result"]
        .as_str()
        .unwrap_or_else(|| panic!("a subscription id: {answer}"))
        .to_owned()
}

/// Subscriptions whose streams fail, or flood.
#[rpc(server)]
pub(crate) trait Feeds {
    /// One item, then a failure.
    #[rpc(subscription = "flaky")]
    async fn subscribe_flaky(&self) -> Subscription<u32>;
    /// `size`-byte strings, as fast as they can go, forever.
    #[rpc(subscription = "blob")]
    async fn subscribe_blobs(&self, size: usize) -> Subscription<String>;
    /// An ordinary call.
    async fn ping(&self) -> String;
}

pub(crate) struct Feed {
    /// Blob streams dropped so far: an ended subscription's stream must be dropped.
    pub(crate) dropped: Arc<AtomicUsize>,
}

pub(crate) struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Feeds for Feed {
    async fn subscribe_flaky(&self) -> Subscription<u32> {
        Subscription::new(stream::iter([
            Ok(7),
            Err(ErrorObject::new(-32050, "feed lost").with_data("upstream")),
        ]))
    }

    async fn subscribe_blobs(&self, size: usize) -> Subscription<String> {
        let guard = CountDrop(self.dropped.clone());
        let blob = "x".repeat(size);
        Subscription::from_items(stream::repeat(blob).map(move |b| {
            let _ = &guard;
            b
        }))
    }

    async fn ping(&self) -> String {
        "pong".into()
    }
}

pub(crate) async fn feeds(limits: WsLimits) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let service = RpcService::new(FeedsServer(Feed {
        dropped: dropped.clone(),
    }))
    .websocket_limits(limits);
    (
        serve(axum::Router::new().rpc("/rpc", service)).await,
        dropped,
    )
}
