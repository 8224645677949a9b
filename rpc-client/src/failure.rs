//! One classification of a failed try, shared by everything that reacts to failures: whether
//! another try may succeed ([`Retry`](crate::Retry)), whether the endpoint rather than the call
//! is at fault ([`Failover`](crate::Failover)'s breakers, a WebSocket's choice of endpoint), and
//! what [`Error::is_retryable`] tells callers who retry on their own.

use std::time::Duration;

use rpc_core::{Error, ErrorCode};

/// Why a try failed, as far as trying again is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never left: any call may be sent again.
    NotSent,
    /// The request may have reached the server, which may answer a later try: only an
    /// idempotent call may be sent again.
    MaySucceedLater,
}

/// A failed try, classified.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: Error,
    /// `None`: no other try would fare better.
    pub(crate) failure: Option<Failure>,
    /// How long the server asked to be left alone (`Retry-After`).
    pub(crate) retry_after: Option<Duration>,
    /// Whether the endpoint, not the call, is at fault.
    pub(crate) endpoint_down: bool,
}

impl Failed {
    /// A try that failed before its request left (the connection could not be made, or the
    /// handshake was refused): worth another try of any call, unless the failure would recur
    /// (a handshake refused with 401, say).
    pub(crate) fn not_sent(error: Error) -> Self {
        Failed {
            endpoint_down: endpoint_fault(&error),
            failure: error.is_retryable().then_some(Failure::NotSent),
            error,
            retry_after: None,
        }
    }

    /// A try whose request may have reached the server.
    pub(crate) fn sent(error: Error) -> Self {
        Failed {
            endpoint_down: endpoint_fault(&error),
            failure: error.is_retryable().then_some(Failure::MaySucceedLater),
            error,
            retry_after: None,
        }
    }

    /// The same failure, with the wait the server asked for.
    pub(crate) fn retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
}

/// Whether `error` says the endpoint, not the call, is at fault: it could not be reached or
/// did not answer in time, a gateway in front of it found it down (502, 503, 504), or it said
/// it is too busy. A 429 is about the caller, not the endpoint.
pub(crate) fn endpoint_fault(error: &Error) -> bool {
    match error {
        Error::Transport(_) | Error::Timeout => true,
        Error::Status { status, .. } => matches!(status, 502..=504),
        Error::Rpc(obj) => obj.code == ErrorCode::SERVER_BUSY,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Error {
        Error::Status {
            status,
            body: String::new(),
        }
    }

    #[test]
    fn retry_and_the_breakers_read_a_failure_alike() {
        for (error, retryable, down) in [
            (Error::Timeout, true, true),
            (status(429), true, false),
            (status(500), false, false),
            (status(501), false, false),
            (status(502), true, true),
            (status(503), true, true),
            (status(504), true, true),
            (status(400), false, false),
            (Error::Request("bad".into()), false, false),
            (Error::Decode("bad".into()), false, false),
        ] {
            let failed = Failed::sent(error);
            assert_eq!(failed.error.is_retryable(), retryable, "{}", failed.error);
            assert_eq!(
                failed.failure == Some(Failure::MaySucceedLater),
                retryable,
                "{}",
                failed.error
            );
            assert_eq!(failed.endpoint_down, down, "{}", failed.error);
        }
        let refused = Failed::not_sent(Error::Transport("refused".into()));
        assert_eq!(refused.failure, Some(Failure::NotSent));
        assert!(refused.endpoint_down);
    }
}
