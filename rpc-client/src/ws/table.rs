//! What a connection's reader routes to: the requests waiting for their answer, by id, and the
//! subscriptions whose items it delivers, by the server's id; and the unsubscribe sent when a
//! subscription's stream is dropped. It imports nothing of the connection's tasks: the
//! connection, its reader and its reconnect all take it from here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::own_id;
use super::subscription::Slot;

/// A request waiting for its answer.
pub(crate) enum Pending {
    /// A call or a batch: the answer's bytes.
    Call(oneshot::Sender<Bytes>),
    /// A subscribe call: the answer's bytes, and the slot to register under the id it carries.
    Subscribe(oneshot::Sender<Bytes>, Arc<Slot>),
}

/// What the reader routes answers and items to.
pub(super) struct Table {
    state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) pending: HashMap<u64, Pending>,
    /// By the subscription id's JSON text (servers send strings or numbers).
    pub(super) subscriptions: HashMap<Box<str>, Arc<Slot>>,
    /// Why the connection was lost, once it is: nothing is registered after that.
    pub(super) lost: Option<String>,
}

impl Table {
    pub(super) fn new() -> Self {
        Table {
            state: Mutex::new(State::default()),
        }
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a waiting call when its caller stops waiting: answered, timed out or cancelled.
/// A call whose caller gave up before its answer came is cancelled at the server, when the
/// connection has a cancellation protocol.
pub(crate) struct Waiting<'c> {
    pub(super) table: &'c Table,
    pub(super) id: u64,
    /// Where to send the cancellation, and how it reads.
    pub(super) cancel: Option<(&'c mpsc::Sender<Message>, rpc_core::peer::Cancellation)>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let unanswered = self.table.state().pending.remove(&self.id).is_some();
        let Some((outgoing, cancellation)) = self.cancel.filter(|_| unanswered) else {
            return;
        };
        let Some(text) = cancellation
            .notification(&self.id.to_string())
            .and_then(|n| Utf8Bytes::try_from(n).ok())
        else {
            return;
        };
        crate::measure::cancelled();
        // Without waiting: a full queue drops it, and the server runs the call to its end.
        let _ = outgoing.try_send(Message::Text(text));
    }
}

/// Sends `slot`'s unsubscribe call for the server's id `id`, without waiting for room in the
/// queue or for the answer (which the reader drops, its id being no one's).
pub(super) fn unsubscribe(outgoing: &mpsc::Sender<Message>, slot: &Slot, id: &str) {
    let mut body = Vec::with_capacity(64 + id.len());
    let params = RawValue::from_string(format!("[{id}]")).ok();
    if rpc_core::wire::write_request(
        &mut body,
        slot.unsubscribe(),
        params.as_deref(),
        Some(own_id()),
    )
    .is_err()
    {
        return;
    }
    let Ok(text) = Utf8Bytes::try_from(body) else {
        return;
    };
    if let Err(mpsc::error::TrySendError::Full(message)) = outgoing.try_send(Message::Text(text)) {
        // A full queue must not lose the unsubscribe: send it when there is room.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let outgoing = outgoing.clone();
            runtime.spawn(async move { outgoing.send(message).await });
        }
    }
}
