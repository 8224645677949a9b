//! Our WebSocket client against jsonrpsee's WebSocket server, over real sockets on 127.0.0.1:
//! the same wire format, written by someone else. Calls, batches and notifications; typed
//! subscription items; unsubscribing (the server's sink closes); streams the server ends or
//! fails; a dropped connection; reconnecting and resubscribing; a consumer too slow for its
//! buffer.
//!
//! Connections are dropped through a small TCP relay in front of the server, which can cut
//! every connection it carries and keeps accepting new ones.
//!
//! Not run by `cargo test --workspace` (it would build jsonrpsee): run it with
//! `cargo test -p rpc-bench --test jsonrpsee_ws`, as CI does.

mod calls;
mod connection;
mod relay;
mod server;
mod subscriptions;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt as _;
use rpc_client::{Client, Subscription};
use rpc_core::{CallError, ErrorObject};

/// Asserts that `client` still answers calls.
async fn answers(client: &Client) {
    let difference: i64 = client.call("subtract", Some(&(3, 1))).await.unwrap();
    assert_eq!(difference, 2);
}

fn client(addr: SocketAddr) -> Client {
    Client::new(&format!("ws://{addr}")).unwrap()
}

async fn next<T: serde::de::DeserializeOwned>(
    sub: &mut Subscription<T>,
) -> Option<Result<T, CallError<ErrorObject>>> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an item or the end within 5 s")
}

/// The error a stream ends with, after any items still buffered; the stream then ends.
async fn error_then_end(sub: &mut Subscription<u64>) -> CallError<ErrorObject> {
    let error = loop {
        match next(sub).await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert!(next(sub).await.is_none(), "the stream ends after its error");
    error
}
