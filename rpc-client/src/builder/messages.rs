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
    /// The other end of a server's connection, for a client of the server's peer.
    pub(super) peer: Option<rpc_core::peer::Peer>,
    /// What the client serves its server, and at most how many of its calls at once.
    pub(super) served: Option<ws::served::Served>,
    pub(super) cancellation: rpc_core::peer::Cancellation,
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

    /// A client of the other end of a server's connection: inside a method served over a
    /// message connection, the client that called it, whose `#[rpc]` trait the server then
    /// calls back with the same typed calls (the peer comes from
    /// `rpc_server::RequestContext::peer()`). Calls and notifications work; batches and
    /// subscriptions do not go this way. The client can be kept after the method returns;
    /// once the connection closes, its calls fail with a transport error. The connection's
    /// limits apply (`WsLimits::max_peer_calls`, `peer_call_timeout`), and a call dropped or
    /// timed out is cancelled at the peer as the endpoint's cancellation protocol says.
    ///
    /// ```
    /// # #[rpc_core::rpc(client)] pub trait Noisy { async fn noisy(&self, line: String); }
    /// // Inside a server method, the peer is `rpc_server::RequestContext::peer()?`.
    /// async fn tell(peer: rpc_core::peer::Peer) -> Result<(), Box<dyn std::error::Error>> {
    ///     let client = rpc_client::ClientBuilder::<NoisyClient>::peer(peer).build()?;
    ///     client.noisy("a line".into()).await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn peer(peer: rpc_core::peer::Peer) -> Self {
        let mut builder = Self::new("peer:connection");
        builder.ws.peer = Some(peer);
        builder
    }

    /// Serves `service` (a generated `{Trait}Server`) to the server over this client's message
    /// connection (WebSocket, Unix socket, child process, stream): the requests and
    /// notifications the server sends for its methods run on it, each in a task of its own,
    /// while the client's own calls go on, so that a server method that calls back into the
    /// client while the client waits on it never deadlocks. At most `max_calls` run or wait
    /// at once, ordered notifications waiting their turn included: past it, a request is
    /// answered `-32005` busy and a notification is dropped (both counted in the
    /// `rpc.client.served.refused` metric), so give room for the notifications the server
    /// sends in a burst. The reader never waits for a slot, as it must go on routing the
    /// answers the running calls may be waiting for. The server may cancel a call under the
    /// connection's [`cancellation`](Self::cancellation). A request for a method the client
    /// does not serve is answered `-32601`. Over HTTP the server cannot call back, and this
    /// is an error at [`build`](Self::build).
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Noisy { async fn noisy(&self, line: String); }
    /// struct Printer;
    /// impl Noisy for Printer {
    ///     async fn noisy(&self, line: String) {
    ///         println!("{line}");
    ///     }
    /// }
    /// let client = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc")
    ///     .serve(NoisyServer(Printer), 16)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn serve(mut self, service: impl rpc_core::Service, max_calls: usize) -> Self {
        self.ws.served = Some(ws::served::Served::new(service, max_calls));
        self
    }

    /// How this client and its server tell each other that a caller gave up on a call
    /// (default: none; the server's [`RpcService::cancellation`] must say the same): a call
    /// whose future is dropped, or that times out, before its answer comes is cancelled at
    /// the server (LSP's `$/cancelRequest`, the Model Context Protocol's
    /// `notifications/cancelled`), and the server may cancel the calls this client
    /// [serves](Self::serve). Over a message connection only.
    ///
    /// [`RpcService::cancellation`]: https://docs.rs/rpc-server
    ///
    /// ```
    /// use rpc_core::peer::Cancellation;
    /// let client = rpc_client::Client::builder("unix:///run/lsp.sock")
    ///     .cancellation(Cancellation::Lsp)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn cancellation(mut self, cancellation: rpc_core::peer::Cancellation) -> Self {
        self.ws.cancellation = cancellation;
        self
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
