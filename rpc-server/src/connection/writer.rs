//! A connection's writer: the only task that sends on the transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::close_code;
use tokio::sync::watch;

use super::outbox::{Next, Outbox};
use super::{MessagesOut, millis};
use crate::serve::{Closed, Closing, Upgrade};

/// The writer: sends what the connection's tasks queue, pings, and closes the socket when the
/// server shuts down or closes it, the socket stays idle, or the client stops answering pings.
pub(super) async fn write<W: MessagesOut>(
    mut sink: W,
    outbox: Arc<Outbox>,
    upgrade: Option<Upgrade>,
    interval: Duration,
    heard: Arc<AtomicU64>,
    started: Instant,
    done: watch::Sender<bool>,
) {
    let closing = async move {
        match upgrade {
            Some(upgrade) => upgrade.closing().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(closing);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let close = loop {
        tokio::select! {
            next = outbox.next() => {
                let (message, more) = match next {
                    Next::Message(message, more) => (message, more),
                    Next::End(close) => break close,
                    Next::Shed => break Some((close_code::POLICY, "too many unread messages")),
                };
                // A message with more queued behind it is only buffered: the last of a burst
                // flushes them all in one write, not one write (one syscall) each.
                if sink.send(message.text, more).await.is_err() {
                    break None;
                }
                if let Some(pending) = message.subscription {
                    pending.count.fetch_sub(1, Ordering::AcqRel);
                    pending.written.notify_one();
                }
            }
            _ = ping.tick(), if W::PINGS => {
                let silent = millis(started).saturating_sub(heard.load(Ordering::Relaxed));
                if silent > 2 * u64::try_from(interval.as_millis()).unwrap_or(u64::MAX) {
                    tracing::debug!(silent_ms = silent, "websocket peer stopped answering pings");
                    break Some((close_code::POLICY, "keep-alive timed out"));
                }
                if sink.ping().await.is_err() {
                    break None;
                }
            }
            closing = &mut closing => break Some(match closing {
                Closing::Stopping => (close_code::AWAY, "server shutting down"),
                Closing::Idle => (close_code::NORMAL, "idle"),
                Closing::Closed(Closed::Evicted) => (close_code::AGAIN, "server at capacity"),
                Closing::Closed(Closed::Unsent) => (close_code::POLICY, "too many unread messages"),
                Closing::Closed(Closed::Receiving) => (close_code::AGAIN, "server receiving too much"),
            }),
        }
    };
    if let Some((code, reason)) = close {
        tracing::debug!(code, reason, "connection closed by the server");
        metrics::counter!("rpc.server.websocket.closed", "reason" => reason).increment(1);
    }
    // Bounded: a peer that reads nothing gets no more of the server's time.
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close(close)).await;
    let _ = done.send(true);
}
