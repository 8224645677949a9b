//! LSP's `exit`: how a method's notification ends the program serving it, without losing the
//! answers still on their way.

/// How the program serving the endpoint learns that `exit` came, and with which status.
///
/// LSP's `exit` is a notification that ends the server's process. A method cannot close the
/// connection it is served on, nor end the process without losing answers still on their way
/// (a request the editor sent just before may not be answered yet). So the server tells the
/// program, and the program ends the connection's *input* there: [`Exit::ends`] wraps the
/// reader so that it reaches its end once `exit` came. The connection then finishes as at the
/// end of any input, answering the calls in flight and flushing them, and
/// [`serve_stream`](rpc_server::RpcService::serve_stream) returns; the program ends the
/// process with [`Exit::status`].
#[derive(Clone)]
pub struct Exit(pub(super) tokio::sync::watch::Receiver<Option<i32>>);

impl Exit {
    /// Waits for `exit`; if the endpoint is dropped without it, waits for ever.
    pub async fn requested(&self) {
        let mut exit = self.0.clone();
        if exit.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The status to exit with: after `exit`, 0 if `shutdown` came first and 1 otherwise, as
    /// LSP says; 1 if `exit` never came (the input ended without it).
    pub fn status(&self) -> i32 {
        self.0.borrow().unwrap_or(1)
    }

    /// `reader`, ending (read returns 0 bytes) once `exit` has come.
    pub fn ends<R: tokio::io::AsyncRead + Unpin>(&self, reader: R) -> UntilExit<R> {
        let exit = self.clone();
        UntilExit {
            reader,
            exit: Some(Box::pin(async move { exit.requested().await })),
        }
    }
}

/// A reader that ends once `exit` came: see [`Exit::ends`].
pub struct UntilExit<R> {
    reader: R,
    /// Until `exit` came: a finished future may not be polled again.
    exit: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for UntilExit<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Polled first, so that it wakes this reader when `exit` comes while it waits for input.
        let exited = match &mut self.exit {
            None => true,
            Some(exit) => exit.as_mut().poll(cx).is_ready(),
        };
        if exited {
            self.exit = None;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}
