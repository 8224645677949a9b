//! The client underneath every `#[rpc]`-generated `{Trait}Client`: over HTTP (reqwest) or a
//! WebSocket (tokio-tungstenite).
//!
//! Generated clients are the way to call a service: their methods have the trait's names and
//! types. This crate holds what they share: connection reuse, timeouts, headers and auth, the
//! errors a call can end in, batches, and the opt-in resilience and speed-ups: [`Retry`],
//! [`Failover`] over several endpoints, and [`AutoBatch`] for calls from many tasks.
//!
//! ```no_run
//! # async fn run() -> Result<(), rpc_core::Error> {
//! use std::time::Duration;
//!
//! let client = rpc_client::Client::builder("http://127.0.0.1:7002/rpc")
//!     .timeout(Duration::from_secs(5))
//!     .bearer_auth("s3cret")
//!     .build()?;
//! // Untyped, for a service with no trait at hand:
//! let difference: i64 = client.call("subtract", Some(&(42, 23))).await?;
//! assert_eq!(difference, 19);
//! # Ok(()) }
//! ```
//!
//! A `ws://` URL makes the same client speak over one WebSocket connection, which also carries
//! subscriptions: see [`Client::subscribe`] and [`Subscription`], and the WebSocket settings of
//! [`ClientBuilder`] ([`reconnect`](ClientBuilder::reconnect),
//! [`subscription_buffer`](ClientBuilder::subscription_buffer),
//! [`max_message_size`](ClientBuilder::max_message_size)). A `unix:///path/to/socket` URL does
//! the same over a Unix socket, its messages framed as [`ClientBuilder::framing`] says (Ethereum
//! IPC's by default), without pings: the socket's end is the server's.
//!
//! Every failure is an [`rpc_core::Error`] that says what went wrong: the transport, the
//! timeout, an HTTP status with no JSON-RPC answer, a malformed answer, or an error object the
//! server sent. A method's own typed error arrives as [`rpc_core::CallError::Method`].

mod autobatch;
mod batch;
mod builder;
mod failover;
mod failure;
mod measure;
mod resilience;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use rpc_core::wire::{self, Response};
use rpc_core::{CallError, Error, MethodError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use autobatch::AutoBatch;
pub use batch::{Batch, BatchResponse, Slot, SlotOutput, TypedSlot};
pub use builder::ClientBuilder;
pub use failover::{EndpointStatus, Failover, Health};
pub use retry::Retry;
pub use ws::Subscription;

mod retry;

use resilience::Resilience;
use transport::Transport;

#[cfg(feature = "opentelemetry")]
mod trace_context {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    /// The W3C `traceparent` of the current span, when it belongs to an OpenTelemetry trace.
    pub(crate) fn traceparent() -> Option<String> {
        let context = tracing::Span::current().context();
        let span = context.span();
        let span = span.span_context();
        span.is_valid().then(|| {
            format!(
                "00-{}-{}-{:02x}",
                span.trace_id(),
                span.span_id(),
                span.trace_flags().to_u8()
            )
        })
    }
}

/// Everything the code `#[rpc]` generates names in this crate: the contract between the macro
/// and the client. Not a public API; its name changes with the contract.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private_v0_1;

/// A method's name on the wire, and whether calling it twice has the effect of calling it once
/// (so that a failed call may be sent again; see [`Retry`]). A `&str` is a method not known to
/// be idempotent.
///
/// ```
/// use rpc_client::Method;
/// assert!(Method::idempotent("get_balance").is_idempotent());
/// assert!(!Method::from("transfer").is_idempotent());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method<'a> {
    name: &'a str,
    idempotent: bool,
}

impl<'a> Method<'a> {
    /// A method that may not be sent twice.
    pub const fn new(name: &'a str) -> Self {
        Method {
            name,
            idempotent: false,
        }
    }

    /// A method that may be sent again after a failure.
    pub const fn idempotent(name: &'a str) -> Self {
        Method {
            name,
            idempotent: true,
        }
    }

    /// The name on the wire.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether it may be sent again.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

impl<'a> From<&'a str> for Method<'a> {
    fn from(name: &'a str) -> Self {
        Method::new(name)
    }
}

impl<'a> From<&'a String> for Method<'a> {
    fn from(name: &'a String) -> Self {
        Method::new(name)
    }
}

/// `url` as logs, errors and `Debug` show it: a password in it replaced by `***`.
pub(crate) fn shown(url: &reqwest::Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut url = url.clone();
    let _ = url.set_password(Some("***"));
    url.into()
}

/// A JSON-RPC client for one endpoint, or for several serving the same API (see
/// [`ClientBuilder::endpoints`] and [`Failover`]). Cheap to clone: clones share the connection
/// pool (or the WebSocket connection) and the id counter.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    url: reqwest::Url,
    transport: Transport,
    /// Retry and failover around the transport, when the client has either.
    resilience: Option<Resilience>,
    /// With several endpoints (or a [`Failover`] policy): all of them, `url` first, each with
    /// its breaker (shared with whichever layer picks among them).
    endpoints: Option<Arc<failover::Endpoints>>,
    /// With [`AutoBatch`]: the calls' way into batches.
    auto_batch: Option<autobatch::Batcher>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &shown(&self.url))
            .field("transport", &self.transport)
            .field("resilience", &self.resilience)
            .field("auto_batch", &self.auto_batch)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `url` with default settings.
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// Settings for a client of `url`.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// The endpoint's URL (the first endpoint's, for a client over several).
    pub fn url(&self) -> &reqwest::Url {
        &self.inner.url
    }

    /// Each endpoint with the state of its circuit breaker and its last failure (see
    /// [`Failover`]). A client over one endpoint without a failover policy has no breaker and
    /// reports it healthy.
    ///
    /// ```
    /// let client = rpc_client::Client::builder("http://127.0.0.1:7002/rpc")
    ///     .endpoints(["http://127.0.0.1:7003/rpc"])
    ///     .build()
    ///     .unwrap();
    /// let endpoints = client.endpoints();
    /// assert_eq!(endpoints[1].url(), "http://127.0.0.1:7003/rpc");
    /// assert_eq!(endpoints[1].health(), rpc_client::Health::Healthy);
    /// ```
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        match &self.inner.endpoints {
            Some(endpoints) => endpoints.statuses(),
            None => {
                failover::Endpoints::new(vec![self.inner.url.clone()], Failover::new()).statuses()
            }
        }
    }

    fn next_id(&self) -> u64 {
        self.inner
            .transport
            .next_id()
            .unwrap_or_else(|| self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn ws(&self) -> Option<&ws::WsTransport> {
        self.inner.transport.messages()
    }

    /// Calls `method`; any error object the server sends is [`Error::Rpc`].
    pub async fn call<'m, R, P>(
        &self,
        method: impl Into<Method<'m>>,
        params: Option<&P>,
    ) -> Result<R, Error>
    where
        R: DeserializeOwned,
        P: Serialize + ?Sized,
    {
        let method = method.into();
        let id = self.next_id();
        let mut body = Vec::with_capacity(128);
        wire::write_request(&mut body, method.name, params, Some(id)).map_err(encode_error)?;
        if let Some(batcher) = &self.inner.auto_batch {
            body = match batcher.queue(&self.inner, Some(id), body, method.idempotent) {
                Ok(answer) => {
                    let answer = answer.await.unwrap_or_else(|_| {
                        Err(Error::Request("the auto-batching task has stopped".into()))
                    });
                    return <Slot<R> as SlotOutput>::decode(answer);
                }
                // No task to batch it: it goes alone.
                Err(body) => body,
            };
        }
        let bytes = self.post(body, method.idempotent).await?;
        let response = Response::parse(&bytes).map_err(|e| malformed(e, &bytes))?;
        // An error the server could not tie to a request (a parse error, say) has id null.
        if let (Some(error), "null") = (&response.error, response.id.get()) {
            return Err(Error::Rpc(error.clone()));
        }
        if response.numeric_id() != Some(id) {
            return Err(Error::Malformed(format!(
                "the response's id {} is not the request's id {id}",
                response.id.get()
            )));
        }
        decode(response)
    }

    /// Calls `method` whose own error type is `E`: an error object carrying an `E` becomes
    /// [`CallError::Method`], any other failure [`CallError::Call`].
    pub async fn call_typed<'m, R, E, P>(
        &self,
        method: impl Into<Method<'m>>,
        params: Option<&P>,
    ) -> Result<R, CallError<E>>
    where
        R: DeserializeOwned,
        E: MethodError,
        P: Serialize + ?Sized,
    {
        self.call(method, params).await.map_err(typed)
    }

    /// Sends `method` as a notification: the server runs it and sends no answer.
    pub async fn notify<'m, P>(
        &self,
        method: impl Into<Method<'m>>,
        params: Option<&P>,
    ) -> Result<(), Error>
    where
        P: Serialize + ?Sized,
    {
        let method = method.into();
        let mut body = Vec::with_capacity(128);
        wire::write_request(&mut body, method.name, params, None).map_err(encode_error)?;
        if let Some(batcher) = &self.inner.auto_batch {
            body = match batcher.queue(&self.inner, None, body, method.idempotent) {
                Ok(delivered) => {
                    return match delivered.await {
                        Ok(answer) => answer.map(drop),
                        Err(_) => Err(Error::Request("the auto-batching task has stopped".into())),
                    };
                }
                // No task to batch it: it goes alone.
                Err(body) => body,
            };
        }
        self.post(body, method.idempotent).await.map(drop)
    }

    /// Starts a batch of calls to send in one request.
    pub fn batch(&self) -> Batch {
        Batch::new(self.clone())
    }

    /// Sends a request's bytes and returns the answer's, through the retry and failover
    /// policies when the client has them; a non-success status is an error unless its body is
    /// a JSON-RPC response.
    pub(crate) async fn post(&self, body: Vec<u8>, idempotent: bool) -> Result<Bytes, Error> {
        // As `Bytes`, another try sends the same body without copying it.
        let body = Bytes::from(body);
        let inner = &*self.inner;
        // Boxed: the transports' futures (reqwest's, a connection's) are large, and a call's
        // future is held inside whatever awaits it, a server method calling another service
        // or its own client back among them; boxed once here, every caller stays small.
        let sent: std::pin::Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send + '_>> =
            match &inner.resilience {
                None => Box::pin(async move {
                    inner
                        .transport
                        .send(&inner.url, body)
                        .await
                        .map_err(|failed| failed.error)
                }),
                Some(resilience) => {
                    Box::pin(resilience.send(&inner.transport, &inner.url, body, idempotent))
                }
            };
        sent.await
    }
}

/// The typed result of a response.
fn decode<R: DeserializeOwned>(response: Response<'_>) -> Result<R, Error> {
    match (response.result, response.error) {
        (_, Some(error)) => Err(Error::Rpc(error)),
        (Some(result), None) => serde_json::from_str(result.get()).map_err(decode_error),
        (None, None) => Err(Error::Malformed("no result".into())),
    }
}

/// Turns an error object carrying the method's own error into [`CallError::Method`].
fn typed<E: MethodError>(e: Error) -> CallError<E> {
    match e {
        Error::Rpc(obj) => match E::from_error_object(&obj) {
            Some(typed) => CallError::Method(typed),
            None => CallError::Call(Error::Rpc(obj)),
        },
        other => CallError::Call(other),
    }
}

/// A result that does not fit the declared type.
pub(crate) fn decode_error(e: serde_json::Error) -> Error {
    Error::Decode(e.to_string())
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Request(format!("params do not serialize: {e}"))
}

fn malformed(why: String, body: &[u8]) -> Error {
    let excerpt = String::from_utf8_lossy(&body[..body.len().min(transport::http::BODY_EXCERPT)])
        .into_owned();
    if body.is_empty() {
        Error::Malformed(format!("empty body: {why}"))
    } else {
        Error::Malformed(format!("{why}; body: {excerpt}"))
    }
}
