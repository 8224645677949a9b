//! A byte stream (a Unix socket) as a connection's frames: messages cut out by a [`Framing`],
//! and written framed the same way, so that the reader and writer tasks serve it as they serve
//! a WebSocket. A stream has no pings, and its end is its peer's.

use std::io;

use rpc_core::framing::{Decoder, Frame, Framing, encode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::{Error, Message};

use super::{FrameSink, Frames};

/// The messages read from `reader`, the largest `limit` bytes: a larger one, or bytes that
/// cannot be framed, end the connection with an error saying so.
pub(super) fn frames<R>(reader: R, framing: Framing, limit: usize) -> Frames
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let state = (
        reader,
        Decoder::new(framing, limit),
        vec![0u8; 8 * 1024],
        false,
    );
    Box::pin(futures_util::stream::unfold(
        state,
        |(mut reader, mut decoder, mut chunk, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let failed = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
                match decoder.next_frame() {
                    Some(Frame::Message(bytes)) => {
                        let message = match String::from_utf8(bytes) {
                            Ok(text) => Message::Text(text.into()),
                            Err(e) => Message::Binary(e.into_bytes().into()),
                        };
                        return Some((Ok(message), (reader, decoder, chunk, false)));
                    }
                    Some(Frame::TooLarge { limit }) => {
                        let e = failed(format!("the server sent a message over {limit} bytes"));
                        return Some((Err(Error::Io(e)), (reader, decoder, chunk, true)));
                    }
                    Some(Frame::Malformed(why)) => {
                        let e = failed(format!("the server's stream cannot be framed: {why}"));
                        return Some((Err(Error::Io(e)), (reader, decoder, chunk, true)));
                    }
                    None => {}
                }
                match reader.read(&mut chunk).await {
                    Ok(0) => return None,
                    Ok(n) => decoder.extend(&chunk[..n]),
                    Err(e) => return Some((Err(Error::Io(e)), (reader, decoder, chunk, true))),
                }
            }
        },
    ))
}

/// Messages written to `writer`, each framed; pings are dropped (a stream has none), and a
/// close frame shuts the stream's writing half.
pub(super) fn sink<W>(writer: W, framing: Framing) -> FrameSink
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let writer = tokio::io::BufWriter::new(writer);
    Box::pin(futures_util::sink::unfold(
        (writer, Vec::new()),
        move |(mut writer, mut framed), message: Message| async move {
            let text = match message {
                Message::Text(text) => text.as_bytes().to_vec(),
                Message::Binary(bytes) => bytes.to_vec(),
                Message::Close(_) => {
                    writer.shutdown().await.map_err(Error::Io)?;
                    return Ok((writer, framed));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
                    return Ok((writer, framed));
                }
            };
            framed.clear();
            encode(framing, &text, &mut framed);
            writer.write_all(&framed).await.map_err(Error::Io)?;
            writer.flush().await.map_err(Error::Io)?;
            Ok::<_, Error>((writer, framed))
        },
    ))
}

/// The messages of a child process's standard output, then, once it ends, an error naming the
/// child's exit status. The child is killed should the connection drop while it runs.
pub(super) fn child_frames<R>(
    stdout: R,
    mut child: tokio::process::Child,
    program: String,
    framing: Framing,
    limit: usize,
) -> Frames
where
    R: AsyncRead + Unpin + Send + 'static,
{
    use futures_util::StreamExt as _;
    let exit = futures_util::stream::once(async move {
        let status = child.wait().await;
        let why = match status {
            Ok(status) => format!("the server process `{program}` exited ({status})"),
            Err(e) => format!("the server process `{program}` could not be waited for: {e}"),
        };
        tracing::debug!("{why}");
        Err(Error::Io(io::Error::new(io::ErrorKind::BrokenPipe, why)))
    });
    Box::pin(frames(stdout, framing, limit).chain(exit))
}

/// Logs each line of a child's standard error at INFO.
pub(super) async fn log_lines<R: AsyncRead + Unpin>(stderr: R, program: String) {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "rpc_client::child", program = %program, "{line}");
    }
}
