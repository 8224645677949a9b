//! Callbacks, typed both ways: the line counter of RPyC's example, ported. The client serves
//! [`Noisy`]; the server's [`LineCounter::line_counter`] calls the client's `noisy` for every
//! line, in order, each a request the client answers, and returns the count. Any message
//! connection carries it (WebSocket, Unix socket, stdio); over HTTP there is no connection to
//! call back on, and the call fails saying so.
//!
//! Two more methods show the rest of a two-way connection: `note` is an ordered notification
//! (notes apply in the order they were sent, while calls run concurrently), and `slow_count`
//! counts only after a delay, so that a caller who gives up first (LSP's `$/cancelRequest`,
//! which the endpoint speaks) leaves no count behind.

use std::sync::Mutex;

use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};

/// What the client serves its server.
#[rpc]
pub trait Noisy {
    /// Called by the server for each line it reads, in order.
    async fn noisy(&self, line: String);
}

/// What the server serves.
#[rpc]
pub trait LineCounter {
    /// Counts `lines`, calling the caller's `noisy` for each, in order, before answering.
    async fn line_counter(&self, lines: Vec<String>) -> Result<u64, CallbackFailed>;

    /// Counts `lines`, calling the caller's `noisy` for all of them at once: as many callbacks
    /// wait at a time as the connection allows (`WsLimits::max_peer_calls`), and the caller
    /// runs as many as it serves at once.
    async fn count_at_once(&self, lines: Vec<String>) -> Result<u64, CallbackFailed>;

    /// The lines counted so far, on every connection: a method a callback may call while the
    /// server waits for it.
    async fn lines_counted(&self) -> u64;

    /// Counts `lines` after waiting `ms` milliseconds: cancelled before then, it counts nothing.
    async fn slow_count(&self, lines: Vec<String>, ms: u64) -> u64;

    /// Remembers `line`. Sent as a notification it applies in arrival order on its connection,
    /// however long each takes (`delay_ms`, to show it).
    #[rpc(ordered)]
    async fn note(&self, line: String, delay_ms: u64);

    /// The notes remembered, in the order they applied.
    async fn notes(&self) -> Vec<String>;
}

/// A callback could not be made: the call came over HTTP, or the client did not answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallbackFailed {
    /// What went wrong.
    pub reason: String,
}

impl std::fmt::Display for CallbackFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the callback failed: {}", self.reason)
    }
}

impl std::error::Error for CallbackFailed {}

impl RpcError for CallbackFailed {
    fn code(&self) -> i64 {
        1100
    }
}

impl From<rpc_core::Error> for CallbackFailed {
    fn from(e: rpc_core::Error) -> Self {
        CallbackFailed {
            reason: e.to_string(),
        }
    }
}

/// The server's implementation.
#[derive(Default)]
pub struct Counter {
    counted: std::sync::atomic::AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl LineCounter for Counter {
    async fn line_counter(&self, lines: Vec<String>) -> Result<u64, CallbackFailed> {
        let peer = rpc_server::RequestContext::peer()?;
        let noisy = rpc_client::ClientBuilder::<NoisyClient>::peer(peer).build()?;
        for line in &lines {
            noisy.noisy(line.clone()).await?;
            self.counted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(lines.len() as u64)
    }

    async fn count_at_once(&self, lines: Vec<String>) -> Result<u64, CallbackFailed> {
        let peer = rpc_server::RequestContext::peer()?;
        let noisy = rpc_client::ClientBuilder::<NoisyClient>::peer(peer).build()?;
        let calls = lines.iter().map(|line| noisy.noisy(line.clone()));
        for answered in futures_util::future::join_all(calls).await {
            answered?;
        }
        self.counted
            .fetch_add(lines.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(lines.len() as u64)
    }

    async fn lines_counted(&self) -> u64 {
        self.counted.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn slow_count(&self, lines: Vec<String>, ms: u64) -> u64 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        let n = lines.len() as u64;
        self.counted
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        n
    }

    async fn note(&self, line: String, delay_ms: u64) {
        if delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    async fn notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The server's endpoint, for every transport, speaking LSP's cancellation
/// (`$/cancelRequest`): a client built with the same
/// ([`ClientBuilder::cancellation`](rpc_client::ClientBuilder::cancellation)) cancels the calls
/// it gives up on.
pub fn endpoint() -> rpc_server::RpcService<LineCounterServer<Counter>> {
    rpc_server::RpcService::new(LineCounterServer(Counter::default()))
        .cancellation(rpc_core::peer::Cancellation::Lsp)
        .peer_serves(&NoisyServer::INFO)
}

/// A client's `noisy`: prints each line as RPyC's example does, and keeps them.
#[derive(Default)]
pub struct Printer {
    /// The lines seen, in order.
    pub seen: Mutex<Vec<String>>,
    /// Whether to print them.
    pub print: bool,
}

impl Noisy for std::sync::Arc<Printer> {
    async fn noisy(&self, line: String) {
        if self.print {
            println!("noisy: {line}");
        }
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }
}
