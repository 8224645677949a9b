//! JSON-RPC messages over a byte stream (a child's stdio, a pipe, a Unix socket), framed by
//! an `rpc_core::framing::Framing`: a reader of the messages a server writes, and a sender.

use std::time::Duration;

use rpc_core::framing::{Decoder, Frame, Framing, encode};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Reads framed messages from a stream.
pub(crate) struct Reader<R> {
    stream: R,
    decoder: Decoder,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub(crate) fn new(stream: R, framing: Framing) -> Self {
        Reader {
            stream,
            decoder: Decoder::new(framing, 1 << 20),
        }
    }

    /// The next message as JSON; `None` once the stream ends. Fails after 10 s, or on a frame
    /// that is not JSON.
    pub(crate) async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                let Frame::Message(bytes) = frame else {
                    panic!("the server wrote a bad frame: {frame:?}")
                };
                return Some(serde_json::from_slice(&bytes).expect("JSON from the server"));
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("the server writes within 10 s")
                .expect("reads");
            if n == 0 {
                return None;
            }
            self.decoder.extend(&chunk[..n]);
        }
    }
}

/// Writes `message`, framed, and flushes it.
pub(crate) async fn send(
    stream: &mut (impl AsyncWrite + Unpin),
    framing: Framing,
    message: &Value,
) {
    let mut framed = Vec::new();
    encode(framing, message.to_string().as_bytes(), &mut framed);
    stream.write_all(&framed).await.expect("writes");
    stream.flush().await.expect("flushes");
}
