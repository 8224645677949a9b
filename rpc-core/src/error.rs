//! Errors: the JSON-RPC error object on the wire, the trait that turns a method's own error
//! type into one, and the errors a client call can end in.

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The error codes the JSON-RPC 2.0 specification defines (section 5.1).
///
/// ```
/// use rpc_core::ErrorCode;
/// assert_eq!(ErrorCode::METHOD_NOT_FOUND, -32601);
/// assert_eq!(ErrorCode::message(-32700), Some("Parse error"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode;

impl ErrorCode {
    /// Invalid JSON was received by the server.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid Request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The default code of a method's own error type (the spec's "Server error" range).
    pub const SERVER_ERROR: i64 = -32000;
    /// The server is at its limit of concurrent calls and did not run this call: the same
    /// request may succeed later, so [`Error::is_retryable`] says yes. Sent by `rpc-server`
    /// (message `"Server busy"`), in the specification's range for server errors.
    pub const SERVER_BUSY: i64 = -32005;
    /// The call ran longer than the server allows and was stopped; it may have had effects
    /// already, so it is not retryable as such. Sent by `rpc-server` (message `"Timed out"`).
    pub const TIMEOUT: i64 = -32006;
    /// The call's answer is larger than the server sends; the call ran. Sent by `rpc-server`
    /// (message `"Response too large"`).
    pub const RESPONSE_TOO_LARGE: i64 = -32007;
    /// The caller went over a rate limit and the call did not run; the error's data says when
    /// to try again (`{"retry_after_ms": n}`). Sent by `rpc-server`'s `RateLimit` layer (message
    /// `"Rate limit exceeded"`).
    pub const RATE_LIMITED: i64 = -32008;
    /// A subscription was ended by the server because its subscriber read its items too
    /// slowly: its buffer filled up. Sent by `rpc-server` in a subscription's last
    /// notification (message `"Subscription dropped: the subscriber reads too slowly"`).
    pub const SUBSCRIPTION_DROPPED: i64 = -32009;
    /// The connection holds as many subscriptions as the server allows; the subscription was
    /// not made. Sent by `rpc-server` (message `"Too many subscriptions"`).
    pub const TOO_MANY_SUBSCRIPTIONS: i64 = -32010;
    /// The method is a subscription and the call did not come over a WebSocket, the only
    /// transport that can carry its notifications. Sent by `rpc-server`.
    pub const SUBSCRIPTION_NEEDS_WEBSOCKET: i64 = -32011;
    /// The caller cancelled the call before it was answered (the Language Server Protocol's
    /// `RequestCancelled`): sent by `rpc-server` for a call cancelled under
    /// [`Cancellation::Lsp`](crate::peer::Cancellation::Lsp) (message `"Request cancelled"`).
    pub const REQUEST_CANCELLED: i64 = -32800;

    /// The specification's message for one of its own codes.
    pub fn message(code: i64) -> Option<&'static str> {
        Some(match code {
            Self::PARSE_ERROR => "Parse error",
            Self::INVALID_REQUEST => "Invalid Request",
            Self::METHOD_NOT_FOUND => "Method not found",
            Self::INVALID_PARAMS => "Invalid params",
            Self::INTERNAL_ERROR => "Internal error",
            _ => return None,
        })
    }

    /// Whether `code` is one of the five codes the specification gives a meaning to.
    pub fn is_protocol(code: i64) -> bool {
        Self::message(code).is_some()
    }
}

/// A JSON-RPC 2.0 error object: `{"code": .., "message": .., "data": ..}`.
///
/// ```
/// use rpc_core::ErrorObject;
/// let e = ErrorObject::invalid_params("missing param `a`");
/// assert_eq!(
///     serde_json::to_string(&e).unwrap(),
///     r#"{"code":-32602,"message":"Invalid params","data":"missing param `a`"}"#
/// );
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description of the error.
    pub message: Cow<'static, str>,
    /// Further information, as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
    }
}

impl ErrorObject {
    /// An error object with a code and message and no data.
    pub fn new(code: i64, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data`, serialized to JSON. A value that cannot be serialized leaves no data.
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Self {
        self.data = serde_json::value::to_raw_value(data).ok();
        self
    }

    fn protocol(code: i64) -> Self {
        Self::new(code, ErrorCode::message(code).unwrap_or("Server error"))
    }

    /// `-32700 Parse error`.
    pub fn parse_error() -> Self {
        Self::protocol(ErrorCode::PARSE_ERROR)
    }

    /// `-32600 Invalid Request`, with the reason as data.
    pub fn invalid_request(reason: &str) -> Self {
        Self::protocol(ErrorCode::INVALID_REQUEST).with_data(reason)
    }

    /// `-32011`: `method` is a subscription, and the call did not come over a WebSocket.
    ///
    /// ```
    /// let e = rpc_core::ErrorObject::subscription_needs_websocket("subscribe_blocks");
    /// assert_eq!(e.code, rpc_core::ErrorCode::SUBSCRIPTION_NEEDS_WEBSOCKET);
    /// ```
    pub fn subscription_needs_websocket(method: &str) -> Self {
        ErrorObject::new(
            ErrorCode::SUBSCRIPTION_NEEDS_WEBSOCKET,
            format!(
                "`{method}` is a subscription: call it over a connection that can push (a WebSocket, a Unix socket, a stream) to this endpoint"
            ),
        )
    }

    /// `-32601 Method not found`, naming the method in data.
    pub fn method_not_found(method: &str) -> Self {
        Self::protocol(ErrorCode::METHOD_NOT_FOUND).with_data(method)
    }

    /// `-32602 Invalid params`, with the reason as data.
    pub fn invalid_params(reason: &str) -> Self {
        Self::protocol(ErrorCode::INVALID_PARAMS).with_data(reason)
    }

    /// `-32603 Internal error`, with no detail (details stay in the server's log).
    pub fn internal_error() -> Self {
        Self::protocol(ErrorCode::INTERNAL_ERROR)
    }

    /// Decodes `data` as `T`.
    pub fn data_as<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.data.as_ref()?.get()).ok()
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(f, ": {}", data.get())?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorObject {}

/// A method's own error type, carried over the wire as a JSON-RPC error object.
///
/// The error travels as `{"code": code(), "message": to_string(), "data": <the error, serialized>}`
/// and a typed client deserializes `data` back into the same type, so the caller matches on the
/// error it was given, not on a string. `code` defaults to `-32000`; override it to give
/// variants their own codes (any code outside `-32768..=-32000` is free for applications).
///
/// ```
/// use rpc_core::RpcError;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize, PartialEq)]
/// enum MathError {
///     NegativeDiscriminant,
/// }
/// impl std::fmt::Display for MathError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("no real roots")
///     }
/// }
/// impl RpcError for MathError {
///     fn code(&self) -> i64 {
///         1001
///     }
/// }
///
/// let obj = MathError::NegativeDiscriminant.into_error_object();
/// assert_eq!(obj.code, 1001);
/// assert_eq!(obj.message, "no real roots");
/// assert_eq!(MathError::from_error_object(&obj), Some(MathError::NegativeDiscriminant));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a JSON-RPC error",
    note = "an `#[rpc]` method's error type implements `rpc_core::RpcError` (with serde's `Serialize` + `Deserialize` and `Display`)"
)]
pub trait RpcError: Serialize + DeserializeOwned + fmt::Display {
    /// The JSON-RPC error code for this error.
    fn code(&self) -> i64 {
        ErrorCode::SERVER_ERROR
    }

    /// The error as a JSON-RPC error object.
    fn into_error_object(self) -> ErrorObject
    where
        Self: Sized,
    {
        ErrorObject {
            code: self.code(),
            message: Cow::Owned(self.to_string()),
            data: None,
        }
        .with_data(&self)
    }

    /// Recovers the typed error from an error object, or `None` when the object is a protocol
    /// error (invalid params, method not found, ...) or its data is not this type.
    fn from_error_object(obj: &ErrorObject) -> Option<Self>
    where
        Self: Sized,
    {
        if ErrorCode::is_protocol(obj.code) {
            return None;
        }
        obj.data_as()
    }
}

/// What a method may return as its error: `Result<T, E>` in an `#[rpc]` trait needs
/// `E: MethodError`. There are three kinds:
///
/// - **Your own typed error**, any type implementing [`RpcError`] (serde + `Display`): the
///   client gets the same type back, so callers match on variants. The usual choice for an API.
/// - **[`ErrorObject`]** itself: the method picks code, message and data; the client gets the
///   object back unchanged. For proxies, gateways and codes fixed by another specification.
/// - **A catch-all error**: `Box<dyn std::error::Error + Send + Sync>` (and `Box<dyn Error>`),
///   or `anyhow::Error` with the `anyhow` feature. Any error flows in with `?`; the caller gets
///   code `-32000` with the error's `Display` as the message, and nothing of its source chain or
///   backtrace (format them into the message if the caller should see them). An [`ErrorObject`]
///   inside one is sent as it is, so a catch-all method can still choose a code. The client
///   gets the error object back, boxed. For prototypes and internal services.
///
/// ```
/// use rpc_core::{ErrorObject, MethodError};
///
/// let boxed: Box<dyn std::error::Error + Send + Sync> = "disk full".into();
/// let obj = boxed.into_error_object();
/// assert_eq!((obj.code, &*obj.message), (-32000, "disk full"));
/// assert!(obj.data.is_none());
///
/// let chosen: Box<dyn std::error::Error + Send + Sync> = ErrorObject::new(4001, "quota").into();
/// assert_eq!(chosen.into_error_object().code, 4001);
///
/// let back = ErrorObject::from_error_object(&ErrorObject::method_not_found("x")).unwrap();
/// assert_eq!(back.code, -32601);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a JSON-RPC error",
    label = "not an error type a method can return",
    note = "a method's error type is one of: a type implementing `rpc_core::RpcError` (with serde's `Serialize` + `Deserialize` and `Display`), `rpc_core::ErrorObject`, `Box<dyn std::error::Error + Send + Sync>`, or `anyhow::Error` with the `anyhow` feature"
)]
pub trait MethodError: Sized {
    /// The error as the server sends it.
    fn into_error_object(self) -> ErrorObject;

    /// The error as the client gets it back, or `None` when `obj` is not one of this type (the
    /// call then fails with [`Error::Rpc`]).
    fn from_error_object(obj: &ErrorObject) -> Option<Self>;
}

impl<E: RpcError> MethodError for E {
    fn into_error_object(self) -> ErrorObject {
        RpcError::into_error_object(self)
    }

    fn from_error_object(obj: &ErrorObject) -> Option<Self> {
        RpcError::from_error_object(obj)
    }
}

impl MethodError for ErrorObject {
    fn into_error_object(self) -> ErrorObject {
        self
    }

    fn from_error_object(obj: &ErrorObject) -> Option<Self> {
        Some(obj.clone())
    }
}

/// The caller sees the error's own `Display`, never its sources: those may hold paths, queries
/// or addresses that are the server's business.
fn catch_all_error_object(message: String) -> ErrorObject {
    ErrorObject::new(ErrorCode::SERVER_ERROR, message)
}

macro_rules! boxed_method_error {
    ($($boxed:ty),*) => {$(
        impl MethodError for $boxed {
            fn into_error_object(self) -> ErrorObject {
                match self.downcast::<ErrorObject>() {
                    Ok(obj) => *obj,
                    Err(other) => catch_all_error_object(other.to_string()),
                }
            }

            fn from_error_object(obj: &ErrorObject) -> Option<Self> {
                Some(Box::new(obj.clone()))
            }
        }
    )*};
}

boxed_method_error!(
    Box<dyn std::error::Error + Send + Sync>,
    Box<dyn std::error::Error>
);

#[cfg(feature = "anyhow")]
impl MethodError for anyhow::Error {
    fn into_error_object(self) -> ErrorObject {
        match self.downcast::<ErrorObject>() {
            Ok(obj) => obj,
            // `Display` without `{:#}`: the outermost message only, no context chain.
            Err(other) => catch_all_error_object(other.to_string()),
        }
    }

    fn from_error_object(obj: &ErrorObject) -> Option<Self> {
        Some(anyhow::Error::new(obj.clone()))
    }
}

/// A boxed error from the transport underneath a client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a client call failed, apart from the method's own typed error.
///
/// Each variant tells a different story: the request never got an answer ([`Transport`],
/// [`Timeout`], or no endpoint could take it: [`Unavailable`]), the server answered but not
/// with JSON-RPC ([`Status`], [`Malformed`]), or the server answered with a JSON-RPC error
/// that is not the method's typed error ([`Rpc`], for example method not found or invalid
/// params).
///
/// [`Transport`]: Error::Transport
/// [`Timeout`]: Error::Timeout
/// [`Unavailable`]: Error::Unavailable
/// [`Status`]: Error::Status
/// [`Malformed`]: Error::Malformed
/// [`Rpc`]: Error::Rpc
///
/// ```
/// use rpc_core::{Error, ErrorObject};
/// let e = Error::Rpc(ErrorObject::method_not_found("nope"));
/// assert!(e.is_rpc());
/// assert_eq!(e.rpc_code(), Some(-32601));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Connecting, sending or receiving failed (connection refused or reset, DNS, TLS).
    Transport(BoxError),
    /// No response within the configured timeout.
    Timeout,
    /// The server answered with an HTTP status other than success and no JSON-RPC body.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, as text.
        body: String,
    },
    /// The server's answer was not a valid JSON-RPC response for this request.
    Malformed(String),
    /// The server answered with a result that does not decode as the method's declared result
    /// type: client and server disagree about the method.
    Decode(String),
    /// The server answered with a JSON-RPC error object.
    Rpc(ErrorObject),
    /// The request could not be built: a bad URL, header or params that do not serialize.
    Request(String),
    /// No endpoint of a client over several could take the call: each was failing, or set
    /// aside after failing. Lists every endpoint with its last failure. As with
    /// [`Error::Transport`], a call that was sent before its endpoint failed may have run there.
    Unavailable(Vec<EndpointFailure>),
}

/// An endpoint of a client over several, with the last failure seen there: the parts of an
/// [`Error::Unavailable`].
///
/// ```
/// use rpc_core::{EndpointFailure, Error};
/// let e = Error::Unavailable(vec![
///     EndpointFailure::new("http://10.0.0.1/rpc", "transport error: Connection refused"),
///     EndpointFailure::new("http://10.0.0.2/rpc", "HTTP status 503"),
/// ]);
/// assert_eq!(
///     e.to_string(),
///     "no endpoint is available: http://10.0.0.1/rpc (transport error: Connection refused), \
///      http://10.0.0.2/rpc (HTTP status 503)"
/// );
/// assert!(e.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFailure {
    /// The endpoint's URL.
    pub url: String,
    /// Its last failure, as text.
    pub failure: String,
}

impl EndpointFailure {
    /// The endpoint at `url` and how it last failed.
    pub fn new(url: impl Into<String>, failure: impl Into<String>) -> Self {
        EndpointFailure {
            url: url.into(),
            failure: failure.into(),
        }
    }
}

impl Error {
    /// Whether the server answered with a JSON-RPC error object.
    pub fn is_rpc(&self) -> bool {
        matches!(self, Error::Rpc(_))
    }

    /// The JSON-RPC error code, when the server answered with an error object.
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Error::Rpc(obj) => Some(obj.code),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: a transport failure, a timeout, no
    /// endpoint available, HTTP 429 (too many requests), 502, 503 or 504 (a gateway found the
    /// server down or overloaded), or a server too busy to run the call
    /// ([`ErrorCode::SERVER_BUSY`]). Another 5xx (500, 501, ...) is the server's answer to this
    /// request, which a second try would get again. `rpc-client`'s `Retry` and `Failover` read
    /// failures by this same rule; a request that may have run is only worth repeating when
    /// repeating it is safe (the method is idempotent).
    ///
    /// ```
    /// use rpc_core::{Error, ErrorCode, ErrorObject};
    /// let busy = Error::Rpc(ErrorObject::new(ErrorCode::SERVER_BUSY, "Server busy"));
    /// assert!(busy.is_retryable());
    /// assert!(!Error::Rpc(ErrorObject::internal_error()).is_retryable());
    /// let status = |status| Error::Status { status, body: String::new() };
    /// assert!(status(503).is_retryable());
    /// assert!(!status(500).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout | Error::Unavailable(_) => true,
            Error::Status { status, .. } => matches!(status, 429 | 502..=504),
            Error::Rpc(obj) => obj.code == ErrorCode::SERVER_BUSY,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The root cause is the one worth a line ("Connection refused"); the layers above
            // it stay reachable through `source()`.
            Error::Transport(e) => write!(f, "transport error: {}", root_cause(&**e)),
            Error::Timeout => f.write_str("request timed out"),
            Error::Status { status, body } if body.is_empty() => write!(f, "HTTP status {status}"),
            Error::Status { status, body } => write!(f, "HTTP status {status}: {body}"),
            Error::Malformed(why) => write!(f, "malformed response: {why}"),
            Error::Decode(why) => write!(f, "the result does not decode: {why}"),
            Error::Rpc(obj) => write!(f, "server error: {obj}"),
            Error::Request(why) => write!(f, "invalid request: {why}"),
            Error::Unavailable(endpoints) => {
                f.write_str("no endpoint is available")?;
                for (i, e) in endpoints.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { ", " };
                    write!(f, "{sep}{} ({})", e.url, e.failure)?;
                }
                Ok(())
            }
        }
    }
}

/// The innermost error of `e`'s `source()` chain.
fn root_cause<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> &'e (dyn std::error::Error + 'static) {
    let mut root = e;
    while let Some(next) = root.source() {
        root = next;
    }
    root
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(&**e),
            Error::Rpc(obj) => Some(obj),
            _ => None,
        }
    }
}

/// The result of a typed client call whose method returns `Result<T, E>`: either the method's
/// own error `E`, recovered from the wire, or an [`Error`] of the call itself.
///
/// ```
/// use rpc_core::{CallError, Error};
/// let e: CallError<String> = Error::Timeout.into();
/// assert!(matches!(e, CallError::Call(Error::Timeout)));
/// ```
#[derive(Debug)]
pub enum CallError<E> {
    /// The method ran and returned its own error.
    Method(E),
    /// The call failed: transport, HTTP, protocol or a server-reported JSON-RPC error.
    Call(Error),
}

impl<E> CallError<E> {
    /// The method's own error, if that is what this is.
    pub fn method(self) -> Option<E> {
        match self {
            CallError::Method(e) => Some(e),
            CallError::Call(_) => None,
        }
    }

    /// Folds the call error into `E`, for callers whose error type can hold both.
    pub fn flatten(self) -> E
    where
        E: From<Error>,
    {
        match self {
            CallError::Method(e) => e,
            CallError::Call(e) => E::from(e),
        }
    }
}

impl<E> From<Error> for CallError<E> {
    fn from(e: Error) -> Self {
        CallError::Call(e)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Method(e) => e.fmt(f),
            CallError::Call(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for CallError<E> {}
