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
    /// The other end of a server's connection: the client that called one of its methods,
    /// called back.
    Peer {
        peer: rpc_core::peer::Peer,
        timeout: std::time::Duration,
    },
}

impl Transport {
    /// Sends `body` (one call, a batch, or notifications) and returns the answer's bytes, empty
    /// when none is due. `url` is where an HTTP request goes; a message connection has made its
    /// own choice of endpoint when it connected.
    pub(crate) async fn send(&self, url: &reqwest::Url, body: Bytes) -> Result<Bytes, Failed> {
        match self {
            Transport::Http(http) => http.send(url, body).await,
            Transport::Messages(connection) => connection.send(body).await,
            Transport::Peer { peer, timeout } => {
                if body.trim_ascii_start().first() == Some(&b'[') {
                    return Err(Failed::sent(rpc_core::Error::Request(
                        "a batch cannot go to a connection's peer: send its calls one by one"
                            .into(),
                    )));
                }
                let id = crate::ws::answer_id(&body);
                let sending = peer.send(body.to_vec(), id);
                match tokio::time::timeout(*timeout, sending).await {
                    Ok(Ok(answer)) => Ok(Bytes::from(answer)),
                    Ok(Err(e)) if peer.is_open() => Err(Failed::sent(e)),
                    Ok(Err(e)) => Err(Failed::not_sent(e)),
                    Err(_) => Err(Failed::sent(rpc_core::Error::Timeout)),
                }
            }
        }
    }

    /// The id of the next request, when the transport hands them out (a peer's are the
    /// connection's, shared by every client over it).
    pub(crate) fn next_id(&self) -> Option<u64> {
        match self {
            Transport::Peer { peer, .. } => Some(peer.next_id()),
            _ => None,
        }
    }

    /// The message connection, for what HTTP cannot carry (subscriptions).
    pub(crate) fn messages(&self) -> Option<&WsTransport> {
        match self {
            Transport::Messages(connection) => Some(connection),
            Transport::Http(_) | Transport::Peer { .. } => None,
        }
    }
}
