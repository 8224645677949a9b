//! In-process measurements: a server's handler called through `tower::ServiceExt::oneshot` with
//! a prebuilt request, on this thread, with the counting allocator reading this thread's
//! allocations. Only the server's work is counted: the request (its body delivered in 64 KiB
//! chunks, as hyper hands a body over from the socket) is built before counting starts, and the
//! response body is read frame by frame without being copied.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, header};
use bench_support::{Stats, reset_peak, thread_stats};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

/// A server as a tower service answering HTTP requests, as axum's `Router` and jsonrpsee's
/// tower service both are.
pub(crate) trait Handler<B>:
    Service<Request<Body>, Response = Response<B>, Error: std::fmt::Debug> + Clone
{
}

impl<S, B> Handler<B> for S where
    S: Service<Request<Body>, Response = Response<B>, Error: std::fmt::Debug> + Clone
{
}

/// The body of a [`Handler`]'s response.
pub(crate) trait ResponseBody:
    http_body::Body<Data = Bytes, Error: std::fmt::Debug> + Unpin
{
}

impl<B> ResponseBody for B where B: http_body::Body<Data = Bytes, Error: std::fmt::Debug> + Unpin {}

/// A request body delivered in chunks, with its exact size known (as hyper's `Incoming` with a
/// `Content-Length`).
struct Chunks {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.chunks.pop_front() {
            Some(chunk) => {
                self.remaining -= chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

const CHUNK: usize = 64 * 1024;

/// A POST of `body` to `path`, built outside any measurement.
pub(crate) fn request(path: &str, body: &Bytes) -> Request<Body> {
    let mut chunks = VecDeque::with_capacity(body.len().div_ceil(CHUNK));
    let mut at = 0;
    while at < body.len() {
        let end = (at + CHUNK).min(body.len());
        chunks.push_back(body.slice(at..end));
        at = end;
    }
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::new(Chunks {
            chunks,
            remaining: body.len() as u64,
        }))
        .expect("a valid request")
}

/// Calls `svc` once with `req` and reads the whole response body; returns the status and the
/// body's length.
pub(crate) async fn call<S, B>(svc: &S, req: Request<Body>) -> (u16, usize)
where
    S: Handler<B>,
    B: ResponseBody,
{
    let response = svc.clone().oneshot(req).await.expect("the service answers");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut len = 0;
    while !body.is_end_stream() {
        match body.frame().await {
            Some(frame) => {
                if let Ok(data) = frame.expect("the body reads").into_data() {
                    len += data.len();
                }
            }
            None => break,
        }
    }
    (status, len)
}

/// Calls `svc` with a body and returns the response body's text (for checks, not measured).
pub(crate) async fn call_text<S, B>(svc: &S, path: &str, body: &Bytes) -> (u16, String)
where
    S: Handler<B>,
    B: ResponseBody,
{
    let response = svc
        .clone()
        .oneshot(request(path, body))
        .await
        .expect("the service answers");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body reads")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Allocation figures for one kind of call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Allocs {
    /// Allocator calls (allocations + reallocations) per call.
    pub(crate) calls: f64,
    /// The most bytes live at once during one call, above what was live before it.
    pub(crate) peak: f64,
}

/// Runs `n` calls of `path` with `body` through `svc`, one after another, after `warmup` calls
/// that are not counted; counts this thread's allocations during the `n`.
pub(crate) async fn measure<S, B>(
    svc: &S,
    path: &str,
    body: &Bytes,
    warmup: usize,
    n: usize,
) -> Allocs
where
    S: Handler<B>,
    B: ResponseBody,
{
    for _ in 0..warmup {
        let (status, _) = call(svc, request(path, body)).await;
        assert_eq!(status, 200, "warm-up call to {path}");
    }
    let requests: Vec<_> = (0..n).map(|_| request(path, body)).collect();
    let mut worst_peak = 0i64;
    let mut total = Stats::default();
    for req in requests {
        let before = thread_stats();
        reset_peak();
        let (status, _) = call(svc, req).await;
        let after = thread_stats();
        assert_eq!(status, 200, "measured call to {path}");
        let used = after.since(&before);
        total.allocs += used.allocs;
        total.reallocs += used.reallocs;
        worst_peak = worst_peak.max(after.peak - before.live);
    }
    let n = n.max(1) as f64;
    Allocs {
        calls: total.allocator_calls() as f64 / n,
        peak: worst_peak as f64,
    }
}
