//! One message answered in process: the endpoint without a transport.

use rpc_core::{ErrorCode, ErrorObject, Service};

use crate::call::Transport;
use crate::middleware::Calls;
use crate::{RequestContext, RpcService, dispatch};

impl<S: Service, M: Calls> RpcService<S, M> {
    /// Answers one JSON-RPC message (a request, a notification or a batch) in process, as a
    /// message connection would answer it: the answer's JSON, or `None` when none is owed
    /// (notifications only). No HTTP, no connection, no task: the calls run on the caller's
    /// task, through the endpoint's layers and under its limits (a message over the body limit
    /// is answered `-32600` with a `null` id, as on a stream). There is nothing to push to and
    /// no peer to call back, so subscriptions and [`RequestContext::peer`] fail as over HTTP,
    /// and the [`RequestContext`] has no headers. For tests, fuzzing, and transports of one's
    /// own.
    ///
    /// ```
    /// # #[rpc_core::rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
    /// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let endpoint = rpc_server::RpcService::new(PingServer(P));
    /// let answer = endpoint.answer(br#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await;
    /// assert_eq!(answer.as_deref(), Some(&br#"{"jsonrpc":"2.0","result":"pong","id":1}"#[..]));
    /// // A notification is owed no answer.
    /// assert_eq!(endpoint.answer(br#"{"jsonrpc":"2.0","method":"ping"}"#).await, None);
    /// # }
    /// ```
    pub async fn answer(&self, message: &[u8]) -> Option<Vec<u8>> {
        if message.len() > self.config.max_body_bytes {
            let mut out = Vec::with_capacity(128);
            let error = ErrorObject::new(ErrorCode::INVALID_REQUEST, "Invalid Request")
                .with_data("the message is larger than the endpoint's body limit");
            rpc_core::wire::write_error(&mut out, &error, None);
            return Some(out);
        }
        let lent = crate::call::Lent {
            config: &self.config,
            push: None,
            transport: Transport::stream("pipe"),
            peer: None,
        };
        let endpoint = dispatch::Endpoint {
            service: &*self.service,
            stack: &*self.stack,
            lent: &lent,
        };
        let parts = axum::http::Request::new(()).into_parts().0;
        RequestContext::scope(parts, dispatch::handle(endpoint, message)).await
    }
}
