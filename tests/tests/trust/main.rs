//! One client cannot take over: authorization that no spelling of a method walks past, and
//! the budgets and per-peer limits that keep one client from holding the server's memory or
//! every slot, each tried over HTTP and WebSocket against a real server.
//!
//! - `authorize`: a deny rule on a declared name holds for its alias and namespace, over HTTP
//!   (single, batch member, notification) and WebSocket;
//! - `hosts`: the `Host` allow-list against DNS rebinding, over HTTP and WebSocket;
//! - `fairness`: a rate limit per peer address that no header moves, subscriptions per peer;
//! - `protocol`: close codes for protocol errors, a log that callers cannot flood, the idle
//!   and head timeouts of a keep-alive connection.
//!
//! The attacks that need a server's memory measured run against child processes in
//! `tests/hardening/budgets.rs`.

mod authorize;
#[path = "../common/mod.rs"]
mod common;
mod fairness;
mod hosts;
mod protocol;

pub(crate) use futures_util::SinkExt as _;
pub(crate) use serde_json::{Value, json};
pub(crate) use std::time::Duration;
pub(crate) use tokio_tungstenite::tungstenite::Message;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(url: &str) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status(), 101);
    socket
}

/// Sends `value` and reads the next text message as JSON, failing after 10 s.
pub(crate) async fn exchange<S>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
    value: Value,
) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    socket.send(Message::text(value.to_string())).await.unwrap();
    next(socket).await
}

/// The next text message as JSON, failing after 10 s.
pub(crate) async fn next<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    common::ws_next(socket).await
}
