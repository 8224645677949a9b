//! Callbacks, typed both ways: the line counter of RPyC's example, ported. The client serves
//! [`Noisy`]; the server's [`LineCounter::line_counter`] calls the client's `noisy` for every
//! line, in order, each a request the client answers, and returns the count. Any message
//! connection carries it (WebSocket, Unix socket, stdio); over HTTP there is no connection to
//! call back on, and the call fails saying so.

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

    /// The lines counted so far, on every connection: a method a callback may call while the
    /// server waits for it.
    async fn lines_counted(&self) -> u64;
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

    async fn lines_counted(&self) -> u64 {
        self.counted.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The server's endpoint, for every transport.
pub fn endpoint() -> rpc_server::RpcService<LineCounterServer<Counter>> {
    rpc_server::RpcService::new(LineCounterServer(Counter::default()))
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
