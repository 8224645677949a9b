//! The other end of a message connection, called back.
//!
//! A message connection (a WebSocket, a Unix socket, a child's stdio) carries requests both
//! ways: a server method may call the client that called it, as RPyC's servers call their
//! clients' functions and language servers ask their editors. A [`Peer`] is the handle for it:
//! the server lends one to each call over a message connection (`rpc_server::RequestContext::peer`),
//! and `rpc_client::ClientBuilder::peer` makes a typed client of the peer's `#[rpc]` trait over
//! it, usable during the call and kept afterwards. Over HTTP there is no connection to call back
//! on, and no peer.
//!
//! [`Cancellation`] says how either end tells the other that a caller gave up on a call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::Error;

/// A message on its way to the peer: the answer's bytes, or empty for a notification.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>>;

/// What a connection offers for calling its peer. Implemented by the server's message
/// connection; a client's requests go through it unchanged.
pub trait Outgoing: Send + Sync + 'static {
    /// A fresh id for a request to the peer: unique on the connection, whoever asks.
    fn next_id(&self) -> u64;

    /// Sends `message`, a request whose answer carries `id`, or a notification (`id: None`),
    /// and waits for the answer's bytes (none for a notification). Dropping the future gives
    /// up on the call, and the connection tells the peer as its [`Cancellation`] says.
    fn send(&self, message: Vec<u8>, id: Option<u64>) -> Sending<'_>;

    /// Whether the connection is still open.
    fn is_open(&self) -> bool;
}

/// The other end of a message connection, for calling it back. Cheap to clone; it holds
/// neither the connection nor its tasks open, and once the connection has closed every call
/// fails with a transport error saying so.
#[derive(Clone)]
pub struct Peer {
    outgoing: Arc<dyn Outgoing>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("open", &self.outgoing.is_open())
            .finish()
    }
}

impl Peer {
    /// The peer a connection reaches through `outgoing`.
    pub fn new(outgoing: Arc<dyn Outgoing>) -> Self {
        Peer { outgoing }
    }

    /// A fresh request id.
    pub fn next_id(&self) -> u64 {
        self.outgoing.next_id()
    }

    /// Sends a request with id `id` and waits for its answer's bytes, or sends a notification
    /// (`id: None`).
    pub fn send(&self, message: Vec<u8>, id: Option<u64>) -> Sending<'_> {
        self.outgoing.send(message, id)
    }

    /// Whether the connection is still open.
    pub fn is_open(&self) -> bool {
        self.outgoing.is_open()
    }
}

/// How the ends of a connection tell each other that a caller gave up on a call (it dropped
/// the call's future, or its timeout passed), so that the other end stops running it and frees
/// its slot. Chosen per connection, the same at both ends.
///
/// ```
/// use rpc_core::peer::Cancellation;
/// let lsp = Cancellation::Lsp.notification("7").unwrap();
/// assert_eq!(
///     std::str::from_utf8(&lsp).unwrap(),
///     r#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}"#
/// );
/// let params = serde_json::value::RawValue::from_string(r#"{"requestId":"a"}"#.into()).unwrap();
/// let id = Cancellation::Mcp.cancelled("notifications/cancelled", Some(&params));
/// assert_eq!(id.unwrap().get(), r#""a""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Cancellation {
    /// No cancellation: a call runs to its end whatever its caller does.
    #[default]
    None,
    /// The Language Server Protocol's: a `$/cancelRequest` notification with `{"id": ID}`;
    /// the cancelled call is answered [`REQUEST_CANCELLED`](crate::ErrorCode::REQUEST_CANCELLED)
    /// (`-32800`).
    Lsp,
    /// The Model Context Protocol's: a `notifications/cancelled` notification with
    /// `{"requestId": ID, "reason": ...}`; the cancelled call gets no answer.
    Mcp,
}

impl Cancellation {
    /// The notification that cancels the call with id `id` (raw JSON), if this protocol has
    /// one.
    pub fn notification(self, id: &str) -> Option<Vec<u8>> {
        let (method, params) = match self {
            Cancellation::None => return None,
            Cancellation::Lsp => ("$/cancelRequest", format!(r#"{{"id":{id}}}"#)),
            Cancellation::Mcp => (
                "notifications/cancelled",
                format!(r#"{{"requestId":{id},"reason":"the caller gave up"}}"#),
            ),
        };
        Some(format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params}}}"#).into_bytes())
    }

    /// When a notification `method` with `params` cancels a call under this protocol: the id
    /// (raw JSON) of the call it cancels.
    pub fn cancelled<'a>(self, method: &str, params: Option<&'a RawValue>) -> Option<&'a RawValue> {
        #[derive(serde::Deserialize)]
        struct Lsp<'a> {
            #[serde(borrow)]
            id: &'a RawValue,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Mcp<'a> {
            #[serde(borrow)]
            request_id: &'a RawValue,
        }
        let params = params?.get();
        match (self, method) {
            (Cancellation::Lsp, "$/cancelRequest") => {
                serde_json::from_str::<Lsp<'a>>(params).ok().map(|p| p.id)
            }
            (Cancellation::Mcp, "notifications/cancelled") => {
                serde_json::from_str::<Mcp<'a>>(params)
                    .ok()
                    .map(|p| p.request_id)
            }
            _ => None,
        }
    }

    /// Whether a cancelled call is still answered (with `-32800`).
    pub fn answers_cancelled(self) -> bool {
        self == Cancellation::Lsp
    }
}

/// The calls running on one end of a connection that the other may cancel, by id (raw JSON):
/// whichever of a call's end and its cancellation comes first wins, so that the call is
/// answered once. `H` is what stops a call (a task's abort handle). Shared by the server's
/// connections and the client's.
///
/// ```
/// use rpc_core::peer::Running;
/// let running = Running::<&str>::default();
/// let call = running.start("7".into());
/// call.set_handle("the task");
/// // The cancellation comes first: it gets the handle to stop the call, which owes no answer.
/// assert_eq!(running.cancel("7").as_deref().and_then(|c| c.handle()), Some(&"the task"));
/// assert!(!running.finish("7", &call));
/// // A call that ends first is answered, and a late cancellation finds nothing.
/// let call = running.start("8".into());
/// assert!(running.finish("8", &call));
/// assert!(running.cancel("8").is_none());
/// ```
pub struct Running<H> {
    calls: std::sync::Mutex<std::collections::HashMap<Box<str>, Arc<Cancellable<H>>>>,
}

impl<H> Default for Running<H> {
    fn default() -> Self {
        Running {
            calls: std::sync::Mutex::default(),
        }
    }
}

/// One call that may be cancelled: see [`Running`].
pub struct Cancellable<H> {
    /// `RUNNING`, then `FINISHED` or `CANCELLED`.
    state: std::sync::atomic::AtomicU8,
    handle: std::sync::OnceLock<H>,
}

const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const CANCELLED: u8 = 2;

impl<H> Cancellable<H> {
    /// What stops the call, once it runs.
    pub fn set_handle(&self, handle: H) {
        let _ = self.handle.set(handle);
    }

    /// What stops the call, if it was set.
    pub fn handle(&self) -> Option<&H> {
        self.handle.get()
    }

    fn settle(&self, to: u8) -> bool {
        self.state
            .compare_exchange(
                RUNNING,
                to,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            )
            .is_ok()
    }
}

impl<H> Running<H> {
    fn calls(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Box<str>, Arc<Cancellable<H>>>> {
        // One insert or remove at a time: a panic leaves the map whole.
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The call with id `id` starts. A peer that reuses the id of a call still running can
    /// cancel only the later one.
    pub fn start(&self, id: Box<str>) -> Arc<Cancellable<H>> {
        let call = Arc::new(Cancellable {
            state: std::sync::atomic::AtomicU8::new(RUNNING),
            handle: std::sync::OnceLock::new(),
        });
        self.calls().insert(id, call.clone());
        call
    }

    /// The call `call` with id `id` ended: `false` when it was cancelled first and owes no
    /// answer (the canceller answered it, if anyone did).
    pub fn finish(&self, id: &str, call: &Arc<Cancellable<H>>) -> bool {
        let mut calls = self.calls();
        if calls.get(id).is_some_and(|c| Arc::ptr_eq(c, call)) {
            calls.remove(id);
        }
        drop(calls);
        call.settle(FINISHED)
    }

    /// Cancels the call with id `id`: the call, whose handle stops it, when it was still
    /// running; `None` when it had ended (or never ran), and nothing is to be done.
    pub fn cancel(&self, id: &str) -> Option<Arc<Cancellable<H>>> {
        self.calls()
            .remove(id)
            .filter(|call| call.settle(CANCELLED))
    }
}
