//! DNS rebinding: a page on another site whose name resolves to 127.0.0.1 sends its own name
//! as `Host`; a server on a loopback address answers loopback names only, over HTTP and
//! WebSocket alike, unless told otherwise.

use rpc_server::{RouterExt as _, RpcService};

async fn pubsub_with(
    endpoint: RpcService<examples::pubsub::PubsubServer<examples::pubsub::Live>>,
) -> std::net::SocketAddr {
    examples::spawn(axum::Router::new().rpc("/rpc", endpoint), "127.0.0.1:0")
        .await
        .unwrap()
}

/// A raw request with `host` (and `extra` headers); the status code of its answer.
async fn status_with_host(addr: std::net::SocketAddr, request: &str, host: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = request.replace("{host}", host);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

const POST: &str = "POST /rpc HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                    Content-Length: 47\r\nConnection: close\r\n\r\n\
                    {\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2]}";
const HANDSHAKE: &str = "GET /rpc HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
                         Upgrade: websocket\r\nConnection: Upgrade\r\n\
                         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[tokio::test]
async fn a_rebound_name_is_refused_and_loopback_names_are_served() {
    let addr = pubsub_with(RpcService::new(examples::pubsub::PubsubServer(
        examples::pubsub::Live,
    )))
    .await;
    let port = addr.port();
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("localhost.evil.example:{port}"),
    ] {
        assert_eq!(
            status_with_host(addr, POST, &host).await,
            403,
            "POST with Host {host}"
        );
        // Origin and Host agree, as they do for a rebound page: the Host check refuses it.
        assert_eq!(
            status_with_host(addr, HANDSHAKE, &host).await,
            403,
            "handshake with Host {host}"
        );
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "app.localhost".to_owned(),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(
            status_with_host(addr, POST, &host).await,
            200,
            "POST with Host {host}"
        );
        assert_eq!(
            status_with_host(addr, HANDSHAKE, &host).await,
            101,
            "handshake with Host {host}"
        );
    }
}

#[tokio::test]
async fn an_allow_list_replaces_the_loopback_default() {
    let endpoint = RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live))
        .allowed_hosts(["rpc.example.com", "*.internal"]);
    let addr = pubsub_with(endpoint).await;
    assert_eq!(status_with_host(addr, POST, "rpc.example.com").await, 200);
    assert_eq!(
        status_with_host(addr, HANDSHAKE, "a.internal:80").await,
        101
    );
    assert_eq!(status_with_host(addr, POST, "localhost").await, 403);
    assert_eq!(status_with_host(addr, HANDSHAKE, "evil.example").await, 403);
}
