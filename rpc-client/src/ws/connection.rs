//! One WebSocket connection as callers hold it: the opening handshake, the calls waiting for an
//! answer and the subscriptions whose items it routes, and the unsubscribe sent when a stream is
//! dropped. The tasks that serve it live beside it: [`writer`](super::writer) sends the queued
//! frames, [`reader`](super::reader) routes what arrives; the connection's owner
//! ([`Shared::watch`]) decides what happens when it is lost.

use std::sync::{Arc, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt as _;
use rpc_core::Error;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::reader::{Reader, read};
use super::subscription::Slot;
use super::table::{Pending, Table, Waiting, unsubscribe};
use super::writer::write;
use super::{FrameSink, Frames, OUTGOING_QUEUE, Once, Shared, closed};
use crate::failure::Failed;

/// An open connection, as callers hold it.
pub(crate) struct Connection {
    outgoing: mpsc::Sender<Message>,
    table: Arc<Table>,
    cancellation: rpc_core::peer::Cancellation,
}

impl Connection {
    /// Connects to `url` with the shared settings and starts the writer and reader tasks.
    pub(crate) async fn open(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<Arc<Self>, Failed> {
        let (stream, sink, pings) = if url.scheme() == "unix" {
            let (stream, sink) = Self::unix(shared, url).await?;
            (stream, sink, false)
        } else if matches!(url.scheme(), "child" | "stream") {
            let (stream, sink) = Self::once(shared, url)?;
            (stream, sink, false)
        } else {
            let (stream, sink) = Self::websocket(shared, url).await?;
            (stream, sink, true)
        };
        let settings = &shared.settings;
        let (outgoing, queued) = mpsc::channel(OUTGOING_QUEUE);
        let (stop, stopped) = oneshot::channel();
        let (writer_done, writer_gone) = oneshot::channel();
        let table = Arc::new(Table::new());
        tokio::spawn(write(sink, queued, stopped, writer_done));
        let reader = Reader {
            table: table.clone(),
            outgoing: outgoing.downgrade(),
            ping_interval: pings.then_some(settings.ping_interval),
            served: settings.served.clone(),
            cancellation: settings.cancellation,
            running: Arc::default(),
            last_ordered: std::sync::Mutex::default(),
        };
        tokio::spawn(Shared::watch(
            Arc::downgrade(shared),
            read(stream, reader, stop, writer_gone),
        ));
        Ok(Arc::new(Connection {
            outgoing,
            table,
            cancellation: settings.cancellation,
        }))
    }

    /// Starts the child process, or takes the stream the client was built with: once, for a
    /// child that has exited is not started again, and a stream that has ended is gone.
    fn once(shared: &Arc<Shared>, url: &reqwest::Url) -> Result<(Frames, FrameSink), Failed> {
        let settings = &shared.settings;
        let once = settings
            .once
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let command = match once {
            Some(Once::Child(command)) => command,
            Some(Once::Stream(reader, writer)) => {
                tracing::debug!("connected over the given stream");
                return Ok((
                    super::framed::frames(reader, settings.framing, settings.max_message_size),
                    super::framed::sink(writer, settings.framing),
                ));
            }
            None if url.scheme() == "stream" => {
                return Err(Failed::not_sent(Error::Transport(
                    "the stream the client was built over has ended".into(),
                )));
            }
            None => {
                return Err(Failed::not_sent(Error::Transport(
                    format!("the server process `{}` has ended", url.path()).into(),
                )));
            }
        };
        let mut command = tokio::process::Command::from(command);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            Failed::not_sent(Error::Transport(
                format!("cannot start the server process `{}`: {e}", url.path()).into(),
            ))
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Failed::not_sent(Error::Transport(
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
    async fn unix(shared: &Arc<Shared>, url: &reqwest::Url) -> Result<(Frames, FrameSink), Failed> {
        let settings = &shared.settings;
        #[cfg(unix)]
        {
            let connect = tokio::net::UnixStream::connect(url.path());
            let socket = match tokio::time::timeout(settings.connect_timeout, connect).await {
                Err(_) => return Err(Failed::not_sent(Error::Timeout)),
                Ok(Err(e)) => {
                    let why = format!("cannot connect to the Unix socket {}: {e}", url.path());
                    return Err(Failed::not_sent(Error::Transport(why.into())));
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
            Err(Failed::not_sent(Error::Request(
                "Unix sockets need a Unix system".into(),
            )))
        }
    }

    /// Opens a WebSocket to `url`.
    async fn websocket(
        shared: &Arc<Shared>,
        url: &reqwest::Url,
    ) -> Result<(Frames, FrameSink), Failed> {
        let settings = &shared.settings;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| Failed::not_sent(Error::Request(e.to_string())))?;
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
            Err(_) => return Err(Failed::not_sent(Error::Timeout)),
            Ok(Err(e)) => return Err(Failed::not_sent(handshake_error(e))),
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
    pub(crate) fn expect(&self, id: u64, pending: Pending) -> Result<Waiting<'_>, Failed> {
        let mut state = self.table.state();
        if state.lost.is_some() {
            return Err(Failed::not_sent(closed("before the request was sent")));
        }
        state.pending.insert(id, pending);
        Ok(Waiting {
            table: &self.table,
            id,
            cancel: (self.cancellation != rpc_core::peer::Cancellation::None)
                .then_some((&self.outgoing, self.cancellation)),
        })
    }

    /// Queues a frame for the writer.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), Failed> {
        let text = Utf8Bytes::try_from(body)
            .map_err(|_| Failed::sent(Error::Request("a request is not UTF-8".into())))?;
        self.outgoing
            .send(Message::Text(text))
            .await
            .map_err(|_| Failed::not_sent(closed("before the request was sent")))
    }

    /// The error of a call whose answer will not come: the connection was lost after it was
    /// sent.
    pub(crate) fn lost(&self) -> Failed {
        let why = self.table.state().lost.clone();
        let why = why.as_deref().unwrap_or("before the answer arrived");
        Failed::sent(closed(why))
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

/// A failed opening handshake, told apart from a transport failure: a server that refuses the
/// upgrade answers with an HTTP status.
fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(&b[..b.len().min(crate::transport::http::BODY_EXCERPT)])
                })
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
