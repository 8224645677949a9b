//! Limits per method and per caller, as layers.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use rpc_core::{ErrorCode, ErrorObject};
use tokio::sync::Semaphore;

use super::{Call, Calls, Layer, Next, Outcome};
use crate::by_address::{ByAddress, address};

/// The code of a call refused by [`RateLimit`]: `"Rate limit exceeded"`, with
/// `{"retry_after_ms": n}` as data ([`ErrorCode::RATE_LIMITED`]).
pub const RATE_LIMITED: i64 = ErrorCode::RATE_LIMITED;

/// The code of a call refused by [`ConcurrencyLimit`], the same as the endpoint's own cap on
/// concurrent calls: `"Server busy"` ([`ErrorCode::SERVER_BUSY`]), worth retrying later.
pub const BUSY: i64 = ErrorCode::SERVER_BUSY;

/// The bucket of a method the service does not have: request data never makes a new bucket.
const OTHER: &str = "_OTHER";

fn method_key(call: &Call<'_>) -> &'static str {
    call.known_method().unwrap_or(OTHER)
}

type Keyed<K> = RateLimiter<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>;

/// A rate limit per method and caller: a token bucket (GCRA, through `governor`) of
/// `per_second` calls a second with bursts of up to `burst`. A call over the limit is refused
/// with [`RATE_LIMITED`] without running.
///
/// [`per_peer`](RateLimit::per_peer) is the one to start with: each peer address (the TCP
/// peer, which a client cannot choose; [`Call::peer_addr`])
/// has its own bucket per method, so a flooding client uses up its own and no one else's.
/// [`per_caller`](RateLimit::per_caller) keys on anything else: an authenticated user, an API
/// key. A key taken from a header such as `X-Forwarded-For` is the client's to choose, and
/// means something only behind a proxy that sets it and is the only way in; otherwise every
/// request can bring a fresh key and a fresh bucket. [`per_method`](RateLimit::per_method) is
/// one bucket per method shared by everyone: it protects the method, and one client can use
/// it all up.
///
/// The buckets a client can make are bounded: methods the service does not have share one
/// bucket; a caller key is kept as a 64-bit keyed hash, whatever its size; and at most
/// `max_callers` (default 10,000) caller keys are tracked at once: when that many are live,
/// idle ones are dropped, and if none is idle a new caller is refused.
///
/// ```
/// use rpc_server::middleware::RateLimit;
/// use rpc_server::RequestContext;
///
/// // 5 calls a second per peer address and method, bursts of 10.
/// let per_peer = RateLimit::per_peer(5, 10);
/// // 5 a second per API key and method (the key checked by an earlier layer).
/// let per_key = RateLimit::per_caller(5, 5, |_call| RequestContext::header("x-api-key"));
/// // 100 calls a second per method, everyone together.
/// let per_method = RateLimit::per_method(100, 20);
/// # let _ = (per_peer, per_key, per_method);
/// ```
pub struct RateLimit<F, K: Hash + Eq + Clone = ()> {
    quota: Quota,
    /// Calls without a caller key: one bucket per method, found by its name's address.
    methods: ByAddress<usize, Direct>,
    /// Calls with a caller key: one bucket per method (its name's address) and caller (its
    /// key's keyed hash).
    callers: Keyed<(usize, u64)>,
    key: F,
    hasher: std::collections::hash_map::RandomState,
    max_callers: usize,
    _key: std::marker::PhantomData<fn() -> K>,
}

type Direct = RateLimiter<governor::state::NotKeyed, governor::state::InMemoryState, DefaultClock>;

impl<F, K: Hash + Eq + Clone> std::fmt::Debug for RateLimit<F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("caller_buckets", &self.callers.len())
            .field("max_callers", &self.max_callers)
            .finish_non_exhaustive()
    }
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// The key of a per-method limit: no caller.
type NoCaller = fn(&Call<'_>) -> Option<()>;

impl RateLimit<NoCaller> {
    /// `per_second` calls a second for each method, bursts of up to `burst`, all callers
    /// together.
    pub fn per_method(per_second: u32, burst: u32) -> Self {
        RateLimit::new(quota(per_second, burst), |_| None)
    }
}

/// The key of a per-peer limit: the peer's IP address.
type PeerKey = fn(&Call<'_>) -> Option<std::net::IpAddr>;

impl RateLimit<PeerKey, std::net::IpAddr> {
    /// `per_second` calls a second for each peer address and method, bursts of up to `burst`.
    /// Calls whose peer the server does not know (an app not served by
    /// [`serve`](crate::serve) nor with axum's `ConnectInfo`) share one bucket per method.
    pub fn per_peer(per_second: u32, burst: u32) -> Self {
        RateLimit::new(quota(per_second, burst), |call| {
            call.peer_addr().map(|a| a.ip())
        })
    }
}

impl<F, K> RateLimit<F, K>
where
    F: Fn(&Call<'_>) -> Option<K> + Send + Sync + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// `per_second` calls a second for each caller and method, bursts of up to `burst`; `key`
    /// names the caller (any hashable value: a header, an address, a user id).
    pub fn per_caller(per_second: u32, burst: u32, key: F) -> Self {
        RateLimit::new(quota(per_second, burst), key)
    }

    fn new(quota: Quota, key: F) -> Self {
        RateLimit {
            quota,
            methods: ByAddress::default(),
            callers: RateLimiter::keyed(quota),
            key,
            hasher: std::collections::hash_map::RandomState::new(),
            max_callers: 10_000,
            _key: std::marker::PhantomData,
        }
    }

    /// The most caller buckets kept at once (default 10,000).
    pub fn max_callers(mut self, max: usize) -> Self {
        self.max_callers = max.max(1);
        self
    }

    fn check(&self, call: &Call<'_>) -> Result<(), ErrorObject> {
        let method = method_key(call);
        let checked = match (self.key)(call) {
            None => self.method_bucket(method).check(),
            Some(caller) => {
                if self.callers.len() >= self.max_callers {
                    self.callers.retain_recent();
                    self.callers.shrink_to_fit();
                    if self.callers.len() >= self.max_callers {
                        return Err(refused(Duration::from_secs(1)));
                    }
                }
                use std::hash::BuildHasher as _;
                let caller = self.hasher.hash_one(&caller);
                self.callers.check_key(&(address(method), caller))
            }
        };
        checked
            .map_err(|not_until| refused(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// Takes `n` calls of `method` by `caller` from their bucket at once: `false`, taking
    /// nothing, when the bucket does not hold them all now (each call is then checked alone).
    fn check_n(&self, method: &'static str, caller: Option<&K>, n: u32) -> bool {
        let Some(n) = NonZeroU32::new(n) else {
            return true;
        };
        let checked = match caller {
            None => self.method_bucket(method).check_n(n),
            Some(caller) => {
                if self.callers.len() >= self.max_callers {
                    // Left to the calls one by one, which make room or refuse.
                    return false;
                }
                use std::hash::BuildHasher as _;
                let caller = self.hasher.hash_one(caller);
                self.callers.check_key_n(&(address(method), caller), n)
            }
        };
        matches!(checked, Ok(Ok(())))
    }

    /// The bucket of `method`'s calls without a caller key; as many as the service has methods.
    fn method_bucket(&self, method: &'static str) -> Arc<Direct> {
        self.methods
            .get_or_make(address(method), || RateLimiter::direct(self.quota))
    }
}

fn refused(wait: Duration) -> ErrorObject {
    let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    ErrorObject::new(RATE_LIMITED, "Rate limit exceeded")
        .with_data(&serde_json::json!({ "retry_after_ms": retry_after_ms }))
}

/// The most buckets (method and caller) a batch is checked against at once; a batch naming more
/// is checked call by call.
const BATCH_BUCKETS: usize = 8;

impl<F, K> Layer for RateLimit<F, K>
where
    F: Fn(&Call<'_>) -> Option<K> + Send + Sync + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    const BATCH: bool = true;

    /// Once checked, the call's future is the rest of the chain's, with no state of the
    /// layer's around it (a batch's calls are moved into their boxes whole, so every byte of
    /// it is copied per call).
    fn call<'a, N: Calls>(
        &'a self,
        call: Call<'a>,
        next: Next<'a, N>,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        next.run_checked(call, |call| self.check(call))
    }

    /// A batch's calls of each method and caller are taken from their bucket at once when it
    /// holds them all; when it does not, they are checked one by one in order, as outside a
    /// batch, so exactly the calls past the limit are refused.
    fn batch(&self, calls: &[Call<'_>], admitted: &mut [bool]) {
        let mut buckets: Vec<(&'static str, Option<K>, u32)> = Vec::new();
        // Each call's bucket, as an index into `buckets`.
        let mut of = Vec::with_capacity(calls.len());
        for call in calls {
            let (method, caller) = (method_key(call), (self.key)(call));
            let index = match buckets
                .iter()
                .position(|(m, c, _)| std::ptr::eq(*m, method) && *c == caller)
            {
                Some(index) => index,
                None if buckets.len() == BATCH_BUCKETS => return,
                None => {
                    buckets.push((method, caller, 0));
                    buckets.len() - 1
                }
            };
            buckets[index].2 += 1;
            of.push(index as u8);
        }
        let taken: Vec<bool> = buckets
            .iter()
            .map(|(method, caller, n)| self.check_n(method, caller.as_ref(), *n))
            .collect();
        for (admitted, index) in admitted.iter_mut().zip(of) {
            *admitted = taken[usize::from(index)];
        }
    }
}

/// At most `max` calls of each method at once; a call past that waits up to `wait` for a
/// place, then is refused with [`BUSY`] without running. Methods the service does not have
/// share one limit.
///
/// ```
/// use std::time::Duration;
/// let limit = rpc_server::middleware::ConcurrencyLimit::new(8, Duration::from_millis(50))
///     .method("report", 1);
/// # let _ = limit;
/// ```
#[derive(Debug)]
pub struct ConcurrencyLimit {
    default: usize,
    wait: Duration,
    per_method: HashMap<&'static str, usize>,
    semaphores: Mutex<HashMap<&'static str, Arc<Semaphore>>>,
}

impl ConcurrencyLimit {
    /// At most `max` concurrent calls of each method, waiting up to `wait` for a place.
    pub fn new(max: usize, wait: Duration) -> Self {
        ConcurrencyLimit {
            default: max.max(1),
            wait,
            per_method: HashMap::new(),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// Another limit for `method`.
    pub fn method(mut self, method: &'static str, max: usize) -> Self {
        self.per_method.insert(method, max.max(1));
        self
    }

    fn semaphore(&self, method: &'static str) -> Arc<Semaphore> {
        // A poisoned lock only means another call panicked while inserting: the map is whole.
        let mut semaphores = self
            .semaphores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        semaphores
            .entry(method)
            .or_insert_with(|| {
                let max = self.per_method.get(method).copied().unwrap_or(self.default);
                Arc::new(Semaphore::new(max))
            })
            .clone()
    }
}

impl Layer for ConcurrencyLimit {
    async fn call<'a, N: Calls>(&'a self, call: Call<'a>, next: Next<'a, N>) -> Outcome {
        let semaphore = self.semaphore(method_key(&call));
        let permit = match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(ErrorObject::new(BUSY, "Server busy")),
        };
        let outcome = next.run(call).await;
        drop(permit);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{Lent, Method, Transport};
    use crate::config::{Config, Settings};
    use rpc_core::wire::Request;

    const REQUEST: Request<'static> = Request {
        method: std::borrow::Cow::Borrowed("m"),
        params: None,
        id: None,
    };

    fn calls<'a>(lent: &'a Lent<'a>, n: usize) -> Vec<Call<'a>> {
        let method = Method {
            known: Some("m"),
            builtin: false,
        };
        (0..n).map(|_| Call::new(&REQUEST, method, lent)).collect()
    }

    fn lent(config: &Config) -> Lent<'_> {
        Lent {
            config,
            push: None,
            transport: Transport::http("tcp"),
            peer: None,
        }
    }

    /// A batch the bucket holds is admitted at once, and takes its calls from the bucket.
    #[test]
    fn a_batch_within_the_limit_is_admitted_at_once() {
        let config = Config::new(Settings::default());
        let limit = RateLimit::per_method(1, 3);
        let lent = lent(&config);
        let calls = calls(&lent, 3);
        let mut admitted = [false; 3];
        limit.batch(&calls, &mut admitted);
        assert_eq!(admitted, [true; 3]);
        assert!(
            limit.check(&calls[0]).is_err(),
            "the batch took the whole burst"
        );
    }

    /// A batch past the limit takes nothing at once: one by one, exactly the calls past it are
    /// refused.
    #[test]
    fn a_batch_past_the_limit_is_checked_call_by_call() {
        let config = Config::new(Settings::default());
        let limit = RateLimit::per_method(1, 3);
        let lent = lent(&config);
        let calls = calls(&lent, 5);
        let mut admitted = [false; 5];
        limit.batch(&calls, &mut admitted);
        assert_eq!(admitted, [false; 5]);
        let passed: Vec<bool> = calls.iter().map(|c| limit.check(c).is_ok()).collect();
        assert_eq!(passed, [true, true, true, false, false]);
    }
}
