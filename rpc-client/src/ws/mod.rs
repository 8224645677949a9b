//! The WebSocket transport behind a `ws://` client: one connection carrying calls, batches,
//! notifications and subscriptions.
//!
//! The connection is made on first use (building a client stays synchronous and never touches
//! the network) and again on the next call after it closes. One writer task sends the queued
//! frames; one reader task routes each answer to its caller by id and each subscription item to
//! its stream. Both end when the last handle on the connection is gone: every [`Client`] clone
//! and every [`Subscription`] dropped.
//!
//! [`Client`]: crate::Client

mod connection;
mod framed;
mod reader;
mod reconnect;
pub(crate) mod served;
mod subscription;
mod table;
mod writer;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use rpc_core::Error;
use serde::Deserialize;
use tokio::sync::oneshot;

pub use subscription::Subscription;

use crate::failover::{Endpoints, Outcome};
use crate::failure::Failed;
use crate::retry::Retrier;
use connection::Connection;
use subscription::Slot;
use table::Pending;

/// The largest message the client reads by default: 16 MiB. A larger one closes the connection,
/// failing the calls waiting on it.
pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;
/// How many items a subscription holds for its consumer by default.
pub(crate) const DEFAULT_SUBSCRIPTION_BUFFER: usize = 1024;
/// How often the client pings by default; two intervals without a frame from the server end
/// the connection.
pub(crate) const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
/// A connection's incoming frames, whatever carries them.
pub(super) type Frames = std::pin::Pin<
    Box<
        dyn futures_core::Stream<
                Item = Result<
                    tokio_tungstenite::tungstenite::Message,
                    tokio_tungstenite::tungstenite::Error,
                >,
            > + Send,
    >,
>;

/// A connection's outgoing frames, whatever carries them.
pub(super) type FrameSink = std::pin::Pin<
    Box<
        dyn futures_util::Sink<
                tokio_tungstenite::tungstenite::Message,
                Error = tokio_tungstenite::tungstenite::Error,
            > + Send,
    >,
>;

/// How many frames may wait for the writer before callers wait for room.
const OUTGOING_QUEUE: usize = 1024;

/// Ids of the requests the transport sends on its own (resubscribing, unsubscribing a stream
/// nobody reads): from 2^63 up, apart from the client's, which count up from 1.
static OWN_IDS: AtomicU64 = AtomicU64::new(1 << 63);

fn own_id() -> u64 {
    OWN_IDS.fetch_add(1, Ordering::Relaxed)
}

/// What a WebSocket client is built with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) subscription_buffer: usize,
    pub(crate) ping_interval: Duration,
    /// How messages are framed over a Unix socket, a child's stdio or a given stream.
    pub(crate) framing: rpc_core::framing::Framing,
    /// The child to start, or the stream to talk over, until the connection takes it: a
    /// connection that can be made once.
    pub(crate) once: std::sync::Mutex<Option<Once>>,
    pub(crate) reconnect: Option<Retrier>,
    /// What the client serves its server, if anything.
    pub(crate) served: Option<served::Served>,
    /// How the ends tell each other a caller gave up on a call.
    pub(crate) cancellation: rpc_core::peer::Cancellation,
    /// Sent with the opening handshake (auth, for one).
    pub(crate) headers: HeaderMap,
    /// For `wss://`: the roots and crypto provider (see `crate::tls`).
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// A connection that can be made once only: a server to start as a child process, or a byte
/// stream handed to the builder.
pub(crate) enum Once {
    Child(std::process::Command),
    Stream(
        Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
    ),
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Once::Child(command) => f.debug_tuple("Child").field(command).finish(),
            Once::Stream(..) => f.write_str("Stream"),
        }
    }
}

/// The transport of one client and its clones.
pub(crate) struct WsTransport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTransport")
            .field("url", &crate::shown(&self.shared.url))
            .field("endpoints", &self.shared.endpoints)
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    url: reqwest::Url,
    /// With several endpoints: each connection goes to one picked by their breakers.
    endpoints: Option<Arc<Endpoints>>,
    settings: Settings,
    /// The open connection, if any.
    live: Mutex<Option<Arc<Connection>>>,
    /// Held while connecting, so that callers arriving together share one connection.
    connecting: tokio::sync::Mutex<()>,
}

impl WsTransport {
    pub(crate) fn new(
        url: reqwest::Url,
        endpoints: Option<Arc<Endpoints>>,
        settings: Settings,
    ) -> Self {
        WsTransport {
            shared: Arc::new(Shared {
                url,
                endpoints,
                settings,
                live: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Sends a request (one call, a batch or notifications) and returns its answer's bytes,
    /// empty when none is due; within the client's timeout, connecting included.
    pub(crate) async fn send(&self, body: Bytes) -> Result<Bytes, Failed> {
        let expect = answer_id(&body);
        let send = async {
            let connection = self.shared.connection().await?;
            let Some(id) = expect else {
                connection.send(body).await?;
                return Ok(Bytes::new());
            };
            let (answer, answered) = oneshot::channel();
            let _waiting = connection.expect(id, Pending::Call(answer))?;
            connection.send(body).await?;
            answered.await.map_err(|_| connection.lost())
        };
        match tokio::time::timeout(self.shared.settings.timeout, send).await {
            Ok(result) => result,
            Err(_) => Err(Failed::sent(Error::Timeout)),
        }
    }

    /// Sends a subscribe request with id `id`; the reader registers `slot` under the id the
    /// answer carries before it reads the next frame.
    async fn subscribe(&self, body: Bytes, id: u64, slot: Arc<Slot>) -> Result<Bytes, Error> {
        let send = async {
            let connection = self.shared.connection().await?;
            let (answer, answered) = oneshot::channel();
            let _waiting = connection.expect(id, Pending::Subscribe(answer, slot))?;
            connection.send(body).await?;
            answered.await.map_err(|_| connection.lost())
        };
        match tokio::time::timeout(self.shared.settings.timeout, send).await {
            Ok(result) => result.map_err(|failed| failed.error),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Stops routing items to `slot`, and when `tell`, sends its unsubscribe call without
    /// waiting for the answer.
    fn forget(&self, slot: &Slot, tell: bool) {
        if let Some(connection) = self.shared.live() {
            connection.forget(slot, tell);
        }
    }

    fn settings(&self) -> &Settings {
        &self.shared.settings
    }
}

impl Shared {
    /// The owner of a connection's life: runs its reader and, once the connection is lost,
    /// decides what becomes of the subscriptions it carried: subscribed again on a new
    /// connection when the client reconnects ([`reconnect`]), ended with why otherwise. The
    /// calls that were waiting have failed already (the reader dropped their answers). Boxed:
    /// reconnecting opens a connection, which starts a watch; the box ends that cycle of
    /// future types.
    fn watch(
        shared: Weak<Shared>,
        reading: impl Future<Output = reader::Lost> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let reader::Lost { why, subscriptions } = reading.await;
            if subscriptions.is_empty() {
                return;
            }
            match shared.upgrade() {
                Some(strong) if strong.settings.reconnect.is_some() => {
                    drop(strong);
                    reconnect::resubscribe(shared, subscriptions, why).await;
                }
                _ => {
                    crate::measure::subscriptions_lost("connection_lost", subscriptions.len());
                    for slot in subscriptions {
                        slot.end(subscription::End::Lost(closed(&why)));
                    }
                }
            }
        })
    }

    /// The open connection, if it still is.
    fn live(&self) -> Option<Arc<Connection>> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.as_ref().filter(|c| c.is_open()).cloned()
    }

    /// The open connection, made now if there is none.
    async fn connection(self: &Arc<Self>) -> Result<Arc<Connection>, Failed> {
        if let Some(connection) = self.live() {
            return Ok(connection);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = self.live() {
            return Ok(connection);
        }
        let connection = match &self.endpoints {
            None => Connection::open(self, &self.url).await?,
            Some(endpoints) => self.open_any(endpoints).await?,
        };
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(connection.clone());
        Ok(connection)
    }

    /// A connection to one of several endpoints: each ready one in turn until one takes it,
    /// telling their breakers how each try went. A handshake the server answered (refused
    /// with 401, say) is the endpoint up, and its error is the call's.
    async fn open_any(self: &Arc<Self>, endpoints: &Endpoints) -> Result<Arc<Connection>, Failed> {
        let mut tried = Vec::new();
        let mut last = None;
        while let Some(attempt) = endpoints.pick(&tried) {
            if tried.contains(&attempt.index) {
                // Every ready endpoint has had its try.
                break;
            }
            tried.push(attempt.index);
            match Connection::open(self, attempt.url()).await {
                Ok(connection) => {
                    attempt.finish(Outcome::Answered);
                    return Ok(connection);
                }
                Err(failed) if failed.endpoint_down => {
                    tracing::debug!(
                        url = %crate::shown(attempt.url()),
                        error = %failed.error,
                        "WebSocket connect failed; trying another endpoint"
                    );
                    attempt.finish(Outcome::Failed(&failed.error));
                    last = Some(failed);
                }
                Err(refused) => {
                    attempt.finish(Outcome::Answered);
                    return Err(refused);
                }
            }
        }
        Err(match last {
            Some(failed) => Failed {
                error: endpoints.final_error(failed.error),
                ..failed
            },
            None => Failed::not_sent(endpoints.unavailable()),
        })
    }
}

/// The id whose answer a request body waits for: a call's id, or the first id of a batch;
/// `None` for notifications, which get no answer.
pub(crate) fn answer_id(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: Option<u64>,
    }
    if body.first() == Some(&b'[') {
        let ids: Vec<Id> = serde_json::from_slice(body).ok()?;
        ids.into_iter().find_map(|call| call.id)
    } else {
        serde_json::from_slice::<Id>(body).ok()?.id
    }
}

/// The error of a connection that closed, with why.
fn closed(why: &str) -> Error {
    Error::Transport(Box::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        format!("the WebSocket connection closed: {why}"),
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_answer_awaited_is_the_call_s_or_the_batch_s_first() {
        use super::answer_id;
        assert_eq!(
            answer_id(br#"{"jsonrpc":"2.0","method":"m","params":[1],"id":7}"#),
            Some(7)
        );
        assert_eq!(answer_id(br#"{"jsonrpc":"2.0","method":"m"}"#), None);
        assert_eq!(
            answer_id(br#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"m","id":9}]"#),
            Some(9)
        );
        assert_eq!(answer_id(br#"[{"jsonrpc":"2.0","method":"n"}]"#), None);
    }
}
