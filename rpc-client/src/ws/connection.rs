//! One WebSocket connection as callers hold it: the opening handshake, the calls waiting for an
//! answer and the subscriptions whose items it routes, and the unsubscribe sent when a stream is
//! dropped. The tasks that serve it live beside it: [`writer`](super::writer) sends the queued
//! frames, [`reader`](super::reader) routes what arrives and, when the connection is lost,
//! [`reconnect`](super::reconnect) resubscribes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt as _;
use rpc_core::Error;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::reader::{Reader, reader_task};
use super::subscription::Slot;
use super::writer::write;
use super::{FrameSink, Frames, OUTGOING_QUEUE, Shared, closed, own_id};
use crate::retry::Failure;

/// A request waiting for its answer.
pub(crate) enum Pending {
    /// A call or a batch: the answer's bytes.
    Call(oneshot::Sender<Bytes>),
    /// A subscribe call: the answer's bytes, and the slot to register under the id it carries.
    Subscribe(oneshot::Sender<Bytes>, Arc<Slot>),
}

/// An open connection, as callers hold it.
pub(crate) struct Connection {
    outgoing: mpsc::Sender<Message>,
    table: Arc<Table>,
}

/// What the reader routes answers and items to.
pub(super) struct Table {
    state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) pending: HashMap<u64, Pending>,
    /// By the subscription id's JSON text (servers send strings or numbers).
    pub(super) subscriptions: HashMap<Box<str>, Arc<Slot>>,
    /// Why the connection was lost, once it is: nothing is registered after that.
    pub(super) lost: Option<String>,
}

impl Table {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a waiting call when its caller stops waiting: answered, timed out or cancelled.
pub(crate) struct Waiting<'c> {
    table: &'c Table,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.table.state().pending.remove(&self.id);
    }
}

impl Connection {
    /// Connects to `url` with the shared settings and starts the writer and reader tasks.
    pub(crate) async fn open(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<Arc<Self>, (Error, Option<Failure>)> {
        let (stream, sink, pings) = if url.scheme() == "unix" {
            let (stream, sink) = Self::unix(shared, url).await?;
            (stream, sink, false)
        } else if url.scheme() == "child" {
            let (stream, sink) = Self::child(shared, url)?;
            (stream, sink, false)
        } else {
            let (stream, sink) = Self::websocket(shared, url).await?;
            (stream, sink, true)
        };
        let settings = &shared.settings;
        let (outgoing, queued) = mpsc::channel(OUTGOING_QUEUE);
        let (stop, stopped) = oneshot::channel();
        let (writer_done, writer_gone) = oneshot::channel();
        let table = Arc::new(Table {
            state: Mutex::new(State::default()),
        });
        tokio::spawn(write(sink, queued, stopped, writer_done));
        let reader = Reader {
            table: table.clone(),
            outgoing: outgoing.downgrade(),
            shared: Arc::downgrade(shared),
            ping_interval: pings.then_some(settings.ping_interval),
        };
        tokio::spawn(reader_task(stream, reader, stop, writer_gone));
        Ok(Arc::new(Connection { outgoing, table }))
    }

    /// Starts the child process, once: a child that has exited is not started again.
    fn child(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<(Frames, FrameSink), (Error, Option<Failure>)> {
        let not_sent = |e: Error| (e, Some(Failure::NotSent));
        let settings = &shared.settings;
        let command = settings
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(command) = command else {
            return Err(not_sent(Error::Transport(
                format!("the server process `{}` has ended", url.path()).into(),
            )));
        };
        let mut command = tokio::process::Command::from(command);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            not_sent(Error::Transport(
                format!("cannot start the server process `{}`: {e}", url.path()).into(),
            ))
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(not_sent(Error::Transport(
                "the child's pipes are missing".into(),
            )));
        };
        tracing::debug!(
            program = url.path(),
            pid = child.id(),
            "server process started"
        );
        let program = url.path().to_owned();
        tokio::spawn(super::framed::log_lines(stderr, program.clone()));
        Ok((
            super::framed::child_frames(
                stdout,
                child,
                program,
                settings.framing,
                settings.max_message_size,
            ),
            super::framed::sink(stdin, settings.framing),
        ))
    }

    /// Connects to the Unix socket at the URL's path.
    async fn unix(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<(Frames, FrameSink), (Error, Option<Failure>)> {
        let not_sent = |e: Error| (e, Some(Failure::NotSent));
        let settings = &shared.settings;
        #[cfg(unix)]
        {
            let connect = tokio::net::UnixStream::connect(url.path());
            let socket = match tokio::time::timeout(settings.connect_timeout, connect).await {
                Err(_) => return Err(not_sent(Error::Timeout)),
                Ok(Err(e)) => {
                    let why = format!("cannot connect to the Unix socket {}: {e}", url.path());
                    return Err(not_sent(Error::Transport(why.into())));
                }
                Ok(Ok(socket)) => socket,
            };
            tracing::debug!(path = url.path(), "Unix socket connected");
            let (reader, writer) = socket.into_split();
            Ok((
                super::framed::frames(reader, settings.framing, settings.max_message_size),
                super::framed::sink(writer, settings.framing),
            ))
        }
        #[cfg(not(unix))]
        {
            let _ = (settings, url);
            Err(not_sent(Error::Request(
                "Unix sockets need a Unix system".into(),
            )))
        }
    }

    /// Opens a WebSocket to `url`.
    async fn websocket(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<(Frames, FrameSink), (Error, Option<Failure>)> {
        let not_sent = |e: Error| (e, Some(Failure::NotSent));
        let settings = &shared.settings;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| not_sent(Error::Request(e.to_string())))?;
        for (name, value) in &settings.headers {
            request.headers_mut().insert(name, value.clone());
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(settings.max_message_size))
            .max_frame_size(Some(settings.max_message_size));
        #[cfg(feature = "tls")]
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            settings
                .tls
                .clone()
                .map(tokio_tungstenite::Connector::Rustls),
        );
        #[cfg(not(feature = "tls"))]
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (socket, _) = match tokio::time::timeout(settings.connect_timeout, connect).await {
            Err(_) => return Err(not_sent(Error::Timeout)),
            Ok(Err(e)) => return Err(not_sent(handshake_error(e))),
            Ok(Ok(connected)) => connected,
        };
        tracing::debug!(url = %crate::shown(url), "WebSocket connected");
        let (sink, stream) = socket.split();
        Ok((Box::pin(stream), Box::pin(sink)))
    }

    pub(crate) fn is_open(&self) -> bool {
        !self.outgoing.is_closed() && self.table.state().lost.is_none()
    }

    /// Registers a request whose answer is awaited, until the returned guard drops.
    pub(crate) fn expect(
        &self,
        id: u64,
        pending: Pending,
    ) -> Result<Waiting<'_>, (Error, Option<Failure>)> {
        let mut state = self.table.state();
        if state.lost.is_some() {
            return Err((
                closed("before the request was sent"),
                Some(Failure::NotSent),
            ));
        }
        state.pending.insert(id, pending);
        Ok(Waiting {
            table: &self.table,
            id,
        })
    }

    /// Queues a frame for the writer.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), (Error, Option<Failure>)> {
        let text = Utf8Bytes::try_from(body)
            .map_err(|_| (Error::Request("a request is not UTF-8".into()), None))?;
        self.outgoing.send(Message::Text(text)).await.map_err(|_| {
            (
                closed("before the request was sent"),
                Some(Failure::NotSent),
            )
        })
    }

    /// The error of a call whose answer will not come: the connection was lost after it was
    /// sent.
    pub(crate) fn lost(&self) -> (Error, Option<Failure>) {
        let why = self.table.state().lost.clone();
        let why = why.as_deref().unwrap_or("before the answer arrived");
        (closed(why), Some(Failure::MaySucceedLater))
    }

    /// Stops routing items to `slot`, and when `tell`, sends its unsubscribe call without
    /// waiting.
    pub(crate) fn forget(&self, slot: &Slot, tell: bool) {
        let id = slot.id();
        let removed = self.table.state().subscriptions.remove(&*id);
        if tell && removed.is_some() {
            unsubscribe(&self.outgoing, slot, &id);
        }
    }
}

/// Sends `slot`'s unsubscribe call for the server's id `id`, without waiting for room in the
/// queue or for the answer (which the reader drops, its id being no one's).
pub(super) fn unsubscribe(outgoing: &mpsc::Sender<Message>, slot: &Slot, id: &str) {
    let mut body = Vec::with_capacity(64 + id.len());
    let params = RawValue::from_string(format!("[{id}]")).ok();
    if rpc_core::wire::write_request(
        &mut body,
        slot.unsubscribe(),
        params.as_deref(),
        Some(own_id()),
    )
    .is_err()
    {
        return;
    }
    let Ok(text) = Utf8Bytes::try_from(body) else {
        return;
    };
    if let Err(mpsc::error::TrySendError::Full(message)) = outgoing.try_send(Message::Text(text)) {
        // A full queue must not lose the unsubscribe: send it when there is room.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let outgoing = outgoing.clone();
            runtime.spawn(async move { outgoing.send(message).await });
        }
    }
}

/// A failed opening handshake, told apart from a transport failure: a server that refuses the
/// upgrade answers with an HTTP status.
fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(crate::BODY_EXCERPT)]))
                .unwrap_or_default();
            Error::Status {
                status,
                body: body.trim().to_owned(),
            }
        }
        tungstenite::Error::Url(e) => Error::Request(e.to_string()),
        other => Error::Transport(Box::new(other)),
    }
}
