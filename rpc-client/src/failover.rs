//! One client over several endpoints of the same service: calls take the healthy ones in turn,
//! and each endpoint sits behind a circuit breaker that sets it aside after a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rpc_core::{EndpointFailure, Error};

use crate::measure;

/// How a [`Client`](crate::Client) over several endpoints sets a failing one aside.
///
/// Calls take the healthy endpoints in turn (round robin). An endpoint whose call fails in a
/// way that says the endpoint, not the call, is at fault — a transport error, a timeout, HTTP
/// 502, 503 or 504, or the server's "busy" error — `failures` times in a row is set aside for
/// a cool-down (its circuit breaker opens). When the cool-down is over, one call is let through
/// as a probe (half-open): its success puts the endpoint back in turn, its failure sets it
/// aside again for twice as long, up to `max_cool_down`. Every change is logged (`tracing`,
/// WARN when an endpoint is set aside, INFO when it is probed or back) and counted (the
/// `rpc.client.endpoint.set_aside` and `rpc.client.endpoint.restored` metrics), and
/// [`Client::endpoints`](crate::Client::endpoints) shows each endpoint's state.
///
/// A call that fails on one endpoint moves on to another under the same rules as a
/// [`Retry`](crate::Retry): any call whose connection could not be made, and an idempotent call
/// after a failure the server may get over. The move is immediate when another endpoint is
/// ready. Without a `Retry`, each other endpoint is tried at most once; with one, every move
/// counts as a retry (its attempts, deadline and budget apply). When every endpoint is set
/// aside, the call fails with [`Error::Unavailable`], naming each with its last failure.
///
/// Over WebSockets (`ws://` or `wss://` endpoints, never mixed with HTTP ones) the unit is the
/// connection, not the call: each connection goes to the next ready endpoint, trying the
/// others in turn when its handshake fails (a transport error, a timeout, 502, 503 or 504), and
/// every call and subscription of the client shares it until it closes. With
/// [`reconnect`](crate::ClientBuilder::reconnect), a lost connection is made again on another
/// endpoint and the subscriptions carry on there.
///
/// ```
/// use std::time::Duration;
/// use rpc_client::{Client, Failover, Retry};
///
/// let client = Client::builder("http://10.0.0.1:7002/rpc")
///     .endpoints(["http://10.0.0.2:7002/rpc", "http://10.0.0.3:7002/rpc"])
///     .failover(Failover::new().cool_down(Duration::from_millis(500), Duration::from_secs(20)))
///     .retry(Retry::new(3))
///     .build()
///     .unwrap();
/// assert_eq!(client.endpoints().len(), 3);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Failover {
    cool_down: Duration,
    max_cool_down: Duration,
    failures: u32,
}

impl Default for Failover {
    fn default() -> Self {
        Failover::new()
    }
}

impl Failover {
    /// An endpoint is set aside after one failure, for 1 s doubling up to 30 s.
    pub fn new() -> Self {
        Failover {
            cool_down: Duration::from_secs(1),
            max_cool_down: Duration::from_secs(30),
            failures: 1,
        }
    }

    /// The first cool-down, and the longest one after failed probes.
    pub fn cool_down(mut self, first: Duration, max: Duration) -> Self {
        self.cool_down = first;
        self.max_cool_down = max.max(first);
        self
    }

    /// How many failures in a row set an endpoint aside (at least 1).
    pub fn failures(mut self, in_a_row: u32) -> Self {
        self.failures = in_a_row.max(1);
        self
    }
}

/// What a client knows of one of its endpoints: [`Client::endpoints`](crate::Client::endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    url: String,
    health: Health,
    last_failure: Option<String>,
}

impl EndpointStatus {
    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether calls go to it now.
    pub fn health(&self) -> Health {
        self.health
    }

    /// The last failure seen there, if any, even when it has recovered since.
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }
}

/// The state of an endpoint's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Calls go to it in turn (the breaker is closed).
    Healthy,
    /// Set aside after failing (open); a probe call goes to it after `remaining`.
    SetAside {
        /// The rest of the cool-down.
        remaining: Duration,
    },
    /// Its cool-down is over and one probe call is on its way (half-open).
    Probing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    state: State,
    failures: u32,
    cool_down: Duration,
    last_failure: Option<String>,
}

struct Endpoint {
    url: reqwest::Url,
    breaker: Mutex<Breaker>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &crate::shown(&self.url))
            .field("breaker", &self.breaker)
            .finish()
    }
}

impl Endpoint {
    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A client's endpoints and their breakers.
#[derive(Debug)]
pub(crate) struct Endpoints {
    list: Vec<Endpoint>,
    next: AtomicUsize,
    policy: Failover,
}

/// How one try on an endpoint ended, as far as its breaker is concerned.
pub(crate) enum Outcome<'e> {
    /// The endpoint answered (whatever the answer): it is up.
    Answered,
    /// The endpoint is at fault.
    Failed(&'e Error),
}

impl Endpoints {
    pub(crate) fn new(urls: Vec<reqwest::Url>, policy: Failover) -> Self {
        let list = urls
            .into_iter()
            .map(|url| Endpoint {
                url,
                breaker: Mutex::new(Breaker {
                    state: State::Closed,
                    failures: 0,
                    cool_down: policy.cool_down,
                    last_failure: None,
                }),
            })
            .collect();
        Endpoints {
            list,
            next: AtomicUsize::new(0),
            policy,
        }
    }

    pub(crate) fn url(&self, index: usize) -> &reqwest::Url {
        &self.list[index].url
    }

    pub(crate) fn urls(&self) -> impl Iterator<Item = &reqwest::Url> {
        self.list.iter().map(|e| &e.url)
    }

    /// The endpoint for the next try: the next in turn among those ready and not yet `tried`
    /// by this call, else among any ready. An endpoint whose cool-down is over becomes this
    /// call's probe. `None` when every endpoint is set aside or being probed.
    pub(crate) fn pick(&self, tried: &[usize]) -> Option<Attempt<'_>> {
        let n = self.list.len();
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        for fresh_only in [true, false] {
            let candidate = |i: usize| !(fresh_only && tried.contains(&i)) && self.ready(i, now);
            // Turns go round the ready endpoints, so that the one after a set-aside endpoint
            // does not take its share too.
            let count = (0..n).filter(|&i| candidate(i)).count();
            let Some(first) = (0..n).filter(|&i| candidate(i)).nth(turn % count.max(1)) else {
                continue;
            };
            for j in 0..n {
                let index = (first + j) % n;
                // Another call may have taken the probe meanwhile.
                if candidate(index) && self.admit(index) {
                    return Some(Attempt {
                        endpoints: self,
                        index,
                        done: false,
                    });
                }
            }
        }
        None
    }

    /// Whether endpoint `index` would take a call at `now`.
    fn ready(&self, index: usize, now: Instant) -> bool {
        match self.list[index].breaker().state {
            State::Closed => true,
            State::Open { until } => until <= now,
            State::HalfOpen => false,
        }
    }

    /// Whether a call may go to endpoint `index` now; opening a half-open probe when its
    /// cool-down is over.
    fn admit(&self, index: usize) -> bool {
        let endpoint = &self.list[index];
        let mut breaker = endpoint.breaker();
        match breaker.state {
            State::Closed => true,
            State::HalfOpen => false,
            State::Open { until } if until <= Instant::now() => {
                breaker.state = State::HalfOpen;
                tracing::info!(url = %crate::shown(&endpoint.url), "endpoint cool-down over, probing it with one call");
                true
            }
            State::Open { .. } => false,
        }
    }

    /// Whether an endpoint this call has not tried would take a call now.
    pub(crate) fn untried_ready(&self, tried: &[usize]) -> bool {
        let now = Instant::now();
        (0..self.list.len()).any(|i| !tried.contains(&i) && self.ready(i, now))
    }

    /// How long until the first set-aside endpoint may be probed.
    pub(crate) fn soonest_probe(&self) -> Option<Duration> {
        let now = Instant::now();
        self.list
            .iter()
            .filter_map(|e| match e.breaker().state {
                State::Open { until } => Some(until.saturating_duration_since(now)),
                _ => None,
            })
            .min()
    }

    /// The error when every endpoint is set aside: each with its last failure.
    pub(crate) fn unavailable(&self) -> Error {
        Error::Unavailable(
            self.list
                .iter()
                .map(|e| {
                    let breaker = e.breaker();
                    let failure = match (&breaker.last_failure, breaker.state) {
                        (Some(failure), _) => failure.clone(),
                        (None, State::HalfOpen) => "being probed".to_owned(),
                        (None, _) => "no failure seen".to_owned(),
                    };
                    EndpointFailure::new(crate::shown(&e.url), failure)
                })
                .collect(),
        )
    }

    /// `error`, the last failure of a call, unless every endpoint is now set aside: then
    /// [`Error::Unavailable`].
    pub(crate) fn final_error(&self, error: Error) -> Error {
        let any_up = self.list.iter().any(|e| e.breaker().state == State::Closed);
        if any_up { error } else { self.unavailable() }
    }

    pub(crate) fn statuses(&self) -> Vec<EndpointStatus> {
        let now = Instant::now();
        self.list
            .iter()
            .map(|e| {
                let breaker = e.breaker();
                let health = match breaker.state {
                    State::Closed => Health::Healthy,
                    State::Open { until } => Health::SetAside {
                        remaining: until.saturating_duration_since(now),
                    },
                    State::HalfOpen => Health::Probing,
                };
                EndpointStatus {
                    url: crate::shown(&e.url),
                    health,
                    last_failure: breaker.last_failure.clone(),
                }
            })
            .collect()
    }

    fn record(&self, index: usize, outcome: Option<Outcome<'_>>) {
        let endpoint = &self.list[index];
        let url = crate::shown(&endpoint.url);
        let mut breaker = endpoint.breaker();
        match outcome {
            Some(Outcome::Answered) => {
                breaker.failures = 0;
                if breaker.state != State::Closed {
                    tracing::info!(%url, "endpoint answered its probe, back in turn");
                    measure::endpoint_restored(&endpoint.url);
                    breaker.state = State::Closed;
                    breaker.cool_down = self.policy.cool_down;
                }
            }
            Some(Outcome::Failed(error)) => {
                breaker.failures = breaker.failures.saturating_add(1);
                breaker.last_failure = Some(error.to_string());
                let cool_down = match breaker.state {
                    State::HalfOpen => {
                        breaker.cool_down = breaker
                            .cool_down
                            .saturating_mul(2)
                            .min(self.policy.max_cool_down);
                        breaker.cool_down
                    }
                    State::Closed if breaker.failures >= self.policy.failures => breaker.cool_down,
                    // Still below the threshold, or already open (a call that was on its way
                    // when the breaker opened).
                    _ => return,
                };
                breaker.state = State::Open {
                    until: Instant::now() + cool_down,
                };
                tracing::warn!(
                    %url,
                    cool_down_ms = cool_down.as_millis() as u64,
                    reason = %error,
                    "endpoint set aside"
                );
                measure::endpoint_set_aside(&endpoint.url);
            }
            // The probe's caller gave up before an answer: let the next call probe.
            None => {
                if breaker.state == State::HalfOpen {
                    breaker.state = State::Open {
                        until: Instant::now(),
                    };
                }
            }
        }
    }
}

/// A try on one endpoint, which tells the endpoint's breaker how it went; one dropped before
/// (its caller gave up) frees the endpoint for another probe.
pub(crate) struct Attempt<'e> {
    endpoints: &'e Endpoints,
    pub(crate) index: usize,
    done: bool,
}

impl Attempt<'_> {
    pub(crate) fn url(&self) -> &reqwest::Url {
        self.endpoints.url(self.index)
    }

    pub(crate) fn finish(mut self, outcome: Outcome<'_>) {
        self.done = true;
        self.endpoints.record(self.index, Some(outcome));
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.endpoints.record(self.index, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(n: usize, policy: Failover) -> Endpoints {
        let urls = (0..n)
            .map(|i| reqwest::Url::parse(&format!("http://127.0.0.1:{}/", 1000 + i)).unwrap())
            .collect();
        Endpoints::new(urls, policy)
    }

    #[test]
    fn healthy_endpoints_take_turns_and_a_failed_one_is_skipped() {
        let pool = endpoints(3, Failover::new());
        let picked: Vec<_> = (0..6).map(|_| pool.pick(&[]).unwrap().index).collect();
        assert_eq!(picked, [0, 1, 2, 0, 1, 2]);
        let down = Error::Timeout;
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down)); // endpoint 0
        let picked: Vec<_> = (0..4).map(|_| pool.pick(&[]).unwrap().index).collect();
        assert!(!picked.contains(&0), "{picked:?}");
        assert!(matches!(
            pool.statuses()[0].health(),
            Health::SetAside { .. }
        ));
        // A call avoids the endpoints it has tried while others are up.
        assert_eq!(pool.pick(&[1]).unwrap().index, 2);
    }

    #[test]
    fn a_probe_after_the_cool_down_closes_or_reopens_with_a_longer_cool_down() {
        let pool = endpoints(1, Failover::new().cool_down(Duration::ZERO, Duration::ZERO));
        let down = Error::Timeout;
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
        let probe = pool.pick(&[]).unwrap();
        assert_eq!(pool.statuses()[0].health(), Health::Probing);
        // One probe at a time.
        assert!(pool.pick(&[]).is_none());
        // A probe whose caller gave up frees the endpoint for another.
        drop(probe);
        let probe = pool.pick(&[]).unwrap();
        probe.finish(Outcome::Answered);
        assert_eq!(pool.statuses()[0].health(), Health::Healthy);

        let pool = endpoints(
            1,
            Failover::new().cool_down(Duration::from_secs(1), Duration::from_secs(3)),
        );
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
        for expected in [2, 3, 3] {
            pool.list[0].breaker().state = State::Open {
                until: Instant::now(),
            };
            pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
            assert_eq!(pool.list[0].breaker().cool_down.as_secs(), expected);
        }
        let Error::Unavailable(all) = pool.final_error(Error::Timeout) else {
            panic!("every endpoint is set aside")
        };
        assert_eq!(all[0].failure, "request timed out");
    }

    #[test]
    fn the_threshold_counts_failures_in_a_row() {
        let pool = endpoints(1, Failover::new().failures(2));
        let down = Error::Timeout;
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
        pool.pick(&[]).unwrap().finish(Outcome::Answered);
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
        assert_eq!(pool.statuses()[0].health(), Health::Healthy);
        pool.pick(&[]).unwrap().finish(Outcome::Failed(&down));
        assert!(pool.pick(&[]).is_none());
    }
}
