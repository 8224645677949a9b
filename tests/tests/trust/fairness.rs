//! Fairness between peers: a rate limit keyed on the TCP peer, which no header changes; the
//! subscriptions one peer address may hold.

use rpc_core::rpc;
use rpc_server::middleware::RateLimit;
use rpc_server::{RequestContext, RouterExt as _, RpcService, WsLimits};

use super::*;

#[rpc(server)]
pub(crate) trait Peers {
    /// The caller's address, as the server sees it.
    async fn whoami(&self) -> String;
}

struct Seen;

impl Peers for Seen {
    async fn whoami(&self) -> String {
        RequestContext::peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }
}

/// A client whose connections come from `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn call(client: &reqwest::Client, url: &str, forwarded: &str) -> Value {
    let body = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-forwarded-for", forwarded)
        .body(json!({"jsonrpc": "2.0", "method": "whoami", "id": 1}).to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_per_peer_limit_holds_whatever_headers_say_and_leaves_other_peers_their_own() {
    let endpoint = RpcService::new(PeersServer(Seen)).layer(RateLimit::per_peer(1, 1));
    let addr = examples::spawn(axum::Router::new().rpc("/rpc", endpoint), "127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("http://{addr}/rpc");
    let flooder = client_from("127.0.0.2");
    let mut passed = 0;
    for n in 0..50 {
        // A fresh X-Forwarded-For each time: the key is the TCP peer, not the header.
        let answer = call(&flooder, &url, &format!("10.0.0.{n}")).await;
        if answer["result"] == "127.0.0.2" {
            passed += 1;
        } else {
            assert_eq!(answer["error"]["code"], -32008, "{answer}");
        }
    }
    assert!(
        passed <= 2,
        "{passed} of 50 rotated calls passed a limit of 1 a second"
    );
    // Another peer has its own bucket, untouched by the flood.
    let honest = client_from("127.0.0.1");
    let answer = call(&honest, &url, "10.0.0.1").await;
    assert_eq!(answer["result"], "127.0.0.1", "{answer}");
}

#[tokio::test]
async fn one_peer_cannot_take_the_endpoints_subscriptions() {
    let endpoint = RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
        .websocket_limits(WsLimits::default().max_peer_subscriptions(3));
    let addr = examples::spawn(axum::Router::new().rpc("/rpc", endpoint), "127.0.0.1:0")
        .await
        .unwrap();
    let subscribe = |id: u64| json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [60000], "id": id});
    // Two sockets from 127.0.0.2 share its 3.
    let mut codes = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/rpc"), stream)
            .await
            .unwrap();
        for id in 0..2 {
            let answer = exchange(&mut ws, subscribe(id)).await;
            codes.push(answer["error"]["code"].as_i64().unwrap_or(0));
        }
        sockets.push(ws);
    }
    assert_eq!(codes, [0, 0, 0, -32010], "the fourth is refused");
    // Another peer still subscribes; and an unsubscribe gives the peer its place back.
    let mut honest = connect(&format!("ws://{addr}/rpc")).await;
    let answer = exchange(&mut honest, subscribe(9)).await;
    assert!(answer["result"].is_string(), "{answer}");
    let first = &mut sockets[0];
    let id = exchange(first, subscribe(5)).await;
    assert_eq!(id["error"]["code"], -32010);
    drop(sockets.remove(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = exchange(&mut sockets[0], subscribe(6)).await;
    assert!(
        answer["result"].is_string(),
        "a closed socket's subscriptions were given back: {answer}"
    );
}
