//! Serve `#[rpc]` traits over HTTP as axum routes.
//!
//! `#[rpc]` generates `{Trait}Server<S>` for every trait; wrap an implementation in it and hand
//! it to [`RpcService`] (or the [`router`] shortcut). The result is an ordinary axum citizen: it
//! mounts at any path, nests, merges with other routes, lives in a `Router` with any state, and
//! takes any tower layer.
//!
//! ```
//! use rpc_core::rpc;
//!
//! #[rpc(server)]
//! pub trait Greeter {
//!     /// Greets `name`.
//!     async fn hello(&self, name: String) -> String;
//! }
//!
//! struct English;
//! impl Greeter for English {
//!     async fn hello(&self, name: String) -> String {
//!         format!("Hello, {name}!")
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = axum::Router::new()
//!     .route("/rpc", rpc_server::RpcService::new(GreeterServer(English)).into_method_router())
//!     .route("/health", axum::routing::get(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! ## What the route does on the wire
//! - `POST` with `Content-Type: application/json` (or `application/json-rpc`,
//!   `application/jsonrequest`); another content type is answered `415`, another HTTP method
//!   `405`, a body over the limit `413`.
//! - Every answer that carries a JSON-RPC response is `200 OK` with `application/json`, errors
//!   included, as JSON-RPC over HTTP expects.
//! - A notification, or a batch of notifications only, is answered `200 OK` with an empty body:
//!   the most widely understood way of saying "nothing to return".
//! - A batch's calls run concurrently; the answers come back in one array, in request order,
//!   without the notifications.
//! - A panic in a method fails that call only, with `-32603 Internal error`; the message stays
//!   in the server's log.

mod builtin;
mod context;
mod dispatch;
mod explorer;
mod mount;

use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use rpc_core::meta::ServiceInfo;
use rpc_core::{ErrorObject, Service};
use serde_json::value::RawValue;

pub use context::RequestContext;
pub use mount::RouterExt;

/// A check run before every call, with the method's name and the request's
/// [`RequestContext`] in scope: `Err` refuses the call with that error object.
pub type Authorize = dyn Fn(&str) -> Result<(), ErrorObject> + Send + Sync;

/// An endpoint's settings, shared by every request it serves.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_batch_len: usize,
    pub(crate) authorize: Option<Arc<Authorize>>,
    pub(crate) discover: bool,
    pub(crate) introspection: bool,
    pub(crate) explorer: bool,
    pub(crate) api_version: String,
    openrpc: OnceLock<Box<RawValue>>,
}

impl Config {
    /// The OpenRPC document, built on first use.
    pub(crate) fn openrpc(&self, info: &ServiceInfo) -> &RawValue {
        self.openrpc.get_or_init(|| {
            let doc = rpc_core::openrpc::document_with_version(info, &self.api_version);
            // A `Value` always serializes.
            serde_json::value::to_raw_value(&doc).unwrap_or_default()
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 10 * 1024 * 1024,
            max_batch_len: 1024,
            authorize: None,
            discover: true,
            introspection: false,
            explorer: false,
            api_version: "0.0.0".into(),
            openrpc: OnceLock::new(),
        }
    }
}

/// A JSON-RPC endpoint over a [`Service`]: the builder for its axum route.
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// use rpc_server::{RequestContext, RpcService};
///
/// let route: axum::routing::MethodRouter = RpcService::new(PingServer(P))
///     .max_batch_len(100)
///     .max_body_bytes(1 << 20)
///     .introspection(true)
///     .explorer(true)
///     .authorize(|method| {
///         let signed_in = RequestContext::header("authorization").is_some();
///         match method {
///             "ping" | "rpc.discover" => Ok(()),
///             _ if signed_in => Ok(()),
///             _ => Err(rpc_core::ErrorObject::new(-32001, "sign in first")),
///         }
///     })
///     .into_method_router();
/// ```
pub struct RpcService<S> {
    service: Arc<S>,
    config: Arc<Config>,
}

impl<S> Clone for RpcService<S> {
    fn clone(&self) -> Self {
        RpcService {
            service: self.service.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S> std::fmt::Debug for RpcService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        f.debug_struct("RpcService")
            .field("max_body_bytes", &c.max_body_bytes)
            .field("max_batch_len", &c.max_batch_len)
            .field("authorize", &c.authorize.is_some())
            .field("discover", &c.discover)
            .field("introspection", &c.introspection)
            .field("explorer", &c.explorer)
            .finish_non_exhaustive()
    }
}

impl<S: Service> RpcService<S> {
    /// An endpoint serving `service` with default settings: bodies up to 10 MiB, batches up to
    /// 1024 calls, `rpc.discover` on, `system.*` introspection and the explorer page off.
    pub fn new(service: S) -> Self {
        Self::from_arc(Arc::new(service))
    }

    /// An endpoint over a service that is shared elsewhere too.
    pub fn from_arc(service: Arc<S>) -> Self {
        RpcService {
            service,
            config: Arc::new(Config::default()),
        }
    }

    fn with(mut self, edit: impl FnOnce(&mut Config)) -> Self {
        edit(Arc::make_mut(&mut self.config));
        self
    }

    /// The largest request body accepted, in bytes; a larger one is answered `413`.
    pub fn max_body_bytes(self, bytes: usize) -> Self {
        self.with(|c| c.max_body_bytes = bytes)
    }

    /// The most calls one batch may hold; a larger batch is answered with one
    /// `-32600 Invalid Request`.
    pub fn max_batch_len(self, calls: usize) -> Self {
        self.with(|c| c.max_batch_len = calls)
    }

    /// Runs `check` before every call (notifications and built-in methods included) with the
    /// method's name, the request's [`RequestContext`] in scope; an `Err` is sent back instead
    /// of running the call.
    pub fn authorize(
        self,
        check: impl Fn(&str) -> Result<(), ErrorObject> + Send + Sync + 'static,
    ) -> Self {
        self.with(|c| c.authorize = Some(Arc::new(check)))
    }

    /// Whether `rpc.discover` answers with the service's OpenRPC document (default: on).
    pub fn discover(self, on: bool) -> Self {
        self.with(|c| c.discover = on)
    }

    /// The API version the OpenRPC document states (default `0.0.0`).
    pub fn api_version(self, version: impl Into<String>) -> Self {
        let version = version.into();
        self.with(|c| {
            c.api_version = version;
            c.openrpc = OnceLock::new();
        })
    }

    /// Whether `system.listMethods`, `system.methodHelp` and `system.methodSignature` answer,
    /// as on an XML-RPC server (default: off).
    pub fn introspection(self, on: bool) -> Self {
        self.with(|c| c.introspection = on)
    }

    /// Whether a `GET` on the route serves the explorer: one self-contained HTML page that
    /// lists the methods with their docs and schemas and makes calls (default: off). It reads
    /// the methods through `rpc.discover`, which it turns on.
    pub fn explorer(self, on: bool) -> Self {
        self.with(|c| {
            c.explorer = on;
            c.discover |= on;
        })
    }

    /// Handles one HTTP request: the whole endpoint, for use outside a `Router` too.
    pub async fn handle(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        if parts.method == Method::GET && self.config.explorer {
            return explorer::page();
        }
        if parts.method != Method::POST {
            let allow = if self.config.explorer {
                "GET, POST"
            } else {
                "POST"
            };
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, allow)],
                "JSON-RPC requests are sent with POST",
            )
                .into_response();
        }
        if !is_json(parts.headers.get(header::CONTENT_TYPE)) {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "JSON-RPC requests are sent with `Content-Type: application/json`",
            )
                .into_response();
        }
        let limit = self.config.max_body_bytes;
        let body: Bytes = match axum::body::to_bytes(body, limit).await {
            Ok(body) => body,
            Err(_) => {
                let msg =
                    format!("the request body is larger than {limit} bytes, or could not be read");
                return (StatusCode::PAYLOAD_TOO_LARGE, msg).into_response();
            }
        };
        let answer =
            RequestContext::scope(parts, dispatch::handle(&*self.service, &self.config, &body))
                .await;
        match answer {
            Some(json) => {
                let mut response = Response::new(Body::from(json));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            None => StatusCode::OK.into_response(),
        }
    }

    /// The endpoint as a method router, to mount with `Router::route` at any path, in a
    /// `Router` with any state.
    pub fn into_method_router<St>(self) -> MethodRouter<St>
    where
        St: Clone + Send + Sync + 'static,
    {
        any(move |request: Request| {
            let this = self.clone();
            async move { this.handle(request).await }
        })
    }

    /// The endpoint as a `Router` answering at `/`, to `nest` or `merge` into an application.
    pub fn into_router<St>(self) -> axum::Router<St>
    where
        St: Clone + Send + Sync + 'static,
    {
        axum::Router::new().route("/", self.into_method_router())
    }
}

/// A router serving `service` at `/`, with default settings: the shortest way from a trait
/// implementation to an app.
///
/// ```
/// # use rpc_core::rpc;
/// # #[rpc(server)] pub trait Ping { async fn ping(&self) -> String; }
/// # struct P; impl Ping for P { async fn ping(&self) -> String { "pong".into() } }
/// let app: axum::Router = axum::Router::new().nest("/rpc", rpc_server::router(PingServer(P)));
/// ```
pub fn router<S: Service, St>(service: S) -> axum::Router<St>
where
    St: Clone + Send + Sync + 'static,
{
    RpcService::new(service).into_router()
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    [
        "application/json",
        "application/json-rpc",
        "application/jsonrequest",
    ]
    .iter()
    .any(|t| essence.eq_ignore_ascii_case(t))
}
