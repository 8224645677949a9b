//! Subscriptions: the stream a consumer reads, and the slot the reader task fills.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use rpc_core::wire::{self, Response};
use rpc_core::{CallError, Error, ErrorCode, ErrorObject, MethodError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::{Client, Method, decode_error, encode_error, malformed, typed};

/// How a subscription ended.
pub(crate) enum End {
    /// The server ended it (`"error": null`).
    Normal,
    /// The server ended it with an error object.
    Failed(ErrorObject),
    /// The client ended it: connection lost, consumer too slow, or a malformed end.
    Lost(Error),
}

/// What flows to a consumer: an item's JSON, then at most one end.
pub(crate) enum Event {
    Item(Bytes),
    /// Boxed: the channel's storage is sized by its largest variant, and an end comes once.
    End(Box<End>),
}

/// A subscription as the transport holds it: where its items go, and how to make it again.
pub(crate) struct Slot {
    items: mpsc::Sender<Event>,
    /// The server's id for it, as JSON text; it changes when a reconnect subscribes again.
    id: Mutex<Box<str>>,
    method: String,
    params: Option<Box<RawValue>>,
    notification: String,
    unsubscribe: String,
    buffer: usize,
}

impl Slot {
    pub(crate) fn id(&self) -> Box<str> {
        self.id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_id(&self, id: &str) {
        *self.id.lock().unwrap_or_else(PoisonError::into_inner) = id.into();
    }

    pub(crate) fn notification(&self) -> &str {
        &self.notification
    }

    pub(crate) fn unsubscribe(&self) -> &str {
        &self.unsubscribe
    }

    /// Whether its consumer still reads it.
    pub(crate) fn is_wanted(&self) -> bool {
        !self.items.is_closed()
    }

    /// The subscribe call again, under a new request id.
    pub(crate) fn subscribe_request(&self, id: u64) -> Bytes {
        let mut body = Vec::with_capacity(64);
        // The params were JSON when first sent; writing them again cannot fail.
        let _ = wire::write_request(&mut body, &self.method, self.params.as_deref(), Some(id));
        body.into()
    }

    /// Hands an item to the consumer; when its buffer is full, or the consumer is gone, the
    /// subscription ends instead.
    pub(crate) fn push(&self, item: Bytes) -> Result<(), End> {
        // The channel holds one place more than the buffer, kept for the end: only the reader
        // sends, so the place is still free when it is needed.
        if self.items.capacity() <= 1 {
            crate::measure::subscriptions_lost("slow_consumer", 1);
            return Err(End::Lost(Error::Rpc(
                ErrorObject::new(
                    ErrorCode::SUBSCRIPTION_DROPPED,
                    "Subscription dropped: the subscriber reads too slowly",
                )
                .with_data(&format!(
                    "the client's buffer of {} items for this subscription is full",
                    self.buffer
                )),
            )));
        }
        self.items
            .try_send(Event::Item(item))
            .map_err(|_| End::Lost(super::closed("the subscription's stream was dropped")))
    }

    /// Ends the consumer's stream with `end`, after the items it holds.
    pub(crate) fn end(&self, end: End) {
        let _ = self.items.try_send(Event::End(Box::new(end)));
    }
}

/// A subscription's items as they arrive over a `ws://` client: a
/// [`Stream`](futures_core::Stream) of `Result<T, CallError<E>>`.
///
/// - Each item the server sends is decoded as `T`; one that does not decode is an
///   `Err(CallError::Call(Error::Decode(..)))` and the stream goes on.
/// - A stream the server fails yields one `Err(CallError::Method(e))` (or
///   `CallError::Call(Error::Rpc(..))` when the error object is not an `E`), then ends.
/// - A stream the server ends normally just ends.
/// - A lost connection yields one `Err(CallError::Call(Error::Transport(..)))`, then ends,
///   unless the client reconnects ([`ClientBuilder::reconnect`](crate::ClientBuilder::reconnect)):
///   then the subscription is made again with its original params and the stream goes on.
/// - The client holds at most [`ClientBuilder::subscription_buffer`] items (1024 by default)
///   that the consumer has not read; when a consumer falls that far behind, the subscription
///   ends: the items held come first, then one `Err(CallError::Call(Error::Rpc(..)))` with code
///   [`ErrorCode::SUBSCRIPTION_DROPPED`] (the code a server sends when it drops a subscription
///   for the same reason), and the server is told to stop sending.
///
/// Dropping the stream unsubscribes without waiting for the server's answer;
/// [`unsubscribe`](Self::unsubscribe) waits for it.
///
/// [`ClientBuilder::subscription_buffer`]: crate::ClientBuilder::subscription_buffer
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_core::CallError<rpc_core::ErrorObject>> {
/// use futures_util::StreamExt as _;
///
/// let client = rpc_client::Client::new("ws://127.0.0.1:7002/rpc")?;
/// let mut counter = client
///     .subscribe::<u64, rpc_core::ErrorObject, _>(
///         "subscribe_counter",
///         "counter",
///         "unsubscribe_counter",
///         Some(&(10, 3)),
///     )
///     .await?;
/// while let Some(item) = counter.next().await {
///     println!("{}", item?);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a subscription's items arrive only when its stream is polled"]
pub struct Subscription<T, E = ErrorObject> {
    items: mpsc::Receiver<Event>,
    slot: Arc<Slot>,
    client: Client,
    /// Set once the stream has ended or the subscription was cancelled: nothing to unsubscribe.
    done: bool,
    marker: PhantomData<fn() -> (T, E)>,
}

impl<T, E> std::fmt::Debug for Subscription<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.slot.id())
            .field("notification", &self.slot.notification)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T, E> Subscription<T, E> {
    /// The server's id for the subscription: a string's contents, or a number's digits. After
    /// a reconnect it is the new subscription's id.
    pub fn id(&self) -> String {
        let id = self.slot.id();
        serde_json::from_str::<String>(&id).unwrap_or_else(|_| id.into())
    }

    /// Unsubscribes and waits for the server's answer: `true` when the server held the
    /// subscription, `false` when it had already ended it.
    ///
    /// ```no_run
    /// # async fn run(counter: rpc_client::Subscription<u64>) -> Result<(), rpc_core::Error> {
    /// let was_live = counter.unsubscribe().await?;
    /// # let _ = was_live; Ok(()) }
    /// ```
    pub async fn unsubscribe(mut self) -> Result<bool, Error> {
        self.done = true;
        let Some(ws) = self.client.ws() else {
            return Ok(false);
        };
        ws.forget(&self.slot, false);
        let id = RawValue::from_string(format!("[{}]", self.slot.id()))
            .map_err(|e| Error::Request(e.to_string()))?;
        self.client
            .call(self.slot.unsubscribe.as_str(), Some(&*id))
            .await
    }
}

impl<T: DeserializeOwned, E: MethodError> futures_core::Stream for Subscription<T, E> {
    type Item = Result<T, CallError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let event = match this.items.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(event) => event,
        };
        Poll::Ready(match event {
            Some(Event::Item(bytes)) => {
                Some(serde_json::from_slice(&bytes).map_err(|e| CallError::Call(decode_error(e))))
            }
            Some(Event::End(end)) => {
                this.done = true;
                match *end {
                    End::Normal => None,
                    End::Failed(error) => Some(Err(typed(Error::Rpc(error)))),
                    End::Lost(error) => Some(Err(CallError::Call(error))),
                }
            }
            None => {
                this.done = true;
                None
            }
        })
    }
}

impl<T, E> Drop for Subscription<T, E> {
    fn drop(&mut self) {
        if !self.done
            && let Some(ws) = self.client.ws()
        {
            ws.forget(&self.slot, true);
        }
    }
}

impl Client {
    /// Subscribes through `method` over a `ws://` client: the server answers with a
    /// subscription id, then sends each item as a `notification` (see [`Subscription`]).
    /// Dropping the stream calls `unsubscribe` with the id. `E` is the subscription's own
    /// error type (`ErrorObject` takes any). Generated clients call this for the trait's
    /// `#[rpc(subscription = ...)]` methods; this is the way for a service with no trait at
    /// hand. Over `http://` it fails with [`Error::Request`]: only a WebSocket can carry the
    /// items.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rpc_core::CallError<rpc_core::ErrorObject>> {
    /// use futures_util::StreamExt as _;
    ///
    /// let client = rpc_client::Client::new("ws://127.0.0.1:8545")?;
    /// let mut heads = client
    ///     .subscribe::<serde_json::Value, rpc_core::ErrorObject, _>(
    ///         "eth_subscribe",
    ///         "eth_subscription",
    ///         "eth_unsubscribe",
    ///         Some(&["newHeads"]),
    ///     )
    ///     .await?;
    /// let first = heads.next().await;
    /// # let _ = first; Ok(()) }
    /// ```
    pub async fn subscribe<'m, T, E, P>(
        &self,
        method: impl Into<Method<'m>>,
        notification: &str,
        unsubscribe: &str,
        params: Option<&P>,
    ) -> Result<Subscription<T, E>, CallError<E>>
    where
        T: DeserializeOwned,
        E: MethodError,
        P: Serialize + ?Sized,
    {
        let method = method.into();
        let Some(ws) = self.ws() else {
            return Err(CallError::Call(Error::Request(format!(
                "`{}` is a subscription, and subscriptions need a ws:// URL; this client's is {}",
                method.name(),
                self.url()
            ))));
        };
        let params = params
            .map(serde_json::value::to_raw_value)
            .transpose()
            .map_err(encode_error)?;
        let buffer = ws.settings().subscription_buffer;
        let (sender, items) = mpsc::channel(buffer + 1);
        let slot = Arc::new(Slot {
            items: sender,
            id: Mutex::new("null".into()),
            method: method.name().to_owned(),
            params,
            notification: notification.to_owned(),
            unsubscribe: unsubscribe.to_owned(),
            buffer,
        });
        let id = self.next_id();
        let body = slot.subscribe_request(id);
        let frame = ws.subscribe(body, id, slot.clone()).await?;
        let response = Response::parse(&frame).map_err(|e| malformed(e, &frame))?;
        match (response.result, response.error) {
            (_, Some(error)) => Err(typed(Error::Rpc(error))),
            (Some(_), None) => Ok(Subscription {
                items,
                slot,
                client: self.clone(),
                done: false,
                marker: PhantomData,
            }),
            (None, None) => Err(CallError::Call(Error::Malformed("no result".into()))),
        }
    }
}
