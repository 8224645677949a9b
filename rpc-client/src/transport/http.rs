//! The HTTP transport: each request a POST over reqwest's pool of keep-alive connections.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use rpc_core::Error;
use rpc_core::wire::Response;

use crate::failure::Failed;

/// How much of a non-JSON-RPC error body an [`Error::Status`] keeps.
pub(crate) const BODY_EXCERPT: usize = 512;

/// A reqwest client, and the headers to add to each request when the client is the caller's
/// (our own carries them as its defaults).
#[derive(Debug)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) headers: HeaderMap,
}

impl Http {
    /// One POST of `body` to `url`: the answer's bytes, or the failure classified. A status
    /// other than success is an error, carrying the JSON-RPC error object when the body is one.
    pub(crate) async fn send(&self, url: &reqwest::Url, body: Bytes) -> Result<Bytes, Failed> {
        let mut request = self.client.post(url.clone()).body(body);
        if !self.headers.is_empty() {
            request = request.headers(self.headers.clone());
        }
        #[cfg(feature = "opentelemetry")]
        if let Some(traceparent) = crate::trace_context::traceparent() {
            request = request.header("traceparent", traceparent);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Err(Failed::not_sent(transport_error(e))),
            Err(e) => return Err(Failed::sent(transport_error(e))),
        };
        let status = response.status();
        let retry_after = crate::retry::retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failed::sent(transport_error(e)))?;
        if status.is_success() {
            return Ok(bytes);
        }
        // Some servers send a JSON-RPC error with a 4xx/5xx status: that answer is the more
        // precise one, though the status decides whether another try may fare better.
        let status_error = || Error::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_EXCERPT)])
                .trim()
                .to_owned(),
        };
        let failed = Failed::sent(status_error()).retry_after(retry_after);
        match Response::parse(&bytes) {
            Ok(Response {
                error: Some(error), ..
            }) => Err(Failed {
                error: Error::Rpc(error),
                ..failed
            }),
            _ => Err(failed),
        }
    }
}

/// A reqwest failure as the client reports it.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else if e.is_builder() {
        Error::Request(e.to_string())
    } else {
        Error::Transport(Box::new(e))
    }
}
