//! One behaviour suite over every transport: the same typed client and the same endpoint,
//! over HTTP, WebSocket, a Unix socket, a child process's stdin and stdout and an in-memory
//! pipe (each framing),
//! checking calls, batches, notifications, errors, subscriptions and a per-connection limit.
//! Written once, run over each.

use std::future::IntoFuture as _;
use std::time::Duration;

use examples::pubsub::{PubsubClient, PubsubServer, TooFast};
use futures_util::StreamExt as _;
use rpc_core::CallError;
use rpc_core::framing::Framing;
use rpc_server::{RouterExt as _, RpcService, WsLimits};

/// Where the suite's endpoint is served, and how a client reaches it.
#[derive(Debug, Clone, Copy)]
enum Transport {
    Http,
    WebSocket,
    Unix(Framing),
    /// The `pubsub` example run as a child process, serving over its stdin and stdout.
    Stdio(Framing),
    /// An in-memory pipe: the endpoint's `serve_stream` at one end, the client's `stream` at
    /// the other.
    Pipe(Framing),
}

/// The subscriptions a connection may hold, in the suite's endpoint.
const MAX_SUBSCRIPTIONS: usize = 2;

fn endpoint() -> RpcService<PubsubServer<examples::pubsub::Live>> {
    examples::pubsub::endpoint()
        .websocket_limits(WsLimits::default().max_subscriptions(MAX_SUBSCRIPTIONS))
}

/// The name a command line gives `framing`.
fn name(framing: Framing) -> &'static str {
    match framing {
        Framing::ContentLength => "content-length",
        Framing::Newline => "newline",
        _ => "ethereum",
    }
}

/// Serves the suite's endpoint over `transport`; a client for it, and what keeps it served.
async fn serve(
    transport: Transport,
    dir: &std::path::Path,
) -> (PubsubClient, Box<dyn std::any::Any>) {
    match transport {
        Transport::Http | Transport::WebSocket => {
            let app = axum::Router::new().rpc("/rpc", endpoint());
            let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
            let scheme = if matches!(transport, Transport::Http) {
                "http"
            } else {
                "ws"
            };
            let client = PubsubClient::new(&format!("{scheme}://{addr}/rpc")).unwrap();
            (client, Box::new(()))
        }
        Transport::Unix(framing) => {
            let path = dir.join(format!("{framing:?}.ipc"));
            let socket = rpc_server::UnixSocket::bind(&path).unwrap();
            let server =
                tokio::spawn(rpc_server::serve_messages(socket, endpoint(), framing).into_future());
            let client = PubsubClient::builder(&format!("unix://{}", path.display()))
                .framing(framing)
                .build()
                .unwrap();
            (client, Box::new(AbortOnDrop(server)))
        }
        Transport::Stdio(framing) => {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pubsub"));
            command.args([
                "--stdio",
                name(framing),
                "--max-subscriptions",
                &MAX_SUBSCRIPTIONS.to_string(),
            ]);
            let client = rpc_client::ClientBuilder::<PubsubClient>::child(command)
                .framing(framing)
                .build()
                .unwrap();
            (client, Box::new(()))
        }
        Transport::Pipe(framing) => {
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            let (reader, writer) = tokio::io::split(theirs);
            let server = tokio::spawn(async move {
                endpoint().serve_stream(reader, writer, framing).await;
                Ok(())
            });
            let (reader, writer) = tokio::io::split(ours);
            let client = rpc_client::ClientBuilder::<PubsubClient>::stream(reader, writer)
                .framing(framing)
                .build()
                .unwrap();
            (client, Box::new(AbortOnDrop(server)))
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<std::io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The suite, over one transport.
async fn suite(transport: Transport, dir: &std::path::Path) {
    let (client, _served) = serve(transport, dir).await;
    // Calls, with params by position.
    assert_eq!(client.add(2, 40).await.unwrap(), 42, "{transport:?}");
    // A batch, with a notification among its calls.
    let mut batch = client.batch();
    let a = batch.add(1, 2);
    let b = batch.add(3, 4);
    let mut answers = batch.send().await.unwrap();
    assert_eq!(
        (answers.take(a).unwrap(), answers.take(b).unwrap()),
        (3, 7),
        "{transport:?}"
    );
    // An untyped call by name, and the error of a method that does not exist.
    let raw = client.client();
    let sum: u64 = raw
        .call("add", Some(&serde_json::json!({"a": 5, "b": 6})))
        .await
        .unwrap();
    assert_eq!(sum, 11);
    let missing = raw.call::<u64, ()>("nope", None).await.unwrap_err();
    assert!(
        matches!(missing, rpc_core::Error::Rpc(ref e) if e.code == -32601),
        "{transport:?}: {missing}"
    );
    raw.notify("add", Some(&[1, 1])).await.unwrap();
    // A subscription refused with the method's typed error, over every transport.
    match client.subscribe_ticks(1).await {
        Err(CallError::Method(TooFast { min_interval_ms }))
            if !matches!(transport, Transport::Http) =>
        {
            assert_eq!(min_interval_ms, 10)
        }
        Err(e) if matches!(transport, Transport::Http) => {
            // Over HTTP there is no connection to push on: a clear error before anything runs.
            assert!(e.to_string().contains("subscription"), "{e}");
            return;
        }
        other => panic!("{transport:?}: {:?}", other.map(|s| s.id())),
    }
    // Subscriptions: items in order, then the end.
    let items: Vec<u64> = tokio::time::timeout(
        Duration::from_secs(10),
        client
            .subscribe_counter(5, 4)
            .await
            .unwrap()
            .map(|i| i.unwrap())
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(items, [5, 6, 7, 8], "{transport:?}");
    // The per-connection limit: two subscriptions, and the third refused.
    let first = client.subscribe_ticks(60_000).await.unwrap();
    let second = client.subscribe_ticks(60_000).await.unwrap();
    let third = client.subscribe_ticks(60_000).await;
    match third {
        Err(CallError::Call(rpc_core::Error::Rpc(e))) => {
            assert_eq!(e.code, -32010, "{transport:?}: {e:?}")
        }
        other => panic!(
            "{transport:?}: a third subscription: {:?}",
            other.map(|s| s.id())
        ),
    }
    drop((first, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_over_every_transport() {
    let dir = std::env::temp_dir().join(format!("rpc-transports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for transport in [
        Transport::Http,
        Transport::WebSocket,
        Transport::Unix(Framing::Ethereum),
        Transport::Unix(Framing::Newline),
        Transport::Unix(Framing::ContentLength),
        Transport::Stdio(Framing::Newline),
        Transport::Stdio(Framing::ContentLength),
        Transport::Stdio(Framing::Ethereum),
        Transport::Pipe(Framing::Newline),
        Transport::Pipe(Framing::ContentLength),
    ] {
        suite(transport, &dir).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
