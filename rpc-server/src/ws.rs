//! JSON-RPC over WebSocket, on the same route as HTTP: axum's WebSocket as the two halves of a
//! [message connection](crate::connection).

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};

use crate::connection::{Inbound, MessagesIn, MessagesOut, Opened, close_code};

/// Serves one WebSocket until either side closes it. Not generic: the connection's code is
/// compiled once, here, whatever service it answers with.
pub(crate) fn serve(
    socket: WebSocket,
    opened: Opened,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let (sink, stream) = socket.split();
    Box::pin(crate::connection::run(
        (Incoming(stream), Outgoing(sink)),
        opened,
    ))
}

pub(crate) struct Incoming(SplitStream<WebSocket>);

pub(crate) struct Outgoing(SplitSink<WebSocket, Message>);

impl MessagesIn for Incoming {
    async fn next(&mut self) -> Inbound {
        match self.0.next().await {
            Some(Ok(Message::Text(text))) => Inbound::Message(text.into()),
            Some(Ok(Message::Binary(bytes))) => Inbound::Message(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Inbound::Heard,
            Some(Ok(Message::Close(_))) | None => Inbound::End,
            Some(Err(e)) => {
                let (code, reason) = read_error_close(&e);
                tracing::debug!(error = %e, code, "websocket read failed");
                Inbound::Failed(code, reason)
            }
        }
    }
}

impl MessagesOut for Outgoing {
    const PINGS: bool = true;

    async fn send(&mut self, text: Vec<u8>, more: bool) -> Result<(), ()> {
        // Built by the server from JSON it wrote: always UTF-8.
        let text = String::from_utf8(text).map_err(|_| ())?;
        let text = Message::Text(Utf8Bytes::from(text));
        let sent = if more {
            self.0.feed(text).await
        } else {
            self.0.send(text).await
        };
        sent.map_err(|_| ())
    }

    async fn ping(&mut self) -> Result<(), ()> {
        self.0
            .send(Message::Ping(axum::body::Bytes::new()))
            .await
            .map_err(|_| ())
    }

    async fn close(&mut self, code: Option<(u16, &'static str)>) {
        match code {
            Some((code, reason)) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let _ = self.0.send(Message::Close(Some(frame))).await;
            }
            // The peer closed: the reply to its close frame is queued in the socket, and goes
            // out only on a flush. Without it the peer sees the connection drop (1006), not a
            // close.
            None => {
                let _ = self.0.close().await;
            }
        }
    }
}

/// The close code and reason for a message the socket could not read.
fn read_error_close(e: &axum::Error) -> (u16, &'static str) {
    use tungstenite::error::Error;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(e) = c.downcast_ref::<Error>() {
            return match e {
                Error::Capacity(_) => (close_code::SIZE, "message too large"),
                Error::Utf8(_) => (close_code::INVALID, "text message is not UTF-8"),
                Error::Protocol(_) => (close_code::PROTOCOL, "protocol error"),
                _ => (close_code::ERROR, "read failed"),
            };
        }
        cause = c.source();
    }
    (close_code::ERROR, "read failed")
}
