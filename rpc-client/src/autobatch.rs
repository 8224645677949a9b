//! Automatic batching: calls that many tasks make at about the same time go out together as
//! one JSON-RPC batch, gathered by a background task.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use rpc_core::wire::Response;
use rpc_core::{Error, ErrorObject};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use crate::{Client, Inner, malformed};

/// Opt-in automatic batching for a [`Client`]: calls that tasks sharing the client make at
/// about the same time go out together as one batch request, and each caller gets its own
/// answer (a method's error reaches only its caller).
///
/// A background task, started with the first call, gathers the calls. It sends what it has as
/// soon as no more calls are coming (after letting the tasks that are ready to run make theirs),
/// when `max_size` calls are gathered, or `max_delay` after the first, whichever comes first: a
/// call made alone goes out at once, and a crowd of callers shares requests. Batches are sent
/// concurrently, each under the client's retry and failover policies; a batch is tried again
/// whole only when every call in it is idempotent, and when it fails, each of its calls fails
/// with the error. Notifications join the batches too: a notification's caller returns once
/// the request carrying it was delivered (or with the error that stopped it). Explicit
/// [`Batch`](crate::Batch)es are sent as they are.
/// Dropping the last clone of the client stops the task; a caller dropping its call's future
/// affects no other call.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_core::Error> {
/// use std::time::Duration;
/// use rpc_client::{AutoBatch, Client};
///
/// let client = Client::builder("http://127.0.0.1:7002/rpc")
///     .auto_batch(AutoBatch::new().max_size(64).max_delay(Duration::from_micros(500)))
///     .build()?;
/// // 100 tasks calling at once: two requests, not 100.
/// let tasks: Vec<_> = (0..100i64)
///     .map(|i| {
///         let client = client.clone();
///         tokio::spawn(async move { client.call::<i64, _>("square", Some(&[i])).await })
///     })
///     .collect();
/// for (i, task) in (0..).zip(tasks) {
///     assert_eq!(task.await.expect("the task ran")?, i * i);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AutoBatch {
    max_size: usize,
    max_delay: Duration,
}

impl Default for AutoBatch {
    fn default() -> Self {
        AutoBatch::new()
    }
}

impl AutoBatch {
    /// At most 64 calls in a batch, gathered for at most 1 ms.
    pub fn new() -> Self {
        AutoBatch {
            max_size: 64,
            max_delay: Duration::from_millis(1),
        }
    }

    /// The most calls one batch carries (at least 1; keep it within the server's batch limit,
    /// 1024 by default for rpc-server).
    pub fn max_size(mut self, calls: usize) -> Self {
        self.max_size = calls.max(1);
        self
    }

    /// The longest the first call of a batch waits for others to join it.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }
}

/// One call's answer: the raw result or the error object the server sent, or why the call
/// got no answer.
pub(crate) type Answer = Result<Result<Box<RawValue>, ErrorObject>, Error>;

/// A call (or, without an id, a notification) waiting to be sent.
struct Pending {
    id: Option<u64>,
    body: Vec<u8>,
    idempotent: bool,
    reply: oneshot::Sender<Answer>,
}

/// A client's batching state: its policy, and the queue of its task once started.
#[derive(Debug)]
pub(crate) struct Batcher {
    policy: AutoBatch,
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl Batcher {
    pub(crate) fn new(policy: AutoBatch) -> Self {
        Batcher {
            policy,
            queue: OnceLock::new(),
        }
    }

    /// Queues the call `body` (with id `id`; a notification without) of `inner`'s client,
    /// starting the task on first use. Gives the body back when there is no task to take it
    /// (no tokio runtime, or the runtime the task ran on has shut down): the caller then sends
    /// it alone. A notification's answer is `null` once its request was delivered.
    pub(crate) fn queue(
        &self,
        inner: &Arc<Inner>,
        id: Option<u64>,
        body: Vec<u8>,
        idempotent: bool,
    ) -> Result<oneshot::Receiver<Answer>, Vec<u8>> {
        let queue = match self.queue.get() {
            Some(queue) => queue,
            None => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return Err(body);
                };
                self.queue.get_or_init(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    runtime.spawn(gather(rx, Arc::downgrade(inner), self.policy));
                    tx
                })
            }
        };
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            id,
            body,
            idempotent,
            reply,
        };
        match queue.send(pending) {
            Ok(()) => Ok(answer),
            Err(mpsc::error::SendError(pending)) => Err(pending.body),
        }
    }
}

/// The task: gathers calls into batches and sends each on its own task, until every clone of
/// the client is gone (the queue then closes).
async fn gather(
    mut queue: mpsc::UnboundedReceiver<Pending>,
    client: Weak<Inner>,
    policy: AutoBatch,
) {
    while let Some(first) = queue.recv().await {
        let deadline = Instant::now() + policy.max_delay;
        let mut calls = vec![first];
        loop {
            while calls.len() < policy.max_size {
                match queue.try_recv() {
                    Ok(call) => calls.push(call),
                    Err(_) => break,
                }
            }
            if calls.len() >= policy.max_size || Instant::now() >= deadline {
                break;
            }
            // Nothing more queued yet: let the tasks that are ready to run make their calls,
            // and send when none came.
            tokio::task::yield_now().await;
            if queue.is_empty() {
                break;
            }
        }
        let Some(inner) = client.upgrade() else {
            return;
        };
        tokio::spawn(send(Client { inner }, calls));
    }
}

/// Sends `calls` as one request (a lone call as itself) and hands each caller its answer.
async fn send(client: Client, mut calls: Vec<Pending>) {
    // Callers that gave up need no answer.
    calls.retain(|call| !call.reply.is_closed());
    let idempotent = calls.iter().all(|call| call.idempotent);
    if !calls.is_empty() {
        crate::measure::batch_sent(calls.len());
    }
    let body = match calls.as_slice() {
        [] => return,
        [one] => one.body.clone(),
        many => {
            let size = many.iter().map(|c| c.body.len() + 1).sum::<usize>() + 1;
            let mut body = Vec::with_capacity(size);
            for call in many {
                body.push(if body.is_empty() { b'[' } else { b',' });
                body.extend_from_slice(&call.body);
            }
            body.push(b']');
            body
        }
    };
    let bytes = match client.post(body, idempotent).await {
        Ok(bytes) => bytes,
        Err(error) => return fail_all(calls, error),
    };
    let alone = calls.len() == 1;
    let (mut calls, notifications): (Vec<_>, Vec<_>) =
        calls.into_iter().partition(|call| call.id.is_some());
    // The request was delivered: that is all a notification gets.
    for notification in notifications {
        let _ = notification.reply.send(Ok(Ok(Box::default())));
    }
    if alone
        && let Some(one) = calls.pop()
        && let Some(id) = one.id
    {
        let _ = one.reply.send(single_answer(&bytes, id));
        return;
    }
    if calls.is_empty() {
        return;
    }
    let responses = match Response::parse_batch(&bytes) {
        Ok(responses) => responses,
        // A server that could not take the batch at all answers with one error object.
        Err(why) => {
            let error = match Response::parse(&bytes) {
                Ok(Response {
                    error: Some(error), ..
                }) => Error::Rpc(error),
                _ => malformed(why, &bytes),
            };
            return fail_all(calls, error);
        }
    };
    let mut answers: HashMap<u64, _> = responses
        .into_iter()
        .filter_map(|r| {
            let id = r.numeric_id()?;
            let answer = match r.error {
                Some(error) => Err(error),
                None => Ok(r.result.map(ToOwned::to_owned).unwrap_or_default()),
            };
            Some((id, answer))
        })
        .collect();
    // (Only calls are left: every one has an id.)
    for call in calls {
        let id = call.id.unwrap_or_default();
        let answer = answers.remove(&id).ok_or_else(|| {
            Error::Malformed(format!("the batch response has no answer with id {id}"))
        });
        let _ = call.reply.send(answer);
    }
}

/// The answer to the lone call `id` in `bytes`.
fn single_answer(bytes: &[u8], id: u64) -> Answer {
    let response = Response::parse(bytes).map_err(|e| malformed(e, bytes))?;
    match response.error {
        // An error the server could not tie to a request (a parse error, say) has id null.
        Some(error) if response.id.get() == "null" => Ok(Err(error)),
        _ if response.numeric_id() != Some(id) => Err(Error::Malformed(format!(
            "the response's id {} is not the request's id {id}",
            response.id.get()
        ))),
        Some(error) => Ok(Err(error)),
        None => match response.result {
            Some(result) => Ok(Ok(result.to_owned())),
            None => Err(Error::Malformed("no result".into())),
        },
    }
}

/// Fails every call with its own copy of `error`.
fn fail_all(calls: Vec<Pending>, error: Error) {
    let error = shareable(error);
    for call in calls {
        let _ = call.reply.send(Err(copy(&error)));
    }
}

/// A transport error shared by the calls of a failed batch: it reads as the original.
#[derive(Debug, Clone)]
struct SharedCause(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for SharedCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// `error` in a form [`copy`] can duplicate.
fn shareable(error: Error) -> Error {
    match error {
        Error::Transport(cause) if !cause.is::<SharedCause>() => {
            Error::Transport(Box::new(SharedCause(Arc::from(cause))))
        }
        other => other,
    }
}

/// A copy of a [`shareable`] error.
fn copy(error: &Error) -> Error {
    match error {
        Error::Transport(cause) => match cause.downcast_ref::<SharedCause>() {
            Some(shared) => Error::Transport(Box::new(shared.clone())),
            None => Error::Transport(cause.to_string().into()),
        },
        Error::Timeout => Error::Timeout,
        Error::Status { status, body } => Error::Status {
            status: *status,
            body: body.clone(),
        },
        Error::Malformed(why) => Error::Malformed(why.clone()),
        Error::Decode(why) => Error::Decode(why.clone()),
        Error::Rpc(obj) => Error::Rpc(obj.clone()),
        Error::Request(why) => Error::Request(why.clone()),
        Error::Unavailable(endpoints) => Error::Unavailable(endpoints.clone()),
        other => Error::Transport(other.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_transport_error_reads_as_the_original() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let error = shareable(Error::Transport(Box::new(io)));
        let (a, b) = (copy(&error), copy(&error));
        assert_eq!(a.to_string(), "transport error: reset by peer");
        assert_eq!(b.to_string(), a.to_string());
        assert!(matches!(copy(&Error::Timeout), Error::Timeout));
    }

    #[test]
    fn a_lone_answer_is_checked_against_its_id() {
        let ok = single_answer(br#"{"jsonrpc":"2.0","result":7,"id":3}"#, 3);
        assert_eq!(ok.unwrap().unwrap().get(), "7");
        let wrong = single_answer(br#"{"jsonrpc":"2.0","result":7,"id":4}"#, 3);
        assert!(matches!(wrong, Err(Error::Malformed(_))));
        let parse = single_answer(
            br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#,
            3,
        );
        assert_eq!(parse.unwrap().unwrap_err().code, -32700);
    }
}
