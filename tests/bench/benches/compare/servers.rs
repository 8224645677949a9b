//! The four servers under test, answering the same four methods on 127.0.0.1:
//! ours (`#[rpc]` served by rpc-server on axum), jsonrpsee's HTTP server, the "floor", a
//! hand-written axum handler that does the least any JSON-RPC server must: parse the request
//! with serde, call the method, write the response with serde; and the "strict floor", the same
//! with nothing owned: the request read with borrowed strings and a borrowed `&RawValue` id,
//! the response written straight into one buffer. And the two clients compared.

use std::net::SocketAddr;
use std::ops::{Index, IndexMut};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jsonrpsee::core::RpcResult;
use rpc_core::rpc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Floor,
    Strict,
    Ours,
    Jsonrpsee,
}

/// The servers, in the order they take turns and the tables list them.
pub(crate) const SERVERS: [Server; 4] = [
    Server::Floor,
    Server::Strict,
    Server::Ours,
    Server::Jsonrpsee,
];

impl Server {
    /// The name the report gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Floor => "floor (axum + serde)",
            Server::Strict => "strict floor (axum + borrowed serde)",
            Server::Ours => "ours (#[rpc] + rpc-server)",
            Server::Jsonrpsee => "jsonrpsee 0.26 server",
        }
    }

    /// The server a command-line word names.
    pub(crate) fn from_key(key: &str) -> Option<Server> {
        match key {
            "floor" => Some(Server::Floor),
            "strict" => Some(Server::Strict),
            "ours" => Some(Server::Ours),
            "jsonrpsee" => Some(Server::Jsonrpsee),
            _ => None,
        }
    }
}

/// One `T` for each server, indexed by [`Server`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PerServer<T>([T; 4]);

impl<T> PerServer<T> {
    /// Builds each server's value, in [`SERVERS`] order.
    pub(crate) fn from_fn(mut f: impl FnMut(Server) -> T) -> Self {
        PerServer(SERVERS.map(&mut f))
    }

    /// Each server's value turned into another.
    pub(crate) fn map<U>(self, mut f: impl FnMut(Server, T) -> U) -> PerServer<U> {
        let mut servers = SERVERS.into_iter();
        PerServer(
            self.0
                .map(|value| f(servers.next().expect("four servers"), value)),
        )
    }

    /// The servers with their values, in [`SERVERS`] order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Server, &T)> {
        SERVERS.into_iter().zip(&self.0)
    }
}

impl<T> Index<Server> for PerServer<T> {
    type Output = T;

    fn index(&self, server: Server) -> &T {
        &self.0[server as usize]
    }
}

impl<T> IndexMut<Server> for PerServer<T> {
    fn index_mut(&mut self, server: Server) -> &mut T {
        &mut self.0[server as usize]
    }
}

/// A client under test, calling our server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    Ours,
    Jsonrpsee,
}

impl Client {
    /// The name the report gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Client::Ours => "ours (generated BenchClient)",
            Client::Jsonrpsee => "jsonrpsee HttpClient",
        }
    }
}

/// The benchmark's service, as `#[rpc]` sees it.
#[rpc]
pub(crate) trait Bench {
    /// `a - b`.
    async fn subtract(&self, a: i64, b: i64) -> i64;
    /// `s`, unchanged.
    async fn echo(&self, s: String) -> String;
    /// Sleeps 50 ms, then answers 50.
    async fn sleep50(&self) -> u32;
    /// Does nothing; sent as a notification. (`notify` itself is the generated client's.)
    #[rpc(name = "notify")]
    async fn notify_one(&self, n: i64);
}

/// The one implementation every server calls.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Impl;

impl Bench for Impl {
    async fn subtract(&self, a: i64, b: i64) -> i64 {
        a.wrapping_sub(b)
    }

    async fn echo(&self, s: String) -> String {
        s
    }

    async fn sleep50(&self) -> u32 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        50
    }

    async fn notify_one(&self, n: i64) {
        std::hint::black_box(n);
    }
}

/// Our server: the whole app is `rpc_server::router`.
pub(crate) fn ours() -> axum::Router {
    rpc_server::router(BenchServer(Impl))
}

/// The same service for jsonrpsee, written the way its documentation shows. Sync methods where
/// the work is synchronous (its cheapest path), async for the sleep.
#[jsonrpsee::proc_macros::rpc(server, client)]
pub(crate) trait JBench {
    /// `a - b`.
    #[method(name = "subtract")]
    fn subtract(&self, a: i64, b: i64) -> RpcResult<i64>;
    /// `s`, unchanged.
    #[method(name = "echo")]
    fn echo(&self, s: String) -> RpcResult<String>;
    /// Sleeps 50 ms, then answers 50.
    #[method(name = "sleep50")]
    async fn sleep50(&self) -> RpcResult<u32>;
    /// Does nothing.
    #[method(name = "notify")]
    fn notify(&self, n: i64) -> RpcResult<()>;
}

/// jsonrpsee's implementation: each method calls [`Impl`]'s.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JImpl;

/// Runs a future that is ready at once (the synchronous methods of [`Impl`]).
fn now<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("a synchronous method returned Pending"),
    }
}

#[jsonrpsee::core::async_trait]
impl JBenchServer for JImpl {
    fn subtract(&self, a: i64, b: i64) -> RpcResult<i64> {
        Ok(now(Impl.subtract(a, b)))
    }

    fn echo(&self, s: String) -> RpcResult<String> {
        Ok(now(Impl.echo(s)))
    }

    async fn sleep50(&self) -> RpcResult<u32> {
        Ok(Impl.sleep50().await)
    }

    fn notify(&self, n: i64) -> RpcResult<()> {
        now(Impl.notify_one(n));
        Ok(())
    }
}

/// jsonrpsee's server config: its defaults, with room for the 256 concurrent callers (the
/// default allows 100 connections).
fn jsonrpsee_config() -> jsonrpsee::server::ServerConfig {
    jsonrpsee::server::ServerConfig::builder()
        .max_connections(4096)
        .build()
}

/// Starts `server` on a free port of 127.0.0.1, on the calling runtime.
pub(crate) async fn start(server: Server) -> std::io::Result<SocketAddr> {
    match server {
        Server::Floor => start_axum(floor()).await,
        Server::Strict => start_axum(strict()).await,
        Server::Ours => start_axum(ours()).await,
        Server::Jsonrpsee => start_jsonrpsee().await,
    }
}

/// jsonrpsee's HTTP server on a free port of 127.0.0.1; runs on the calling runtime until the
/// process ends.
async fn start_jsonrpsee() -> std::io::Result<SocketAddr> {
    let server = jsonrpsee::server::Server::builder()
        .set_config(jsonrpsee_config())
        .build("127.0.0.1:0")
        .await?;
    let addr = server.local_addr()?;
    let handle = server.start(JImpl.into_rpc());
    // Never stopped: the server lives as long as the benchmark.
    std::mem::forget(handle);
    Ok(addr)
}

/// jsonrpsee's server as a tower service, for in-process calls: exactly what its HTTP server
/// runs for each request, minus the socket.
pub(crate) fn jsonrpsee_service() -> impl tower::Service<
    axum::http::Request<axum::body::Body>,
    Response = axum::http::Response<jsonrpsee::server::HttpBody>,
    Error = Box<dyn std::error::Error + Send + Sync>,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    let (stop_handle, server_handle) = jsonrpsee::server::stop_channel();
    // Keep the server "running" for as long as the benchmark does.
    std::mem::forget(server_handle);
    jsonrpsee::server::Server::builder()
        .set_config(jsonrpsee_config())
        .to_service_builder()
        .build(JImpl.into_rpc(), stop_handle)
}

/// Serves an axum app on a free port of 127.0.0.1; runs on the calling runtime.
async fn start_axum(app: axum::Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("axum server stopped: {e}");
        }
    });
    Ok(addr)
}

// ---- The floor -------------------------------------------------------------------------------

/// A request as the floor reads it: plain serde, owned strings, params of the known type.
#[derive(Deserialize)]
struct Req<P> {
    jsonrpc: String,
    method: String,
    #[serde(default)]
    params: P,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// A success response as the floor writes it.
#[derive(Serialize)]
struct Resp<R> {
    jsonrpc: &'static str,
    result: R,
    id: serde_json::Value,
}

fn json(body: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn bad() -> Response {
    StatusCode::BAD_REQUEST.into_response()
}

/// Parses one request for `method`; `None` when it is not one.
fn parse<P: serde::de::DeserializeOwned + Default>(body: &[u8], method: &str) -> Option<Req<P>> {
    let req: Req<P> = serde_json::from_slice(body).ok()?;
    (req.jsonrpc == "2.0" && req.method == method).then_some(req)
}

/// Writes a response, or nothing for a notification.
fn answer<R: Serialize>(result: R, id: Option<serde_json::Value>) -> Response {
    match id {
        None => StatusCode::OK.into_response(),
        Some(id) => match serde_json::to_vec(&Resp {
            jsonrpc: "2.0",
            result,
            id,
        }) {
            Ok(body) => json(body),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

async fn floor_subtract(body: Bytes) -> Response {
    let Some(req) = parse::<(i64, i64)>(&body, "subtract") else {
        return bad();
    };
    let (a, b) = req.params;
    answer(Impl.subtract(a, b).await, req.id)
}

async fn floor_batch(body: Bytes) -> Response {
    let Ok(reqs) = serde_json::from_slice::<Vec<Req<(i64, i64)>>>(&body) else {
        return bad();
    };
    let mut out = Vec::with_capacity(reqs.len());
    for req in reqs {
        if req.jsonrpc != "2.0" || req.method != "subtract" {
            return bad();
        }
        let (a, b) = req.params;
        let result = Impl.subtract(a, b).await;
        if let Some(id) = req.id {
            out.push(Resp {
                jsonrpc: "2.0",
                result,
                id,
            });
        }
    }
    match serde_json::to_vec(&out) {
        Ok(body) => json(body),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn floor_echo(body: Bytes) -> Response {
    let Some(req) = parse::<(String,)>(&body, "echo") else {
        return bad();
    };
    let (s,) = req.params;
    answer(Impl.echo(s).await, req.id)
}

async fn floor_sleep50(body: Bytes) -> Response {
    let Some(req) = parse::<()>(&body, "sleep50") else {
        return bad();
    };
    answer(Impl.sleep50().await, req.id)
}

async fn floor_notify(body: Bytes) -> Response {
    let Some(req) = parse::<(i64,)>(&body, "notify") else {
        return bad();
    };
    let (n,) = req.params;
    Impl.notify_one(n).await;
    answer((), req.id)
}

/// The floor: one route per method, so that each handler knows its params' type up front.
pub(crate) fn floor() -> axum::Router {
    axum::Router::new()
        .route(FLOOR_SUBTRACT, post(floor_subtract))
        .route(FLOOR_BATCH, post(floor_batch))
        .route(FLOOR_ECHO, post(floor_echo))
        .route(FLOOR_SLEEP50, post(floor_sleep50))
        .route(FLOOR_NOTIFY, post(floor_notify))
}

/// The floor's routes.
pub(crate) const FLOOR_SUBTRACT: &str = "/subtract";
pub(crate) const FLOOR_BATCH: &str = "/batch";
pub(crate) const FLOOR_ECHO: &str = "/echo";
pub(crate) const FLOOR_SLEEP50: &str = "/sleep50";
pub(crate) const FLOOR_NOTIFY: &str = "/notify";

// ---- The strict floor ------------------------------------------------------------------------

/// A request as the strict floor reads it: nothing copied out of the body (the version and the
/// method borrowed, the id a borrowed `&RawValue`), the params straight into their type.
#[derive(Deserialize)]
struct StrictReq<'a, P> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    #[serde(borrow)]
    method: &'a str,
    #[serde(default)]
    params: P,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
}

/// Parses one request for `method`; `None` when it is not one (or a string in it has escapes,
/// which no workload sends).
fn strict_parse<'a, P: Deserialize<'a> + Default>(
    body: &'a [u8],
    method: &str,
) -> Option<StrictReq<'a, P>> {
    let req: StrictReq<'a, P> = serde_json::from_slice(body).ok()?;
    (req.jsonrpc == "2.0" && req.method == method).then_some(req)
}

/// Appends `{"jsonrpc":"2.0","result":…,"id":…}` to `out`.
fn strict_write<R: Serialize>(out: &mut Vec<u8>, result: &R, id: &RawValue) -> bool {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
    if serde_json::to_writer(&mut *out, result).is_err() {
        return false;
    }
    out.extend_from_slice(br#","id":"#);
    out.extend_from_slice(id.get().as_bytes());
    out.push(b'}');
    true
}

/// The response to one call, or nothing for a notification.
fn strict_answer<R: Serialize>(result: R, id: Option<&RawValue>) -> Response {
    let Some(id) = id else {
        return StatusCode::OK.into_response();
    };
    let mut out = Vec::with_capacity(64);
    if strict_write(&mut out, &result, id) {
        json(out)
    } else {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

async fn strict_subtract(body: Bytes) -> Response {
    let Some(req) = strict_parse::<(i64, i64)>(&body, "subtract") else {
        return bad();
    };
    let (a, b) = req.params;
    strict_answer(Impl.subtract(a, b).await, req.id)
}

async fn strict_batch(body: Bytes) -> Response {
    let Ok(reqs) = serde_json::from_slice::<Vec<StrictReq<'_, (i64, i64)>>>(&body) else {
        return bad();
    };
    let mut out = Vec::with_capacity(64 * reqs.len() + 2);
    out.push(b'[');
    for req in &reqs {
        if req.jsonrpc != "2.0" || req.method != "subtract" {
            return bad();
        }
        let (a, b) = req.params;
        let result = Impl.subtract(a, b).await;
        if let Some(id) = req.id {
            if out.len() > 1 {
                out.push(b',');
            }
            if !strict_write(&mut out, &result, id) {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    out.push(b']');
    json(out)
}

async fn strict_echo(body: Bytes) -> Response {
    let Some(req) = strict_parse::<(String,)>(&body, "echo") else {
        return bad();
    };
    let (s,) = req.params;
    strict_answer(Impl.echo(s).await, req.id)
}

async fn strict_sleep50(body: Bytes) -> Response {
    let Some(req) = strict_parse::<()>(&body, "sleep50") else {
        return bad();
    };
    strict_answer(Impl.sleep50().await, req.id)
}

async fn strict_notify(body: Bytes) -> Response {
    let Some(req) = strict_parse::<(i64,)>(&body, "notify") else {
        return bad();
    };
    let (n,) = req.params;
    Impl.notify_one(n).await;
    strict_answer((), req.id)
}

/// The strict floor: the floor's routes (a route per method, so no dispatch by name), with
/// nothing owned on the way in and one buffer on the way out.
pub(crate) fn strict() -> axum::Router {
    axum::Router::new()
        .route(FLOOR_SUBTRACT, post(strict_subtract))
        .route(FLOOR_BATCH, post(strict_batch))
        .route(FLOOR_ECHO, post(strict_echo))
        .route(FLOOR_SLEEP50, post(strict_sleep50))
        .route(FLOOR_NOTIFY, post(strict_notify))
}
