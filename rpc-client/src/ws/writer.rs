//! The writer task of a connection: the one place frames leave the socket. It batches the
//! frames that queue up into one flush, sends a close frame once every sender is gone, and
//! stops when the reader reports the connection lost.

use futures_util::SinkExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Sink = super::FrameSink;

/// The writer task: sends queued frames, several per flush when they queue up; sends a close
/// frame when every sender is gone; stops when the reader says the connection is lost.
pub(super) async fn write(
    mut sink: Sink,
    mut queued: mpsc::Receiver<Message>,
    mut stopped: oneshot::Receiver<()>,
    _done: oneshot::Sender<()>,
) {
    loop {
        let message = tokio::select! {
            message = queued.recv() => message,
            _ = &mut stopped => return,
        };
        let Some(message) = message else {
            let _ = sink.send(Message::Close(None)).await;
            return;
        };
        if sink.feed(message).await.is_err() {
            return;
        }
        while let Ok(message) = queued.try_recv() {
            if sink.feed(message).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}
