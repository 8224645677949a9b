//! From an HTTP request on the route to its answer: `POST` calls, the explorer on `GET`, and
//! WebSocket upgrades.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rpc_core::Service;

use crate::budget::HeldBytes;
use crate::call::{Lent, Network, Transport};
use crate::hosts::{LocalAddr, clipped};
use crate::middleware::Calls;
use crate::{RequestContext, RpcService, connection, dispatch, explorer, serve, ws};

impl<S: Service, M: Calls> RpcService<S, M> {
    /// Handles one HTTP request: the whole endpoint, for use outside a `Router` too.
    pub fn handle(&self, request: Request) -> impl Future<Output = Response> + Send + '_ {
        Self::answer_http(self, request)
    }

    /// Answers one request, `this` being the endpoint or what owns it (the route's `Arc`).
    /// Not an `async fn`, which would keep its arguments twice in the future; nor does it await
    /// its future inside another `async` block, which would keep them a third time.
    fn answer_http<T>(this: T, request: Request) -> impl Future<Output = Response> + Send
    where
        T: std::ops::Deref<Target = Self> + Send,
    {
        // The request's head behind the `Arc` its calls' context shares anyway, taken before
        // the future: the future the HTTP server boxes per request then holds neither the
        // request (240 bytes) nor its head (224) by value, only their pointers, which keeps it
        // small enough for the allocator's fast path.
        let (parts, body) = request.into_parts();
        let parts = Arc::new(parts);
        // Only what needs the service is generic here: the checks before the body and the
        // answer's making are plain functions, compiled once, in this crate.
        async move {
            let this = &*this;
            match before_body(&this.config, &parts) {
                Before::Call => {}
                Before::Upgrade => return this.upgrade(parts).await,
                Before::Answer(response) => return response,
            }
            let limit = this.config.max_body_bytes;
            let body: Bytes = match axum::body::to_bytes(body, limit).await {
                Ok(body) => body,
                Err(e) => return body_error(e, limit),
            };
            let lent = Lent {
                config: &this.config,
                // Over HTTP there is no connection to push to.
                push: None,
                transport: Transport::http(Network::of(&parts.extensions)),
                peer: parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0),
            };
            let endpoint = dispatch::Endpoint {
                service: &*this.service,
                stack: &*this.stack,
                lent: &lent,
            };
            // The calls' future in a box of its own: its size is the service's (its methods'
            // futures), and apart from it the future the HTTP server boxes per request stays
            // a few hundred bytes whatever the service. Two allocations under the allocator's
            // fast-path size (1,032 bytes in glibc) cost a fraction of one over it, which takes
            // the slow path every request (for the bench's service, 1,112 bytes in one: 4%
            // more instructions per call).
            let calls = Box::pin(dispatch::handle(endpoint, &body));
            let answer = RequestContext::scope_shared(parts, calls).await;
            answered(&this.config, answer)
        }
    }

    /// Answers a WebSocket handshake and serves the connection ([`upgrade`]).
    fn upgrade(&self, parts: Arc<axum::http::request::Parts>) -> Upgrading {
        let answering: Arc<dyn connection::Answering> = Arc::new(connection::Answerer {
            service: self.service.clone(),
            stack: self.stack.clone(),
        });
        upgrade(parts, answering, self.config.clone())
    }
}

/// A WebSocket handshake's answer in the making.
type Upgrading = std::pin::Pin<Box<dyn Future<Output = Response> + Send>>;

/// Answers a WebSocket handshake and serves the connection with `answering`. Neither generic
/// over the service (it is reached as `dyn Answering`) nor an opaque future (boxed here): the
/// handshake's code, axum's and tungstenite's included, is compiled once, in this crate, not in
/// every crate that serves a trait. One allocation per handshake.
fn upgrade(
    parts: Arc<axum::http::request::Parts>,
    answering: Arc<dyn connection::Answering>,
    config: Arc<crate::config::Config>,
) -> Upgrading {
    Box::pin(upgrading(parts, answering, config))
}

async fn upgrading(
    mut parts: Arc<axum::http::request::Parts>,
    answering: Arc<dyn connection::Answering>,
    config: Arc<crate::config::Config>,
) -> Response {
    use axum::extract::FromRequestParts as _;
    if !origin_allowed(&parts.headers, &config.websocket_origins) {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .map(|o| o.to_str().unwrap_or("(not text)"));
        let origin = origin.map(|o| clipped(o, 128));
        if crate::observe::loud() {
            tracing::warn!(
                origin,
                "a WebSocket handshake from another site's page is refused"
            );
        } else {
            tracing::debug!(
                origin,
                "a WebSocket handshake from another site's page is refused"
            );
        }
        metrics::counter!("rpc.server.websocket.refused", "reason" => "origin").increment(1);
        return (
            StatusCode::FORBIDDEN,
            "WebSocket connections from this origin are not allowed",
        )
            .into_response();
    }
    // The head is still this request's alone here: nothing has shared its `Arc` yet.
    let Some(head) = Arc::get_mut(&mut parts) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let upgrade = match axum::extract::ws::WebSocketUpgrade::from_request_parts(head, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let limit = config.max_body_bytes;
    let serving = parts.extensions.get::<serve::Upgrade>().cloned();
    let transport = Transport::websocket(Network::of(&parts.extensions));
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        // tungstenite allocates its read buffer whole per connection (128 KiB by default):
        // 8 KiB takes a socket's heap from 148 KB to 25 KB (--bench pubsub); a larger
        // message is gathered across reads as before.
        .read_buffer_size(8 * 1024)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "a websocket upgrade failed"))
        .on_upgrade(move |socket| {
            ws::serve(
                socket,
                connection::Opened {
                    transport,
                    answering,
                    config,
                    parts,
                    upgrade: serving,
                },
            )
        })
}

/// HTTP answers from this size on count against the endpoint's outbound budget.
const HELD_ANSWER_BYTES: usize = 16 * 1024;

/// What an HTTP request is, from its head.
enum Before {
    /// A call: its body is to be read.
    Call,
    /// A WebSocket handshake.
    Upgrade,
    /// Answered already (refused, or the explorer's page).
    Answer(Response),
}

/// Checks a request's head before its body is touched: its host, its method (a WebSocket
/// handshake, the explorer's page), its content type and its declared length.
fn before_body(config: &crate::config::Config, parts: &axum::http::request::Parts) -> Before {
    let local = parts.extensions.get::<LocalAddr>().map(|l| l.0);
    let named = Named::of(&parts.headers);
    if !config.hosts.allow(named.host, local) {
        let host = named.host.and_then(|h| h.to_str().ok());
        tracing::debug!(
            host = host.map(|h| clipped(h, 128)),
            "a request naming a host the endpoint does not serve is refused"
        );
        metrics::counter!("rpc.server.refused", "reason" => "host").increment(1);
        return Before::Answer(
            (
                StatusCode::FORBIDDEN,
                "this host name is not served here (see RpcService::allowed_hosts)",
            )
                .into_response(),
        );
    }
    if parts.method == Method::GET && config.websocket_on && wants_websocket(&parts.headers) {
        return Before::Upgrade;
    }
    // `HEAD` is `GET` without the body, which the HTTP server leaves out.
    if matches!(parts.method, Method::GET | Method::HEAD) && config.explorer {
        return Before::Answer(explorer::page());
    }
    if parts.method != Method::POST {
        let allow = if config.explorer {
            "GET, HEAD, POST"
        } else {
            "POST"
        };
        return Before::Answer(
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, allow)],
                "JSON-RPC requests are sent with POST",
            )
                .into_response(),
        );
    }
    if !is_json(named.content_type) {
        return Before::Answer(
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "JSON-RPC requests are sent with `Content-Type: application/json`",
            )
                .into_response(),
        );
    }
    // Refused before the body is touched: the HTTP server sends `100 Continue` only once the
    // body is polled, so a client that asked for it sends nothing.
    let limit = config.max_body_bytes;
    if named
        .content_length
        .and_then(|v| declared_length(v.as_bytes()))
        > Some(limit as u64)
    {
        return Before::Answer(too_large(limit));
    }
    Before::Call
}

/// The headers the checks before the body read, each the first of its name (as
/// `HeaderMap::get` gives it), found in one pass: a request has a handful of headers (hyper
/// takes at most 100), and looking each of these up on its own hashes its name every time.
#[derive(Default)]
struct Named<'a> {
    host: Option<&'a HeaderValue>,
    content_type: Option<&'a HeaderValue>,
    content_length: Option<&'a HeaderValue>,
}

impl<'a> Named<'a> {
    fn of(headers: &'a axum::http::HeaderMap) -> Self {
        let mut named = Named::default();
        for (name, value) in headers {
            let slot = if name == header::HOST {
                &mut named.host
            } else if name == header::CONTENT_TYPE {
                &mut named.content_type
            } else if name == header::CONTENT_LENGTH {
                &mut named.content_length
            } else {
                continue;
            };
            slot.get_or_insert(value);
        }
        named
    }
}

/// A `Content-Length` value's number: digits only, as the HTTP server has checked already.
fn declared_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// `413` for a body over `limit` bytes.
fn too_large(limit: usize) -> Response {
    let msg = format!("the request body is larger than {limit} bytes");
    // The rest of the body is never read, so the connection cannot carry another request.
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONNECTION, "close")],
        msg,
    )
        .into_response()
}

/// The HTTP answer to a request's calls: their JSON, or `200` with no body for notifications.
fn answered(config: &crate::config::Config, answer: Option<Vec<u8>>) -> Response {
    let Some(json) = answer else {
        return StatusCode::OK.into_response();
    };
    // A large answer counts against the outbound budget until the HTTP server has written it.
    // A small one goes into the socket's buffer with the head at once: counting it would cost
    // every call an allocation and bound nothing.
    let body = if json.len() >= HELD_ANSWER_BYTES {
        let held = config.outbound.hold(json.len());
        Body::from(Bytes::from_owner(HeldBytes {
            bytes: json,
            _held: held,
        }))
    } else {
        Body::from(json)
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The answer to a body that could not be read: `413` over the limit, `408` when it stalled
/// (see [`serve`]), `400` for broken framing (a bad chunk size, a connection closed early).
fn body_error(e: axum::Error, limit: usize) -> Response {
    let e = e.into_inner();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return too_large(limit);
        }
        if c.is::<serve::BodyShed>() {
            let msg = "the server is receiving too much; try again later";
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONNECTION, "close"), (header::RETRY_AFTER, "1")],
                msg,
            )
                .into_response();
        }
        if c.is::<serve::BodyTimedOut>() {
            let msg = "the request body stalled or took too long";
            return (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                msg,
            )
                .into_response();
        }
        cause = c.source();
    }
    let msg = "the request body could not be read: its framing is malformed";
    (
        StatusCode::BAD_REQUEST,
        [(header::CONNECTION, "close")],
        msg,
    )
        .into_response()
}

/// Whether a WebSocket handshake may go on: no `Origin` (not a browser), the endpoint's own
/// origin, or one of `allowed`.
fn origin_allowed(headers: &axum::http::HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Whether a request asks to upgrade to a WebSocket.
fn wants_websocket(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    // What nearly every client sends, told at once.
    if content_type.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json")) {
        return true;
    }
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

/// The endpoint as the route's service ([`RpcService::into_method_router`]): a tower service
/// rather than a handler function, because axum's handler functions hold the request in the
/// future it boxes for each one, beside the future the function returns.
pub(crate) struct Route<S, M>(pub(crate) Arc<RpcService<S, M>>);

impl<S, M> Clone for Route<S, M> {
    fn clone(&self) -> Self {
        Route(self.0.clone())
    }
}

impl<S: Service, M: Calls> tower::Service<Request> for Route<S, M> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        use futures_util::FutureExt as _;
        RpcService::answer_http(self.0.clone(), request)
            .map(Ok)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::{Named, declared_length, is_json};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn the_named_headers_are_the_first_of_their_names() {
        let mut headers = HeaderMap::new();
        headers.insert("x-other", HeaderValue::from_static("1"));
        headers.append(header::HOST, HeaderValue::from_static("first"));
        headers.append(header::HOST, HeaderValue::from_static("second"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        let named = Named::of(&headers);
        assert_eq!(named.host, headers.get(header::HOST));
        assert_eq!(named.host.unwrap(), "first");
        assert_eq!(named.content_length.unwrap(), "12");
        assert_eq!(named.content_type, None);
    }

    #[test]
    fn a_declared_length_is_digits_only() {
        assert_eq!(declared_length(b"0"), Some(0));
        assert_eq!(declared_length(b"1048577"), Some(1_048_577));
        assert_eq!(declared_length(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+5",
            b"-1",
            b"1 ",
            b"0x10",
        ] {
            assert_eq!(declared_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn json_content_types_in_any_case_with_parameters() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json-rpc ",
            "application/jsonrequest",
        ] {
            assert!(is_json(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for refused in ["text/plain", "application/jsonx", "application/json+x"] {
            assert!(
                !is_json(Some(&HeaderValue::from_static(refused))),
                "{refused}"
            );
        }
        assert!(!is_json(None));
    }
}
