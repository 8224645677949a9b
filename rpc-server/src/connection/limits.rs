//! The limits of each WebSocket connection, and their defaults.

use std::time::Duration;

use tokio::sync::Semaphore;

/// The limits of each WebSocket connection. Set with
/// [`RpcService::websocket_limits`](crate::RpcService::websocket_limits); each setter keeps its
/// value within what the server can work with (no zero ping interval, at least one call).
///
/// ```
/// use std::time::Duration;
/// let limits = rpc_server::WsLimits::default()
///     .max_subscriptions(64)
///     .subscription_buffer(1024)
///     .ping_interval(Duration::from_secs(10));
/// # drop(limits);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    pub(crate) max_calls: usize,
    pub(crate) max_subscriptions: usize,
    pub(crate) max_endpoint_subscriptions: usize,
    pub(crate) max_peer_subscriptions: usize,
    pub(crate) max_queued_bytes: usize,
    pub(crate) subscription_buffer: usize,
    pub(crate) slow_reader_grace: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) max_peer_calls: usize,
    pub(crate) peer_call_timeout: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_calls: 64,
            max_subscriptions: 1024,
            max_endpoint_subscriptions: 100_000,
            max_peer_subscriptions: 10_000,
            max_queued_bytes: 4 * 1024 * 1024,
            subscription_buffer: 256,
            slow_reader_grace: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            max_peer_calls: 64,
            peer_call_timeout: Duration::from_secs(30),
        }
    }
}

impl WsLimits {
    /// Calls of one connection running or waiting to have their answer written (default 64,
    /// at least 1). Past it the server stops reading the socket until an answer is written.
    pub fn max_calls(mut self, calls: usize) -> Self {
        self.max_calls = calls.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Subscriptions one connection may hold (default 1024); past it a subscribe call gets
    /// `-32010`.
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_subscriptions = subscriptions;
        self
    }

    /// Subscriptions all the endpoint's connections may hold together (default 100,000): the
    /// bound on what many connections, each under its own limit, can make the server hold.
    pub fn max_endpoint_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_endpoint_subscriptions = subscriptions;
        self
    }

    /// Subscriptions the connections of one peer address may hold together (default 10,000),
    /// so that no one client takes the endpoint's whole share. Counted when the server knows
    /// the peer's address ([`serve`](crate::serve), or `axum::serve` with `ConnectInfo`).
    pub fn max_peer_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_peer_subscriptions = subscriptions;
        self
    }

    /// Bytes of answers and items one connection may have waiting to be written (default
    /// 4 MiB, at least 64 KiB). Past it the connection's next message is not read (TCP pushes
    /// back on the client), and its subscriptions' items wait for room like a full
    /// [`subscription_buffer`](Self::subscription_buffer). An answer to a call already read is
    /// always queued; the endpoint's [outbound budget](crate::RpcService::max_outbound_bytes)
    /// bounds them all.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes.max(64 * 1024);
        self
    }

    /// Items of one subscription that may wait to be written (default 256, at least 1). When
    /// the buffer is full the subscription's stream is not polled; if it stays full for
    /// [`slow_reader_grace`](Self::slow_reader_grace), the subscriber is reading too slowly and
    /// loses that subscription (the connection goes on).
    pub fn subscription_buffer(mut self, items: usize) -> Self {
        self.subscription_buffer = items.max(1);
        self
    }

    /// How long a full subscription buffer may stay full (default 5 s).
    pub fn slow_reader_grace(mut self, grace: Duration) -> Self {
        self.slow_reader_grace = grace;
        self
    }

    /// Calls the server's methods make to the connection's peer
    /// ([`RequestContext::peer`](crate::RequestContext::peer)) that may wait for an answer at
    /// once (default 64, at least 1): past it the next waits for one to end, so a peer that
    /// answers slowly holds no more than this.
    pub fn max_peer_calls(mut self, calls: usize) -> Self {
        self.max_peer_calls = calls.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How long a call to the connection's peer waits for its answer, room in the outbox
    /// included (default 30 s, at least 1 ms); past it the call fails with a timeout and the
    /// peer is told as the endpoint's [cancellation](crate::RpcService::cancellation) says.
    pub fn peer_call_timeout(mut self, timeout: Duration) -> Self {
        self.peer_call_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How often the server pings (default 30 s, at least 10 ms); a connection that sends
    /// nothing, not even a pong, for two intervals is closed.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval.max(Duration::from_millis(10));
        self
    }
}
