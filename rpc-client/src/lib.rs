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
mod measure;
#[cfg(feature = "tls")]
mod tls;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
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

use retry::{Failure, Retrier};

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

/// How much of a non-JSON-RPC error body an [`Error::Status`] keeps.
const BODY_EXCERPT: usize = 512;

/// A JSON-RPC client for one endpoint, or for several serving the same API (see
/// [`ClientBuilder::endpoints`] and [`Failover`]). Cheap to clone: clones share the connection
/// pool (or the WebSocket connection) and the id counter.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    retry: Option<Retrier>,
    /// With several endpoints (or a [`Failover`] policy): all of them, `url` first.
    endpoints: Option<Arc<failover::Endpoints>>,
    /// With [`AutoBatch`]: the calls' way into batches.
    auto_batch: Option<autobatch::Batcher>,
    next_id: AtomicU64,
    /// The WebSocket transport of a `ws://` client, which then sends nothing over `http`.
    ws: Option<ws::WsTransport>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &shown(&self.url))
            .field("headers", &self.headers)
            .field("retry", &self.retry)
            .field("endpoints", &self.endpoints)
            .field("auto_batch", &self.auto_batch)
            .field("ws", &self.ws)
            .finish_non_exhaustive()
    }
}

/// A failed try: the error, whether (and how soon) another try may succeed, and whether the
/// endpoint rather than the call is at fault.
struct TryError {
    error: Error,
    failure: Option<Failure>,
    retry_after: Option<Duration>,
    endpoint_down: bool,
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
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn ws(&self) -> Option<&ws::WsTransport> {
        self.inner.ws.as_ref()
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

    /// Posts a JSON body and returns the answer's bytes, trying again (on another endpoint
    /// when there are several) as the retry and failover policies allow; a non-success status
    /// is an error unless its body is a JSON-RPC response.
    pub(crate) async fn post(
        &self,
        body: Vec<u8>,
        idempotent: bool,
    ) -> Result<bytes::Bytes, Error> {
        // As `Bytes`, another try sends the same body without copying it.
        let body = bytes::Bytes::from(body);
        let retrier = self.inner.retry.as_ref();
        // Over a WebSocket, the transport picks an endpoint for each connection, not each call.
        let endpoints = match self.inner.ws {
            Some(_) => None,
            None => self.inner.endpoints.as_deref(),
        };
        if retrier.is_none() && endpoints.is_none() {
            return self
                .try_post(&self.inner.url, &body, false)
                .await
                .map_err(|e| e.error);
        }
        if let Some(retrier) = retrier {
            retrier.deposit();
        }
        let started = std::time::Instant::now();
        let mut attempt = 0;
        // The endpoints this call has been sent to, so that a retry goes elsewhere.
        let mut tried = Vec::new();
        loop {
            let result = match endpoints {
                None => self.try_post(&self.inner.url, &body, idempotent).await,
                Some(endpoints) => match endpoints.pick(&tried) {
                    Some(endpoint) => {
                        let result = self.try_post(endpoint.url(), &body, idempotent).await;
                        tried.push(endpoint.index);
                        endpoint.finish(match &result {
                            Err(e) if e.endpoint_down => failover::Outcome::Failed(&e.error),
                            _ => failover::Outcome::Answered,
                        });
                        result
                    }
                    // Every endpoint is set aside: nothing was sent, and the first may be
                    // probed again after its cool-down.
                    None => Err(TryError {
                        error: endpoints.unavailable(),
                        failure: Some(Failure::NotSent),
                        retry_after: endpoints.soonest_probe(),
                        endpoint_down: false,
                    }),
                },
            };
            let (error, failure, retry_after) = match result {
                Ok(bytes) => return Ok(bytes),
                Err(TryError {
                    error,
                    failure: Some(failure),
                    retry_after,
                    ..
                }) => (error, failure, retry_after),
                Err(TryError { error, .. }) => return Err(error),
            };
            attempt += 1;
            let may_repeat = failure == Failure::NotSent || idempotent;
            // Another endpoint is ready: go there at once, without waiting out a backoff meant
            // for the one that failed.
            let elsewhere = may_repeat && endpoints.is_some_and(|e| e.untried_ready(&tried));
            let wait = match retrier {
                Some(retrier) => retrier
                    .next(attempt, failure, idempotent, retry_after, started)
                    .map(|wait| if elsewhere { Duration::ZERO } else { wait }),
                None => elsewhere.then_some(Duration::ZERO),
            };
            let Some(wait) = wait else {
                return Err(match endpoints {
                    Some(endpoints) => endpoints.final_error(error),
                    None => error,
                });
            };
            tracing::debug!(
                url = %shown(&self.inner.url),
                attempt,
                wait_ms = wait.as_millis() as u64,
                elsewhere,
                reason = %error,
                "retrying a call"
            );
            measure::retry(&error);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// One try at `url`: the answer's bytes, or the error with whether (and how soon) another
    /// try may succeed.
    async fn try_post(
        &self,
        url: &reqwest::Url,
        body: &bytes::Bytes,
        idempotent: bool,
    ) -> Result<bytes::Bytes, TryError> {
        let fail = |error, failure, retry_after, endpoint_down| TryError {
            error,
            failure,
            retry_after,
            endpoint_down,
        };
        if let Some(ws) = &self.inner.ws {
            let bytes = ws.send(body.clone()).await.map_err(|(error, failure)| {
                let down = failure.is_some();
                fail(error, failure, None, down)
            })?;
            return self.unless_busy(bytes, idempotent, None);
        }
        let mut request = self.inner.http.post(url.clone()).body(body.clone());
        if !self.inner.headers.is_empty() {
            request = request.headers(self.inner.headers.clone());
        }
        #[cfg(feature = "opentelemetry")]
        if let Some(traceparent) = trace_context::traceparent() {
            request = request.header("traceparent", traceparent);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Err(fail(transport_error(e), Some(Failure::NotSent), None, true));
            }
            Err(e) => {
                let builder = e.is_builder();
                let error = transport_error(e);
                return Err(fail(error, Some(Failure::MaySucceedLater), None, !builder));
            }
        };
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| {
            fail(
                transport_error(e),
                Some(Failure::MaySucceedLater),
                None,
                true,
            )
        })?;
        if status.is_success() {
            return self.unless_busy(bytes, idempotent, retry_after);
        }
        let may_recover = matches!(status.as_u16(), 429 | 502 | 503 | 504);
        let failure = may_recover.then_some(Failure::MaySucceedLater);
        // A 429 is about this caller, not the endpoint.
        let endpoint_down = matches!(status.as_u16(), 502..=504);
        // Some servers send a JSON-RPC error with a 4xx/5xx status: that answer is the more
        // precise one.
        if let Ok(r) = Response::parse(&bytes)
            && let Some(error) = r.error
        {
            return Err(fail(Error::Rpc(error), failure, retry_after, endpoint_down));
        }
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_EXCERPT)]).into_owned();
        let error = Error::Status {
            status: status.as_u16(),
            body: text.trim().to_owned(),
        };
        Err(fail(error, failure, retry_after, endpoint_down))
    }

    /// An answer, unless it is the server's "busy" error and the client retries or fails over:
    /// then an error, worth another try if the call is idempotent.
    fn unless_busy(
        &self,
        bytes: bytes::Bytes,
        idempotent: bool,
        retry_after: Option<Duration>,
    ) -> Result<bytes::Bytes, TryError> {
        // Worth another try of an idempotent call, and a sign to give the endpoint a rest.
        let watch = self.inner.endpoints.is_some() || self.inner.retry.is_some();
        if watch && is_busy(&bytes) {
            let error = Response::parse(&bytes)
                .ok()
                .and_then(|r| r.error)
                .map_or_else(|| Error::Malformed("busy".into()), Error::Rpc);
            return Err(TryError {
                error,
                failure: idempotent.then_some(Failure::MaySucceedLater),
                retry_after,
                endpoint_down: true,
            });
        }
        Ok(bytes)
    }
}

/// Whether `bytes` is a single answer carrying the server's "busy" error.
fn is_busy(bytes: &[u8]) -> bool {
    let code = rpc_core::ErrorCode::SERVER_BUSY.to_string();
    bytes.len() < 512
        && bytes.windows(code.len()).any(|w| w == code.as_bytes())
        && Response::parse(bytes)
            .ok()
            .and_then(|r| r.error)
            .is_some_and(|e| e.code == rpc_core::ErrorCode::SERVER_BUSY)
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
    let excerpt = String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT)]).into_owned();
    if body.is_empty() {
        Error::Malformed(format!("empty body: {why}"))
    } else {
        Error::Malformed(format!("{why}; body: {excerpt}"))
    }
}

fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else if e.is_builder() {
        Error::Request(e.to_string())
    } else {
        Error::Transport(Box::new(e))
    }
}
