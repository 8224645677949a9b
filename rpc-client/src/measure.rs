//! The client's metrics, through the [`metrics`] facade: what its resilience and speed-ups did,
//! for a dashboard beside the server's. Nothing is recorded until the program installs a
//! recorder (Prometheus, say); then:
//!
//! | metric | kind | labels | counts |
//! |---|---|---|---|
//! | `rpc.client.retries` | counter | `reason` | tries made again after a failure |
//! | `rpc.client.retries.refused` | counter | `reason` | failures not tried again, and why |
//! | `rpc.client.endpoint.set_aside` | counter | `endpoint` | endpoints set aside for a cool-down |
//! | `rpc.client.endpoint.restored` | counter | `endpoint` | endpoints back in turn after a probe |
//! | `rpc.client.websocket.reconnects` | counter | `outcome` | reconnect attempts over `ws://` |
//! | `rpc.client.subscriptions.resubscribed` | counter | | subscriptions restored by a reconnect |
//! | `rpc.client.subscriptions.lost` | counter | `reason` | subscriptions ended by the client's side |
//! | `rpc.client.batch.calls` | histogram | | calls in each request [`AutoBatch`](crate::AutoBatch) sends |
//!
//! Every label takes a fixed set of values, except `endpoint`, whose values are the client's
//! own configured endpoints (scheme, host, port and path: never a user name or password).

use rpc_core::Error;

/// Why a failed try was tried again: the kind of its failure.
pub(crate) fn retry(error: &Error) {
    metrics::counter!("rpc.client.retries", "reason" => kind(error)).increment(1);
}

/// Why a failed try was not tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The policy's number of attempts is spent.
    Attempts,
    /// The next try would start after the policy's deadline.
    Deadline,
    /// The request may have reached the server, and the method is not idempotent.
    NotIdempotent,
    /// The client's retry budget is spent: most calls are failing.
    Budget,
}

pub(crate) fn retry_refused(why: Refused) {
    let reason = match why {
        Refused::Attempts => "attempts",
        Refused::Deadline => "deadline",
        Refused::NotIdempotent => "not_idempotent",
        Refused::Budget => "budget",
    };
    metrics::counter!("rpc.client.retries.refused", "reason" => reason).increment(1);
}

pub(crate) fn endpoint_set_aside(url: &reqwest::Url) {
    metrics::counter!("rpc.client.endpoint.set_aside", "endpoint" => endpoint(url)).increment(1);
}

pub(crate) fn endpoint_restored(url: &reqwest::Url) {
    metrics::counter!("rpc.client.endpoint.restored", "endpoint" => endpoint(url)).increment(1);
}

/// A reconnect attempt: `"connected"` or `"failed"`, or `"gave_up"` once the policy is spent.
pub(crate) fn reconnect(outcome: &'static str) {
    metrics::counter!("rpc.client.websocket.reconnects", "outcome" => outcome).increment(1);
}

pub(crate) fn resubscribed(count: usize) {
    metrics::counter!("rpc.client.subscriptions.resubscribed").increment(count as u64);
}

/// A subscription the client ended: `"slow_consumer"` (its buffer was full) or
/// `"connection_lost"` (no reconnect, or the reconnect gave up).
pub(crate) fn subscriptions_lost(reason: &'static str, count: usize) {
    metrics::counter!("rpc.client.subscriptions.lost", "reason" => reason).increment(count as u64);
}

/// A request or notification from the server found every served slot taken: a request was
/// answered busy, a notification dropped.
pub(crate) fn served_refused() {
    metrics::counter!("rpc.client.served.refused").increment(1);
}

/// A call whose caller gave up before its answer came was cancelled at the server.
pub(crate) fn cancelled() {
    metrics::counter!("rpc.client.calls.cancelled").increment(1);
}

pub(crate) fn batch_sent(calls: usize) {
    metrics::histogram!("rpc.client.batch.calls").record(calls as f64);
}

/// A failure's kind, as a label value.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::Transport(_) => "transport",
        Error::Timeout => "timeout",
        Error::Status { .. } => "status",
        Error::Rpc(_) => "busy",
        Error::Unavailable(_) => "unavailable",
        _ => "other",
    }
}

/// An endpoint as a label value: its URL without credentials, query or fragment.
fn endpoint(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_label_carries_no_credentials() {
        let url = reqwest::Url::parse("http://user:secret@10.0.0.1:8080/rpc?token=x#f").unwrap();
        assert_eq!(endpoint(&url), "http://10.0.0.1:8080/rpc");
    }
}
