//! The settings of a client over a message connection (a `ws://`, `wss://` or `unix://` URL,
//! a child process, or a stream): reconnecting, message size, pings, framing, subscription buffers.

use std::time::Duration;

use super::ClientBuilder;
use crate::{Client, Retry, ws};

/// The settings only a client over a message connection uses.
#[derive(Debug, Default)]
pub(super) struct WsOptions {
    /// A server to start as a child process, or a stream to talk over: a connection made once.
    pub(super) once: Option<ws::Once>,
    pub(super) framing: Option<rpc_core::framing::Framing>,
    pub(super) reconnect: Option<Retry>,
    pub(super) max_message_size: Option<usize>,
    pub(super) subscription_buffer: Option<usize>,
    pub(super) ping_interval: Option<Duration>,
}

impl<C: From<Client>> ClientBuilder<C> {
    /// Over a `ws://` URL: when the connection drops, connects again and subscribes every live
    /// [`Subscription`](crate::Subscription) again with its original params, so that its
    /// stream goes on (under the server's new id). Waits between tries follow `policy`'s
    /// backoff, with full jitter; after `policy`'s number of failed tries the subscriptions end
    /// with the transport error. Each reconnect is logged at INFO. Calls waiting at the drop
    /// fail (an idempotent one is tried again if [`retry`](Self::retry) allows); the next call
    /// connects again whether this is set or not. Default: off, a drop ends every subscription.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc")
    ///     .reconnect(rpc_client::Retry::new(10).backoff(Duration::from_millis(200), Duration::from_secs(5)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn reconnect(mut self, policy: Retry) -> Self {
        self.ws.reconnect = Some(policy);
        self
    }

    /// Over a `ws://` URL: the largest message the client reads; a larger one closes the
    /// connection, failing the calls waiting on it with
    /// [`Error::Transport`](rpc_core::Error::Transport). Default: 16 MiB.
    ///
    /// ```
    /// // Answers of up to 64 MiB, for a service that sends whole blocks.
    /// let client = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc")
    ///     .max_message_size(64 << 20)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.ws.max_message_size = Some(bytes);
        self
    }

    /// Over a `ws://` URL: how often the client pings the server. A connection from which
    /// nothing has come for two intervals, not even a pong, is taken as lost (a peer that
    /// vanished without closing shows no other sign): its calls fail, its subscriptions end or,
    /// with [`reconnect`](Self::reconnect), are made again. Default: 30 s; at least 10 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// // A mobile link that may vanish: found within 10 to 15 s rather than a minute.
    /// let client = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc")
    ///     .ping_interval(Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ws.ping_interval = Some(interval.max(Duration::from_millis(10)));
        self
    }

    /// A client of a server run as a child process: `command` is started at the first call,
    /// and the client talks to it over its standard input and output, messages framed as
    /// [`framing`](Self::framing) says (default: one per line, as the Model Context Protocol's
    /// stdio transport). Calls, batches and subscriptions work as over a WebSocket. The child's
    /// standard error goes to `tracing` (target `rpc_client::child`, at INFO), a line at a time.
    /// When the last clone of the client is dropped, the child's input is closed (a server
    /// ends at the end of its input) and, should it still run, it is killed. Should the child
    /// exit while the client lives, calls fail with a transport error naming its exit status.
    ///
    /// ```no_run
    /// # #[rpc_core::rpc(client)] pub trait Ping { async fn ping(&self) -> String; }
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut server = std::process::Command::new("my-tool-server");
    /// server.arg("--stdio");
    /// let client = rpc_client::ClientBuilder::<PingClient>::child(server).build()?;
    /// let pong = client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn child(command: std::process::Command) -> Self {
        let program = std::path::Path::new(command.get_program())
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut builder = Self::new(&format!("child:{program}"));
        builder.ws.once = Some(ws::Once::Child(command));
        builder
    }

    /// A client over a byte stream already open: messages read from `reader` and written to
    /// `writer`, framed as [`framing`](Self::framing) says (default: one per line). Calls,
    /// batches and subscriptions work as over a WebSocket; the connection is made once, so
    /// when the stream ends, calls fail with a transport error (there is nothing to reconnect
    /// to). Dropping the last clone of the client shuts `writer`.
    ///
    /// ```
    /// # #[rpc_core::rpc(client)] pub trait Ping { async fn ping(&self) -> String; }
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // A server at the other end of a pipe, a TCP stream, a serial line, ...
    /// let (ours, theirs) = tokio::io::duplex(64 * 1024);
    /// # drop(theirs);
    /// let (reader, writer) = tokio::io::split(ours);
    /// let client = rpc_client::ClientBuilder::<PingClient>::stream(reader, writer).build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn stream<R, W>(reader: R, writer: W) -> Self
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let mut builder = Self::new("stream:io");
        builder.ws.once = Some(ws::Once::Stream(Box::new(reader), Box::new(writer)));
        builder
    }

    /// Over a `unix://` URL: how messages are framed on the socket (default
    /// [`Framing::Ethereum`](rpc_core::framing::Framing::Ethereum), as Ethereum nodes' IPC:
    /// values back to back, each written with a newline).
    ///
    /// ```
    /// use rpc_core::framing::Framing;
    /// let client = rpc_client::Client::builder("unix:///run/app/rpc.sock")
    ///     .framing(Framing::Newline)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn framing(mut self, framing: rpc_core::framing::Framing) -> Self {
        self.ws.framing = Some(framing);
        self
    }

    /// Over a `ws://` URL: how many items each [`Subscription`](crate::Subscription) holds for
    /// a consumer that reads them slower than they arrive. When it is full the subscription
    /// ends with an error and the server is told to stop; memory stays bounded. Default: 1024.
    ///
    /// ```
    /// // A consumer that writes each item to a slow store may fall 10,000 items behind.
    /// let client = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc")
    ///     .subscription_buffer(10_000)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn subscription_buffer(mut self, items: usize) -> Self {
        self.ws.subscription_buffer = Some(items.max(1));
        self
    }
}
