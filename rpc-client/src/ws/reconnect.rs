//! Reconnecting after a lost connection: with the client's retry policy's backoff, a new
//! connection is opened and each subscription still wanted is subscribed again with its original
//! params, so its stream carries on; a subscription that cannot be restored ends with why.

use std::sync::{Arc, Weak};

use rpc_core::Error;
use rpc_core::wire::Response;
use tokio::sync::oneshot;

use super::subscription::{End, Slot};
use super::table::Pending;
use super::{Shared, closed, own_id};
use crate::measure;

/// Reconnects with the policy's backoff and subscribes each live subscription again with its
/// original params; the streams carry on under their new ids.
pub(super) async fn resubscribe(shared: Weak<Shared>, mut slots: Vec<Arc<Slot>>, why: String) {
    let mut last = why;
    let mut attempt = 0;
    loop {
        slots.retain(|slot| slot.is_wanted());
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let Some(retrier) = &strong.settings.reconnect else {
            return;
        };
        attempt += 1;
        if slots.is_empty() {
            return;
        }
        if attempt > retrier.policy.attempts {
            break;
        }
        let wait = retrier.backoff(attempt);
        tracing::info!(
            url = %crate::shown(&strong.url),
            attempt,
            wait_ms = wait.as_millis() as u64,
            subscriptions = slots.len(),
            reason = %last,
            "WebSocket connection lost; reconnecting"
        );
        drop(strong);
        tokio::time::sleep(wait).await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let connection = match strong.connection().await {
            Ok(connection) => connection,
            Err(failed) => {
                measure::reconnect("failed");
                last = failed.error.to_string();
                continue;
            }
        };
        measure::reconnect("connected");
        let timeout = strong.settings.timeout;
        drop(strong);
        let mut answers = Vec::with_capacity(slots.len());
        for slot in std::mem::take(&mut slots) {
            let (answer, answered) = oneshot::channel();
            let id = own_id();
            let body = slot.subscribe_request(id);
            let waiting = match connection.expect(id, Pending::Subscribe(answer, slot.clone())) {
                Ok(waiting) => waiting,
                Err(failed) => {
                    last = failed.error.to_string();
                    slots.push(slot);
                    continue;
                }
            };
            if let Err(failed) = connection.send(body).await {
                last = failed.error.to_string();
                slots.push(slot);
                continue;
            }
            answers.push((slot, answered, waiting));
        }
        let mut resubscribed = 0;
        for (slot, answered, _waiting) in answers {
            let Ok(Ok(frame)) = tokio::time::timeout(timeout, answered).await else {
                slots.push(slot);
                continue;
            };
            match Response::parse(&frame) {
                Ok(Response {
                    error: Some(error), ..
                }) => slot.end(End::Failed(error)),
                Ok(_) => resubscribed += 1,
                Err(e) => slot.end(End::Lost(Error::Malformed(e))),
            }
        }
        measure::resubscribed(resubscribed);
        tracing::info!(
            resubscribed,
            retrying = slots.len(),
            "WebSocket reconnected"
        );
        if slots.is_empty() {
            return;
        }
    }
    tracing::info!(reason = %last, subscriptions = slots.len(), "WebSocket reconnect gave up");
    measure::reconnect("gave_up");
    measure::subscriptions_lost("connection_lost", slots.len());
    for slot in slots {
        slot.end(End::Lost(closed(&last)));
    }
}
