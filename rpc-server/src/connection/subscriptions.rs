//! Subscriptions on a connection: made and ended by calls, each pumped by a task of its own
//! into the connection's writer, under its buffer's limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt as _;
use rpc_core::subscription::ItemStream;
use rpc_core::{ErrorCode, ErrorObject};
use serde_json::value::RawValue;

use super::{CallScope, Live, Pending, Socket};
use crate::call::Pushes;

impl Pushes for CallScope {
    fn subscribe(
        &self,
        notification: &'static str,
        items: ItemStream,
        out: &mut Vec<u8>,
    ) -> Result<(), ErrorObject> {
        subscribe(self, notification, items, out)
    }

    fn unsubscribe(&self, params: Option<&RawValue>, out: &mut Vec<u8>) -> Result<(), ErrorObject> {
        unsubscribe(self, params, out)
    }
}

/// Subscribes for a call of `scope`: the subscription id's JSON, written into `out`.
fn subscribe(
    scope: &CallScope,
    notification: &'static str,
    items: ItemStream,
    out: &mut Vec<u8>,
) -> Result<(), ErrorObject> {
    let id = new_id();
    {
        let mut subscriptions = scope.socket.subscriptions();
        if subscriptions.len() >= scope.socket.limits.max_subscriptions {
            metrics::counter!("rpc.server.subscriptions.refused", "reason" => "limit").increment(1);
            return Err(ErrorObject::new(
                ErrorCode::TOO_MANY_SUBSCRIPTIONS,
                format!(
                    "Too many subscriptions: this connection holds {}, the most it may",
                    subscriptions.len()
                ),
            ));
        }
        let per_peer = scope.socket.limits.max_peer_subscriptions;
        if !scope
            .socket
            .peer_subscriptions
            .take(scope.socket.peer, per_peer)
        {
            metrics::counter!("rpc.server.subscriptions.refused", "reason" => "peer_limit")
                .increment(1);
            return Err(ErrorObject::new(
                ErrorCode::TOO_MANY_SUBSCRIPTIONS,
                format!("Too many subscriptions: your address holds {per_peer}, the most one may"),
            ));
        }
        let limit = scope.socket.limits.max_endpoint_subscriptions;
        let total = &scope.socket.endpoint_subscriptions;
        if total.fetch_add(1, Ordering::AcqRel) >= limit {
            total.fetch_sub(1, Ordering::AcqRel);
            scope
                .socket
                .peer_subscriptions
                .release(scope.socket.peer, 1);
            metrics::counter!("rpc.server.subscriptions.refused", "reason" => "endpoint_limit")
                .increment(1);
            return Err(ErrorObject::new(
                ErrorCode::TOO_MANY_SUBSCRIPTIONS,
                format!("Too many subscriptions: the server holds {limit}, the most it may"),
            ));
        }
        subscriptions.insert(
            id.clone(),
            Live {
                pump: None,
                pending: Arc::new(Pending::default()),
                _busy: scope
                    .socket
                    .upgrade
                    .as_ref()
                    .map(|u| Box::new(u.busy()) as Box<dyn Send + Sync>),
            },
        );
        metrics::gauge!("rpc.server.subscriptions.active").increment(1);
    }
    // A string holds no character JSON escapes: the id is hexadecimal.
    out.push(b'"');
    out.extend_from_slice(id.as_bytes());
    out.push(b'"');
    scope
        .started
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((id, notification, items));
    Ok(())
}

/// Ends a subscription of the call's connection: `true` (written into `out`) when it held it.
fn unsubscribe(
    scope: &CallScope,
    params: Option<&RawValue>,
    out: &mut Vec<u8>,
) -> Result<(), ErrorObject> {
    let id = subscription_id(params)?;
    let removed = scope.socket.subscriptions().remove(id.as_str());
    let held = removed.is_some();
    scope
        .socket
        .forget(&removed.into_iter().collect::<Vec<_>>(), true);
    out.extend_from_slice(if held { b"true" } else { b"false" });
    Ok(())
}

/// The id in an unsubscribe call's params: `[ID]` or `{"subscription": ID}`, a string or a
/// number.
fn subscription_id(params: Option<&RawValue>) -> Result<String, ErrorObject> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Params {
        Positional((Id,)),
        Named { subscription: Id },
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    let invalid = || {
        ErrorObject::invalid_params("expected the subscription id: [ID] or {\"subscription\": ID}")
    };
    let params = params.ok_or_else(invalid)?;
    let (Params::Positional((id,)) | Params::Named { subscription: id }) =
        serde_json::from_str(params.get()).map_err(|_| invalid())?;
    Ok(match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

/// A subscription id: unique in the process, and not guessable from another's.
fn new_id() -> Arc<str> {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut hasher = KEYS.get_or_init(Default::default).build_hasher();
    hasher.write_u64(n);
    // The counter in the low half keeps ids unique; the keyed hash hides the order.
    let id = (hasher.finish() & 0xffff_ffff_0000_0000) | (n & 0xffff_ffff);
    format!("0x{id:016x}").into()
}

/// Starts the pump of a subscription made by a call whose answer is now queued, unless it was
/// ended in the meantime.
pub(super) fn start(
    socket: &Arc<Socket>,
    id: Arc<str>,
    notification: &'static str,
    items: ItemStream,
) {
    let mut subscriptions = socket.subscriptions();
    let Some(live) = subscriptions.get_mut(&id) else {
        return;
    };
    let pending = live.pending.clone();
    let pump = tokio::spawn(pump(socket.clone(), id, notification, items, pending));
    live.pump = Some(pump.abort_handle());
}

/// Pushes a subscription's items until its stream ends or fails, or its subscriber falls
/// behind.
async fn pump(
    socket: Arc<Socket>,
    id: Arc<str>,
    notification: &'static str,
    mut items: ItemStream,
    pending: Arc<Pending>,
) {
    let limit = socket.limits.subscription_buffer;
    let _sender = socket.outbox.sender();
    loop {
        let item = items.next().await;
        let last = !matches!(item, Some(Ok(_)));
        let mut text = Vec::with_capacity(128);
        match item {
            Some(Ok(json)) if json.len() > socket.max_item_bytes => {
                tracing::error!(
                    notification,
                    bytes = json.len(),
                    "a subscription item is larger than the endpoint sends; the subscription ends"
                );
                let error = ErrorObject::new(ErrorCode::RESPONSE_TOO_LARGE, "Response too large");
                write_notification(&mut text, notification, &id, Err(Some(&error)));
                send_last(&socket, &id, text, false);
                return;
            }
            Some(Ok(json)) => {
                let grace = socket.limits.slow_reader_grace;
                // The item's own room, then the connection's and the endpoint's bytes, all
                // within one grace.
                let roomy = tokio::time::timeout(grace, async {
                    room(&pending, limit).await;
                    socket.outbox.room(json.len() + 128, None).await
                });
                if roomy.await.is_err() {
                    tracing::warn!(notification, subscription = %id, buffered = limit, "a subscriber reads too slowly; its subscription is dropped");
                    metrics::counter!("rpc.server.subscriptions.dropped", "reason" => "slow_reader")
                        .increment(1);
                    let error = ErrorObject::new(
                        ErrorCode::SUBSCRIPTION_DROPPED,
                        "Subscription dropped: the subscriber reads too slowly",
                    );
                    write_notification(&mut text, notification, &id, Err(Some(&error)));
                    send_last(&socket, &id, text, true);
                    return;
                }
                write_notification(&mut text, notification, &id, Ok(&json));
            }
            Some(Err(error)) => write_notification(&mut text, notification, &id, Err(Some(&error))),
            None => write_notification(&mut text, notification, &id, Err(None)),
        }
        if last {
            send_last(&socket, &id, text, false);
            return;
        }
        metrics::counter!("rpc.server.subscriptions.items").increment(1);
        socket.outbox.item(text, Some(pending.clone()));
    }
}

/// Waits until fewer than `limit` items are pending.
async fn room(pending: &Pending, limit: usize) {
    loop {
        let written = pending.written.notified();
        let mut written = std::pin::pin!(written);
        written.as_mut().enable();
        if pending.count.load(Ordering::Acquire) < limit {
            return;
        }
        written.await;
    }
}

/// Sends a subscription's last notification and forgets it.
/// `dropped`: the subscription is cut short, and its items still waiting are not sent.
fn send_last(socket: &Socket, id: &str, text: Vec<u8>, dropped: bool) {
    let removed = socket.subscriptions().remove(id);
    if let Some(mut live) = removed {
        // This pump is the caller: it ends by itself.
        live.pump = None;
        socket.forget(std::slice::from_ref(&live), dropped);
        // After the items still waiting, when the stream ended by itself.
        socket.outbox.item(text, Some(live.pending.clone()));
    }
}

/// The subscriptions each peer address holds on the endpoint's connections.
#[derive(Default)]
pub(crate) struct PeerSubscriptions(Mutex<HashMap<IpAddr, usize>>);

impl PeerSubscriptions {
    /// Counts one more for `peer`, unless it holds `limit` already (`false`). A peer the
    /// server does not know is not counted.
    fn take(&self, peer: Option<IpAddr>, limit: usize) -> bool {
        let Some(peer) = peer else { return true };
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(peer).or_default();
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Counts `ended` fewer for `peer`.
    pub(super) fn release(&self, peer: Option<IpAddr>, ended: usize) {
        let Some(peer) = peer else { return };
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&peer) {
            *count = count.saturating_sub(ended);
            if *count == 0 {
                held.remove(&peer);
            }
        }
    }
}

/// `{"jsonrpc":"2.0","method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`, or
/// with `"error"`: an error object, or `null` for a stream that ended.
fn write_notification(
    out: &mut Vec<u8>,
    notification: &str,
    id: &str,
    item: Result<&[u8], Option<&ErrorObject>>,
) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    // A `&str` always serializes.
    let _ = serde_json::to_writer(&mut *out, notification);
    out.extend_from_slice(br#","params":{"subscription":""#);
    out.extend_from_slice(id.as_bytes());
    match item {
        Ok(json) => {
            out.extend_from_slice(br#"","result":"#);
            out.extend_from_slice(json);
        }
        Err(error) => {
            out.extend_from_slice(br#"","error":"#);
            // An error object always serializes.
            let _ = serde_json::to_writer(&mut *out, &error);
        }
    }
    out.extend_from_slice(b"}}");
}
