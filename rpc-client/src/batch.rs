//! Batches: many calls in one request, each answer taken back with its own type.

use std::collections::HashMap;
use std::marker::PhantomData;

use rpc_core::wire::{self, Response};
use rpc_core::{CallError, Error, ErrorObject, MethodError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::{Client, Method, decode, encode_error, malformed, typed};

/// Calls queued to go out together as one JSON-RPC batch.
///
/// Generated `{Trait}Batch` types wrap it with the trait's methods; it can also be used directly.
///
/// ```no_run
/// # async fn run(client: rpc_client::Client) -> Result<(), rpc_core::Error> {
/// let mut batch = client.batch();
/// let sum = batch.call::<i64, _>("sum", Some(&[1, 2, 4]));
/// let difference = batch.call::<i64, _>("subtract", Some(&(42, 23)));
/// batch.notify("notify_hello", Some(&[7]));
/// let mut answers = batch.send().await?;
/// assert_eq!(answers.take(sum)?, 7);
/// assert_eq!(answers.take(difference)?, 19);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a batch does nothing until it is sent"]
pub struct Batch {
    client: Client,
    body: Vec<u8>,
    calls: usize,
    /// Whether every call queued is idempotent, so that the batch may be sent again whole.
    idempotent: bool,
    error: Option<Error>,
}

/// The slot of one call in a [`Batch`], for a method whose failures are all [`Error`]s.
#[derive(Debug)]
#[must_use = "take the answer from the batch response with this slot"]
pub struct Slot<R> {
    id: u64,
    marker: PhantomData<fn() -> R>,
}

/// The slot of one call in a [`Batch`], for a method with its own error type `E`.
#[derive(Debug)]
#[must_use = "take the answer from the batch response with this slot"]
pub struct TypedSlot<R, E> {
    id: u64,
    marker: PhantomData<fn() -> (R, E)>,
}

/// What a slot gives back when taken from a [`BatchResponse`].
pub trait SlotOutput {
    /// The typed result of the call.
    type Output;

    #[doc(hidden)]
    fn id(&self) -> u64;

    #[doc(hidden)]
    fn decode(answer: Result<Result<Box<RawValue>, ErrorObject>, Error>) -> Self::Output;
}

impl<R> Slot<R> {
    /// A slot for a call that could not be queued: sending the batch fails with `why`.
    pub(crate) fn failed(batch: &mut Batch, why: &str) -> Self {
        batch.fail(why);
        Slot {
            id: 0,
            marker: PhantomData,
        }
    }
}

impl<R, E> TypedSlot<R, E> {
    /// A slot for a call that could not be queued: sending the batch fails with `why`.
    pub(crate) fn failed(batch: &mut Batch, why: &str) -> Self {
        batch.fail(why);
        TypedSlot {
            id: 0,
            marker: PhantomData,
        }
    }
}

impl<R: DeserializeOwned> SlotOutput for Slot<R> {
    type Output = Result<R, Error>;

    fn id(&self) -> u64 {
        self.id
    }

    fn decode(answer: Result<Result<Box<RawValue>, ErrorObject>, Error>) -> Self::Output {
        match answer? {
            Ok(raw) => serde_json::from_str(raw.get()).map_err(crate::decode_error),
            Err(obj) => Err(Error::Rpc(obj)),
        }
    }
}

impl<R: DeserializeOwned, E: MethodError> SlotOutput for TypedSlot<R, E> {
    type Output = Result<R, CallError<E>>;

    fn id(&self) -> u64 {
        self.id
    }

    fn decode(answer: Result<Result<Box<RawValue>, ErrorObject>, Error>) -> Self::Output {
        Slot::<R>::decode(answer).map_err(typed)
    }
}

impl Batch {
    pub(crate) fn new(client: Client) -> Self {
        Batch {
            client,
            body: Vec::with_capacity(256),
            calls: 0,
            idempotent: true,
            error: None,
        }
    }

    fn push<P: Serialize + ?Sized>(
        &mut self,
        method: Method<'_>,
        params: Option<&P>,
        id: Option<u64>,
    ) {
        let mark = self.body.len();
        self.idempotent &= method.is_idempotent();
        self.body.push(if mark == 0 { b'[' } else { b',' });
        if let Err(e) = wire::write_request(&mut self.body, method.name(), params, id) {
            self.body.truncate(mark);
            self.error.get_or_insert(encode_error(e));
        }
        self.calls += 1;
    }

    /// Makes sending the batch fail with `why`.
    pub(crate) fn fail(&mut self, why: &str) {
        self.error.get_or_insert(Error::Request(why.into()));
    }

    /// Queues a call of `method`.
    pub fn call<'m, R, P>(&mut self, method: impl Into<Method<'m>>, params: Option<&P>) -> Slot<R>
    where
        R: DeserializeOwned,
        P: Serialize + ?Sized,
    {
        let id = self.client.next_id();
        self.push(method.into(), params, Some(id));
        Slot {
            id,
            marker: PhantomData,
        }
    }

    /// Queues a call of `method` whose own error type is `E`.
    pub fn call_typed<'m, R, E, P>(
        &mut self,
        method: impl Into<Method<'m>>,
        params: Option<&P>,
    ) -> TypedSlot<R, E>
    where
        R: DeserializeOwned,
        E: MethodError,
        P: Serialize + ?Sized,
    {
        let id = self.client.next_id();
        self.push(method.into(), params, Some(id));
        TypedSlot {
            id,
            marker: PhantomData,
        }
    }

    /// Queues a notification of `method`.
    pub fn notify<'m, P: Serialize + ?Sized>(
        &mut self,
        method: impl Into<Method<'m>>,
        params: Option<&P>,
    ) {
        self.push(method.into(), params, None);
    }

    /// How many calls and notifications are queued.
    pub fn len(&self) -> usize {
        self.calls
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.calls == 0
    }

    /// Sends the batch and waits for every answer. A batch of notifications only gets an empty
    /// response; an empty batch is not sent at all.
    pub async fn send(mut self) -> Result<BatchResponse, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.calls == 0 {
            return Ok(BatchResponse::default());
        }
        self.body.push(b']');
        let bytes = self.client.post(self.body, self.idempotent).await?;
        let mut answers = HashMap::new();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(BatchResponse { answers });
        }
        // A server that could not take the batch at all answers with one error object.
        if let Ok(single) = Response::parse(&bytes) {
            let error = match decode::<serde_json::Value>(single) {
                Err(e) => e,
                Ok(_) => Error::Malformed("a single result where a batch was expected".into()),
            };
            return Err(error);
        }
        for response in Response::parse_batch(&bytes).map_err(|e| malformed(e, &bytes))? {
            let Some(id) = response.numeric_id() else {
                continue;
            };
            let answer = match response.error {
                Some(error) => Err(error),
                None => Ok(response.result.map(ToOwned::to_owned).unwrap_or_default()),
            };
            answers.insert(id, answer);
        }
        Ok(BatchResponse { answers })
    }
}

/// The answers to a sent [`Batch`], taken out one slot at a time.
#[derive(Debug, Default)]
pub struct BatchResponse {
    answers: HashMap<u64, Result<Box<RawValue>, ErrorObject>>,
}

impl BatchResponse {
    /// The typed answer to the call behind `slot`. A call the server did not answer is
    /// [`Error::Malformed`].
    pub fn take<S: SlotOutput>(&mut self, slot: S) -> S::Output {
        let answer = self.answers.remove(&slot.id()).ok_or_else(|| {
            Error::Malformed(format!(
                "the batch response has no answer with id {}",
                slot.id()
            ))
        });
        S::decode(answer)
    }

    /// How many answers are left to take.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether every answer has been taken.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}
