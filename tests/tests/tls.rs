//! The client over TLS: `wss://` calls and subscriptions and `https://` calls to a server whose
//! certificate a private certificate authority signed, trusted through `root_certificate`; the
//! same server refused, with the reason, by a client that does not trust it; PEM that holds no
//! certificate refused when the client is built. The server is the `pubsub` example's app behind
//! rustls, with the test certificates in `tests/data/tls` (see the README there).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use examples::pubsub::PubsubClient;
use futures_util::StreamExt as _;
use rpc_core::{CallError, Error};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

const CA: &[u8] = include_bytes!("../data/tls/ca.pem");
const CERTIFICATE: &[u8] = include_bytes!("../data/tls/server.pem");
const KEY: &[u8] = include_bytes!("../data/tls/server.key");

/// A TCP listener that hands axum only connections whose TLS handshake succeeded.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate fails its handshake; the next is served.
            let handshake = tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(tcp));
            if let Ok(Ok(tls)) = handshake.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The `pubsub` app over TLS on a free port of 127.0.0.1.
async fn serve_tls() -> SocketAddr {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certificates = CertificateDer::pem_slice_iter(CERTIFICATE)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move { axum::serve(listener, examples::pubsub::app()).await });
    addr
}

/// Every message in `e`'s chain of sources, in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[tokio::test]
async fn wss_calls_and_subscriptions_reach_a_server_signed_by_a_trusted_private_ca() {
    let addr = serve_tls().await;
    let client = PubsubClient::builder(&format!("wss://{addr}/rpc"))
        .root_certificate(CA)
        .build()
        .unwrap();
    assert_eq!(client.add(2, 3).await.unwrap(), 5);
    let mut counter = client.subscribe_counter(7, 3).await.unwrap();
    let mut items = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(10), counter.next())
        .await
        .expect("an item or the end within 10 s")
    {
        items.push(item.unwrap());
    }
    assert_eq!(items, [7, 8, 9]);
}

#[tokio::test]
async fn https_calls_reach_the_same_server_with_the_same_root() {
    let addr = serve_tls().await;
    let client = PubsubClient::builder(&format!("https://{addr}/rpc"))
        .root_certificate(CA)
        .build()
        .unwrap();
    assert_eq!(client.add(40, 2).await.unwrap(), 42);
}

#[tokio::test]
async fn a_server_signed_by_an_unknown_ca_is_refused_with_the_reason() {
    let addr = serve_tls().await;
    for url in [format!("wss://{addr}/rpc"), format!("https://{addr}/rpc")] {
        let client = PubsubClient::new(&url).unwrap();
        let e = client.add(1, 1).await.unwrap_err();
        assert!(matches!(e, Error::Transport(_)), "{url}: {e:?}");
        let why = chain(&e);
        assert!(
            why.to_lowercase().contains("certificate"),
            "{url}: the reason names the certificate: {why}"
        );
    }
    // Subscribing meets the same refusal, as the call's error.
    let client = PubsubClient::new(&format!("wss://{addr}/rpc")).unwrap();
    match client.subscribe_counter(0, 1).await {
        Err(CallError::Call(Error::Transport(_))) => {}
        other => panic!("expected the transport's refusal, got {:?}", other.err()),
    }
}

#[test]
fn pem_without_a_certificate_is_refused_when_the_client_is_built() {
    for pem in [&b""[..], b"not pem at all", KEY] {
        match rpc_client::Client::builder("wss://127.0.0.1:1/rpc")
            .root_certificate(pem)
            .build()
        {
            Err(Error::Request(why)) => assert!(why.contains("certificate"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
