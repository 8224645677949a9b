//! A service made to run as several replicas behind a load balancer: the scale-out recipe of
//! `docs/deploying.md`, which `scripts/scale-out.sh` tests with nginx in front.
//!
//! It has an idempotent read, [`Replica::status`], and a counter that is not idempotent,
//! [`Replica::increment`]. Each counter call is appended to the replica's own log file before it
//! is answered, so that after a run, even one in which a replica was killed, the logs of all
//! replicas together say which calls ran and how often: a token found twice is a call that ran
//! twice.
//!
//! It also has a live feed, [`Replica::subscribe_ticks`], whose items name the replica that sent
//! them: over a WebSocket through the load balancer, a client with `reconnect` follows the feed
//! from a replica that stops to one that runs.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use rpc_core::{RpcError, Subscription, rpc};
use serde::{Deserialize, Serialize};

use crate::pubsub::TooFast;

/// What a replica says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Status {
    /// The replica's name, as given at its start.
    pub replica: String,
    /// The counter calls this replica's process has run.
    pub count: u64,
}

/// An item of [`Replica::subscribe_ticks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tick {
    /// The replica that sent it.
    pub replica: String,
    /// Its number in this subscription, from 0.
    pub n: u64,
}

/// Why a counter call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CounterError {
    /// The token is empty, longer than [`MAX_TOKEN_LEN`] bytes, or holds a character other
    /// than a letter, a digit, `-` or `_` (the log holds one token a line).
    InvalidToken,
    /// The call could not be written to the replica's log, so it was not counted.
    LogFailed(String),
}

impl std::fmt::Display for CounterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CounterError::InvalidToken => write!(
                f,
                "a token is 1 to {MAX_TOKEN_LEN} letters, digits, `-` or `_`"
            ),
            CounterError::LogFailed(why) => write!(f, "the call could not be logged: {why}"),
        }
    }
}

impl RpcError for CounterError {}

/// The longest token [`Replica::increment`] takes, in bytes.
pub const MAX_TOKEN_LEN: usize = 128;

/// One replica of the service.
#[rpc]
pub trait Replica {
    /// The replica's name and how many counter calls it has run. Reading it twice is reading
    /// it once, so a client may send it again after any failure.
    #[rpc(idempotent)]
    async fn status(&self) -> Status;

    /// Counts one call, named by `token` (unique per call, chosen by the caller), and returns
    /// this replica's count. Not idempotent: running it twice counts twice, and the token is
    /// in the log twice.
    async fn increment(&self, token: String) -> Result<u64, CounterError>;

    /// Sends a [`Tick`] every `interval_ms` milliseconds (at least
    /// [`MIN_INTERVAL_MS`](crate::pubsub::MIN_INTERVAL_MS)) until the subscriber unsubscribes
    /// or the replica stops. Over a WebSocket only.
    #[rpc(subscription = "tick")]
    async fn subscribe_ticks(
        &self,
        interval_ms: u64,
    ) -> Result<Subscription<Tick, TooFast>, TooFast>;
}

/// A replica: its name, the time each call takes, and the log of its counter calls.
#[derive(Debug)]
pub struct ReplicaService {
    name: String,
    work: Duration,
    log: Option<Mutex<File>>,
    count: AtomicU64,
    in_flight: Arc<AtomicU64>,
}

impl ReplicaService {
    /// A replica named `name` whose calls each take `work` (so that a shutdown finds calls in
    /// flight), keeping no log.
    ///
    /// ```
    /// let replica = examples::replica::ReplicaService::new("a", std::time::Duration::ZERO);
    /// # let _ = replica;
    /// ```
    pub fn new(name: &str, work: Duration) -> Self {
        ReplicaService {
            name: name.to_owned(),
            work,
            log: None,
            count: AtomicU64::new(0),
            in_flight: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The number of calls running at any moment, readable after the service is moved into
    /// the app: what a shutdown found in flight.
    ///
    /// ```
    /// let replica = examples::replica::ReplicaService::new("a", std::time::Duration::ZERO);
    /// let running = replica.in_flight();
    /// assert_eq!(running.load(std::sync::atomic::Ordering::SeqCst), 0);
    /// ```
    pub fn in_flight(&self) -> Arc<AtomicU64> {
        self.in_flight.clone()
    }

    /// Counts a call as running until the guard is dropped, however the call ends.
    fn running(&self) -> Running<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Running(&self.in_flight)
    }

    /// Appends each counter call's token, one a line, to the file at `path` (created if
    /// missing; an earlier process's lines are kept, so a restarted replica adds to them).
    ///
    /// ```no_run
    /// # fn run() -> std::io::Result<()> {
    /// let replica = examples::replica::ReplicaService::new("a", std::time::Duration::ZERO)
    ///     .log_to("/tmp/replica-a.log".as_ref())?;
    /// # let _ = replica; Ok(()) }
    /// ```
    pub fn log_to(mut self, path: &Path) -> std::io::Result<Self> {
        let file = File::options().create(true).append(true).open(path)?;
        self.log = Some(Mutex::new(file));
        Ok(self)
    }

    /// Writes `token`'s line. One `write` of a whole line to a file opened for appending: the
    /// line is whole in the file once it returns, and the kernel keeps it if the process is
    /// killed the next instant. (Surviving the machine's crash would take an `fsync` per call;
    /// the recipe kills processes, not machines.)
    fn record(&self, token: &str) -> Result<(), CounterError> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let line = format!("{token}\n");
        let mut file = log.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .map_err(|e| CounterError::LogFailed(e.to_string()))
    }
}

/// A call running, for [`ReplicaService::in_flight`].
struct Running<'a>(&'a AtomicU64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Replica for ReplicaService {
    async fn status(&self) -> Status {
        let _running = self.running();
        tokio::time::sleep(self.work).await;
        Status {
            replica: self.name.clone(),
            count: self.count.load(Ordering::SeqCst),
        }
    }

    async fn increment(&self, token: String) -> Result<u64, CounterError> {
        if !valid_token(&token) {
            return Err(CounterError::InvalidToken);
        }
        let _running = self.running();
        tokio::time::sleep(self.work).await;
        // Logged before it is counted and answered: a call its caller saw succeed is always in
        // the log, whenever the process dies.
        self.record(&token)?;
        Ok(self.count.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn subscribe_ticks(
        &self,
        interval_ms: u64,
    ) -> Result<Subscription<Tick, TooFast>, TooFast> {
        let replica = self.name.clone();
        let ticks = crate::pubsub::ticks(interval_ms)?.map(move |n| Tick {
            replica: replica.clone(),
            n,
        });
        Ok(Subscription::from_items(ticks))
    }
}

/// The app a replica serves: the service at `/rpc` (HTTP and WebSocket, with `rpc.discover`),
/// and `GET /health` and `GET /metrics` for the load balancer and the monitoring.
///
/// ```
/// use examples::replica::{ReplicaService, app};
/// let app: axum::Router = app(ReplicaService::new("a", std::time::Duration::ZERO));
/// ```
pub fn app(replica: ReplicaService) -> axum::Router {
    let rpc = rpc_server::RpcService::new(ReplicaServer(replica)).introspection(true);
    axum::Router::new()
        .route("/rpc", rpc.into_method_router())
        .merge(crate::observability::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_one_word_of_safe_characters() {
        assert!(valid_token("run7-task3-42_b"));
        assert!(!valid_token(""));
        assert!(!valid_token("two\nlines"));
        assert!(!valid_token("a b"));
        assert!(!valid_token(&"x".repeat(MAX_TOKEN_LEN + 1)));
        assert!(valid_token(&"x".repeat(MAX_TOKEN_LEN)));
    }
}
