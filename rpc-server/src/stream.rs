//! JSON-RPC over a byte stream (a pipe, stdin and stdout, a Unix socket, any
//! `AsyncRead + AsyncWrite`): the stream cut into messages by a [`Framing`], as the two halves
//! of a [message connection](crate::connection).

use rpc_core::ErrorCode;
use rpc_core::framing::{Decoder, Frame, Framing, encode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufWriter};

use crate::connection::{Answerer, Inbound, MessagesIn, MessagesOut, Opened};

/// How much is read from the stream at a time.
const READ_CHUNK: usize = 8 * 1024;

pub(crate) struct Incoming<R> {
    reader: R,
    decoder: Decoder,
    chunk: Box<[u8]>,
}

impl<R> Incoming<R> {
    pub(crate) fn new(reader: R, framing: Framing, limit: usize) -> Self {
        Incoming {
            reader,
            decoder: Decoder::new(framing, limit),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }
}

impl<R: AsyncRead + Unpin + Send + 'static> MessagesIn for Incoming<R> {
    async fn next(&mut self) -> Inbound {
        loop {
            match self.decoder.next_frame() {
                Some(Frame::Message(message)) => return Inbound::Message(message.into()),
                Some(Frame::TooLarge { .. }) => {
                    return Inbound::Refused {
                        code: ErrorCode::INVALID_REQUEST,
                        why: "the message is larger than the endpoint's body limit",
                        fatal: false,
                    };
                }
                Some(Frame::Malformed(why)) => {
                    return Inbound::Refused {
                        code: ErrorCode::PARSE_ERROR,
                        why,
                        fatal: true,
                    };
                }
                None => {}
            }
            match self.reader.read(&mut self.chunk).await {
                Ok(0) => {
                    if self.decoder.is_partial() {
                        tracing::debug!(
                            buffered = self.decoder.buffered(),
                            "the stream ended in the middle of a message"
                        );
                    }
                    return Inbound::End;
                }
                Ok(n) => self.decoder.extend(&self.chunk[..n]),
                Err(e) => {
                    tracing::debug!(error = %e, "reading the stream failed");
                    return Inbound::End;
                }
            }
        }
    }
}

pub(crate) struct Outgoing<W: AsyncWrite> {
    writer: BufWriter<W>,
    framing: Framing,
    framed: Vec<u8>,
}

impl<W: AsyncWrite> Outgoing<W> {
    pub(crate) fn new(writer: W, framing: Framing) -> Self {
        Outgoing {
            writer: BufWriter::new(writer),
            framing,
            framed: Vec::new(),
        }
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> MessagesOut for Outgoing<W> {
    // A stream has no pings: its peer's end is its end.
    const PINGS: bool = false;

    async fn send(&mut self, text: Vec<u8>, more: bool) -> Result<(), ()> {
        self.framed.clear();
        encode(self.framing, &text, &mut self.framed);
        self.writer.write_all(&self.framed).await.map_err(|_| ())?;
        if !more {
            self.writer.flush().await.map_err(|_| ())?;
        }
        Ok(())
    }

    async fn ping(&mut self) -> Result<(), ()> {
        Ok(())
    }

    async fn close(&mut self, code: Option<(u16, &'static str)>) {
        if let Some((code, reason)) = code {
            tracing::debug!(code, reason, "the server ends the stream");
        }
        let _ = self.writer.flush().await;
        let _ = self.writer.shutdown().await;
    }
}

/// Serves one byte stream's messages, framed by `framing`, until either side closes it. Not
/// generic: the connection's code is compiled once, here, whatever service and stream.
fn serve(
    reader: Box<dyn AsyncRead + Unpin + Send>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    framing: Framing,
    opened: Opened,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let limit = opened.config.max_body_bytes;
    let halves = (
        Incoming::new(reader, framing, limit),
        Outgoing::new(writer, framing),
    );
    Box::pin(crate::connection::run(halves, opened))
}

impl<S: rpc_core::Service, M: crate::middleware::Calls> crate::RpcService<S, M> {
    /// Serves one connection over a byte stream: requests read from `reader`, answers and
    /// subscription items written to `writer`, each message framed by `framing`. Calls,
    /// batches, notifications, subscriptions and the middleware work as over a WebSocket, under
    /// the same limits ([`WsLimits`](crate::WsLimits), the endpoint's body limit per message).
    /// Returns once `reader` ends, after the calls in flight are answered, or once the peer
    /// stops reading for good (the writer fails).
    ///
    /// A message over the body limit is answered `-32600` with a `null` id and skipped (under
    /// [`Framing::ContentLength`], refused from its head, never read into memory; under
    /// [`Framing::Newline`], the rest of its line dropped); under [`Framing::Ethereum`] it ends
    /// the stream, as does a stream that cannot be framed (`-32700` first).
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// use rpc_core::framing::Framing;
    /// use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let endpoint = rpc_server::RpcService::new(PingServer(P));
    /// let (client, server) = tokio::io::duplex(4096);
    /// let (reader, writer) = tokio::io::split(server);
    /// tokio::spawn(async move { endpoint.serve_stream(reader, writer, Framing::Newline).await });
    /// let (mut from_server, mut to_server) = tokio::io::split(client);
    /// to_server.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n").await.unwrap();
    /// to_server.shutdown().await.unwrap(); // the end of input
    /// let mut answer = String::new();
    /// from_server.read_to_string(&mut answer).await.unwrap();
    /// assert_eq!(answer, "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n");
    /// # }
    /// ```
    pub async fn serve_stream<R, W>(&self, reader: R, writer: W, framing: Framing)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        self.messages_on(reader, writer, framing, None, "pipe")
            .await;
    }

    /// Serves one stream's messages, lent what the server offers its connections (under
    /// [`serve_messages`](crate::serve_messages)) or nothing.
    pub(crate) fn messages_on<R, W>(
        &self,
        reader: R,
        writer: W,
        framing: Framing,
        upgrade: Option<crate::serve::Upgrade>,
        network: &'static str,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let mut parts = axum::http::Request::new(()).into_parts().0;
        if let Some(peer) = upgrade.as_ref().and_then(crate::serve::Upgrade::peer) {
            parts.extensions.insert(axum::extract::ConnectInfo(peer));
        }
        serve(
            Box::new(reader),
            Box::new(writer),
            framing,
            Opened {
                transport: crate::call::Transport::stream(network),
                answering: std::sync::Arc::new(Answerer {
                    service: self.service.clone(),
                    stack: self.stack.clone(),
                }),
                config: self.config.clone(),
                parts: std::sync::Arc::new(parts),
                upgrade,
            },
        )
    }

    /// Serves one connection over this process's standard input and output, framed by
    /// `framing`, as a language server or a tool server runs under the program that started
    /// it: nothing but messages is written to standard output (write logs to standard error),
    /// and the end of standard input ends it, after the calls in flight are answered.
    pub async fn serve_stdio(&self, framing: Framing) {
        self.serve_stream(tokio::io::stdin(), tokio::io::stdout(), framing)
            .await;
    }
}
