//! LSP's `exit`: how a method's notification ends the program serving it, without losing the
//! answers still on their way.

/// How the program serving the endpoint learns that `exit` came, and with which status.
///
/// LSP's `exit` is a notification that ends the server's process. Its method closes the
/// connection ([`RequestContext::close_connection`](rpc_server::RequestContext::close_connection)):
/// nothing more is read, the calls in flight are answered and flushed, and
/// [`serve_stdio`](rpc_server::RpcService::serve_stdio) returns; the program then ends the
/// process with [`Exit::status`], not losing the answer to a request the editor sent just
/// before.
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
}
