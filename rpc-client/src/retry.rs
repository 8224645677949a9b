//! Trying a call again after a failure: when it is safe, how long to wait, and how many
//! retries the client may spend.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::failure::Failure;
use crate::measure::{self, Refused};

/// When and how a [`Client`](crate::Client) tries a call again.
///
/// A call whose connection could not be made never reached the server, so it is tried again
/// whatever the method. A call that may have reached the server is tried again only when its
/// method is idempotent (`#[rpc(idempotent)]`; [`Method::idempotent`](crate::Method::idempotent)
/// for untyped calls) and the failure says the server may answer later: a transport error, a
/// timeout, HTTP 429, 502, 503 or 504, or the server's "busy" error (`-32005`). A batch is
/// tried again whole only when every call in it is idempotent.
///
/// Waits grow exponentially from `backoff` up to `max_backoff`, each drawn at random from zero to
/// that bound ("full jitter", so that many clients do not retry in step), or as long as a
/// `Retry-After` header asks (in seconds or as an HTTP date, up to an hour); no retry starts after `deadline` from the call's start. A budget
/// caps retries at `budget` of the calls made (10% by default, plus 10 to start with), so that
/// when a server is down retries do not multiply its load. Each retry is logged at DEBUG with
/// its reason.
///
/// ```
/// use std::time::Duration;
/// use rpc_client::{Client, Retry};
///
/// let client = Client::builder("http://127.0.0.1:8080/rpc")
///     .retry(
///         Retry::new(4)
///             .backoff(Duration::from_millis(50), Duration::from_secs(2))
///             .deadline(Duration::from_secs(10))
///             .budget(0.2),
///     )
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) deadline: Duration,
    pub(crate) budget: f64,
}

impl Retry {
    /// Up to `attempts` retries after the first try, waiting 100 ms doubling up to 5 s, within
    /// 30 s of the call's start, and at most 10% of calls retried.
    pub fn new(attempts: u32) -> Self {
        Retry {
            attempts,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
            budget: 0.1,
        }
    }

    /// The first wait's bound, and the most any wait may be.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// No retry starts later than this after the call's start.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The share of calls that may be retried, between 0 and 1 (10 retries are allowed before
    /// any call is made).
    pub fn budget(mut self, share: f64) -> Self {
        self.budget = share.clamp(0.0, 1.0);
        self
    }
}

/// A client's retry state: its policy, its budget of retries, and its source of jitter.
#[derive(Debug)]
pub(crate) struct Retrier {
    pub(crate) policy: Retry,
    tokens: Mutex<f64>,
    seed: AtomicU64,
}

/// Retries allowed before any call has been made.
const INITIAL_TOKENS: f64 = 10.0;

impl Retrier {
    pub(crate) fn new(policy: Retry) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Retrier {
            policy,
            tokens: Mutex::new(INITIAL_TOKENS),
            seed: AtomicU64::new(nanos | 1),
        }
    }

    /// A call starts: it earns the budget its share of a retry.
    pub(crate) fn deposit(&self) {
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *tokens =
            (*tokens + self.policy.budget).min(INITIAL_TOKENS.max(100.0 * self.policy.budget));
    }

    /// Whether try number `attempt` (1 for the first retry) may go ahead after `failure` of a
    /// call `idempotent` or not that started at `started`, and how long to wait first.
    pub(crate) fn next(
        &self,
        attempt: u32,
        failure: Failure,
        idempotent: bool,
        retry_after: Option<Duration>,
        started: Instant,
    ) -> Option<Duration> {
        let refuse = |why| {
            measure::retry_refused(why);
            None
        };
        if failure == Failure::MaySucceedLater && !idempotent {
            return refuse(Refused::NotIdempotent);
        }
        if attempt > self.policy.attempts {
            return refuse(Refused::Attempts);
        }
        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
        if started.elapsed() + wait > self.policy.deadline {
            return refuse(Refused::Deadline);
        }
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *tokens < 1.0 {
            return refuse(Refused::Budget);
        }
        *tokens -= 1.0;
        Some(wait)
    }

    /// The wait before try number `attempt` (1 for the first retry): at random up to a bound
    /// that doubles from the policy's first backoff to its maximum.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .policy
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.policy.max_backoff);
        bound.mul_f64(self.random())
    }

    /// A number in [0, 1): xorshift, enough to spread retries apart.
    fn random(&self) -> f64 {
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The longest wait a `Retry-After` header is taken at: a server asking for more is asked
/// again after an hour (and the policy's deadline usually ends the call long before).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The wait a `Retry-After` header asks for: a number of seconds, or an HTTP date (a date
/// already past asks for no wait). A value that is neither is ignored, and the backoff applies.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds.min(MAX_RETRY_AFTER.as_secs())),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(value: &str) -> Option<Duration> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        retry_after(&headers)
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(asked("7"), Some(Duration::from_secs(7)));
        assert_eq!(asked(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(asked("999999999"), Some(MAX_RETRY_AFTER));
        let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(61);
        let wait = asked(&httpdate::fmt_http_date(in_a_minute)).unwrap();
        assert!(
            (Duration::from_secs(59)..=Duration::from_secs(61)).contains(&wait),
            "{wait:?}"
        );
        assert_eq!(asked("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let next_year = std::time::SystemTime::now() + Duration::from_secs(366 * 86400);
        assert_eq!(
            asked(&httpdate::fmt_http_date(next_year)),
            Some(MAX_RETRY_AFTER)
        );
        for nonsense in ["-1", "soon", "1.5", "", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(asked(nonsense), None, "{nonsense:?}");
        }
    }

    #[test]
    fn waits_grow_within_their_bounds_and_stop_at_the_limits() {
        let retrier = Retrier::new(
            Retry::new(3)
                .backoff(Duration::from_millis(100), Duration::from_millis(250))
                .deadline(Duration::from_secs(60)),
        );
        let now = Instant::now();
        for (attempt, bound) in [(1, 100), (2, 200), (3, 250)] {
            let wait = retrier
                .next(attempt, Failure::MaySucceedLater, true, None, now)
                .unwrap();
            assert!(wait <= Duration::from_millis(bound), "{attempt}: {wait:?}");
        }
        assert_eq!(
            retrier.next(4, Failure::MaySucceedLater, true, None, now),
            None
        );
        // A call that may have been run is not repeated unless it is idempotent.
        assert_eq!(
            retrier.next(1, Failure::MaySucceedLater, false, None, now),
            None
        );
        assert!(
            retrier
                .next(1, Failure::NotSent, false, None, now)
                .is_some()
        );
        // Retry-After wins over the backoff, within the deadline.
        let asked = Duration::from_secs(2);
        assert_eq!(
            retrier.next(1, Failure::NotSent, true, Some(asked), now),
            Some(asked)
        );
        assert_eq!(
            retrier.next(
                1,
                Failure::NotSent,
                true,
                Some(Duration::from_secs(90)),
                now
            ),
            None
        );
    }

    #[test]
    fn the_budget_caps_retries_at_their_share_of_calls() {
        let retrier = Retrier::new(Retry::new(1).budget(0.1));
        let now = Instant::now();
        let mut retried = 0;
        for _ in 0..1000 {
            retrier.deposit();
            if retrier.next(1, Failure::NotSent, true, None, now).is_some() {
                retried += 1;
            }
        }
        // 10 to start with, then one per ten calls.
        assert!((105..=111).contains(&retried), "{retried}");
    }
}
