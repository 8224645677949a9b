//! Retry and failover, wrapped around a [`Transport`]: a failed try is sent again, after a
//! backoff or at once on another endpoint, as the client's [`Retry`](crate::Retry) and
//! [`Failover`](crate::Failover) allow. The transport knows nothing of it, and it knows of a
//! try only what [`Failed`] says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rpc_core::Error;
use rpc_core::wire::Response;

use crate::failover::{self, Endpoints};
use crate::failure::{Failed, Failure};
use crate::measure;
use crate::retry::Retrier;
use crate::transport::Transport;

/// A client's retry policy and the endpoints it fails over between, when it has either.
#[derive(Debug)]
pub(crate) struct Resilience {
    pub(crate) retry: Option<Retrier>,
    /// The endpoints a request may go to, each behind its breaker; `None` over a message
    /// connection, which picks its endpoint when it connects.
    pub(crate) endpoints: Option<Arc<Endpoints>>,
}

impl Resilience {
    /// Sends `body` through `transport` (to `url`, or to one of the endpoints), trying again as
    /// the policies allow.
    pub(crate) async fn send(
        &self,
        transport: &Transport,
        url: &reqwest::Url,
        body: Bytes,
        idempotent: bool,
    ) -> Result<Bytes, Error> {
        let retrier = self.retry.as_ref();
        let endpoints = self.endpoints.as_deref();
        if let Some(retrier) = retrier {
            retrier.deposit();
        }
        let started = Instant::now();
        let mut attempt = 0;
        // The endpoints this call has been sent to, so that a retry goes elsewhere.
        let mut tried = Vec::new();
        loop {
            let result = match endpoints {
                None => try_once(transport, url, body.clone()).await,
                Some(endpoints) => match endpoints.pick(&tried) {
                    Some(endpoint) => {
                        let result = try_once(transport, endpoint.url(), body.clone()).await;
                        tried.push(endpoint.index);
                        endpoint.finish(match &result {
                            Err(e) if e.endpoint_down => failover::Outcome::Failed(&e.error),
                            _ => failover::Outcome::Answered,
                        });
                        result
                    }
                    // Every endpoint is set aside: nothing was sent, and the first may be
                    // probed again after its cool-down.
                    None => Err(Failed {
                        endpoint_down: false,
                        ..Failed::not_sent(endpoints.unavailable())
                    }
                    .retry_after(endpoints.soonest_probe())),
                },
            };
            let (error, failure, retry_after) = match result {
                Ok(bytes) => return Ok(bytes),
                Err(Failed {
                    error,
                    failure: Some(failure),
                    retry_after,
                    ..
                }) => (error, failure, retry_after),
                Err(Failed { error, .. }) => return Err(error),
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
                url = %crate::shown(url),
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
}

/// One try: the answer, unless it is the server's "busy" error, which is a failure worth
/// another try and a sign to give the endpoint a rest.
async fn try_once(transport: &Transport, url: &reqwest::Url, body: Bytes) -> Result<Bytes, Failed> {
    let bytes = transport.send(url, body).await?;
    if !is_busy(&bytes) {
        return Ok(bytes);
    }
    let error = Response::parse(&bytes)
        .ok()
        .and_then(|r| r.error)
        .map_or_else(|| Error::Malformed("busy".into()), Error::Rpc);
    Err(Failed::sent(error))
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
