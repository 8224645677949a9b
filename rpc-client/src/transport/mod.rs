//! What carries a client's requests: HTTP, or a message connection (a WebSocket, a Unix
//! socket, a child process's stdio). The typed client, [`Retry`](crate::Retry),
//! [`Failover`](crate::Failover) and [`AutoBatch`](crate::AutoBatch) sit above it and know none
//! of them: they hand it a request's bytes and get the answer's, or a [`Failed`] try.

pub(crate) mod http;

use bytes::Bytes;

use crate::failure::Failed;
use crate::ws::WsTransport;

/// The transport of one client and its clones.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Each request a POST to the endpoint it is given.
    Http(http::Http),
    /// One connection at a time, to the endpoint the transport picks for it.
    Messages(WsTransport),
}

impl Transport {
    /// Sends `body` (one call, a batch, or notifications) and returns the answer's bytes, empty
    /// when none is due. `url` is where an HTTP request goes; a message connection has made its
    /// own choice of endpoint when it connected.
    pub(crate) async fn send(&self, url: &reqwest::Url, body: Bytes) -> Result<Bytes, Failed> {
        match self {
            Transport::Http(http) => http.send(url, body).await,
            Transport::Messages(connection) => connection.send(body).await,
        }
    }

    /// The message connection, for what HTTP cannot carry (subscriptions).
    pub(crate) fn messages(&self) -> Option<&WsTransport> {
        match self {
            Transport::Messages(connection) => Some(connection),
            Transport::Http(_) => None,
        }
    }
}
