//! From a body to a response body: parsing, batches, notifications, ids and panics, around a
//! [`Service`] that only ever sees one call at a time.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

use rpc_core::wire::{self, Body, Entry};
use rpc_core::{ErrorObject, Service};

use crate::{Config, builtin};

/// Runs every call in `body`; `None` means no response at all (notifications only).
pub(crate) async fn handle<S: Service>(
    service: &S,
    config: &Config,
    body: &[u8],
) -> Option<Vec<u8>> {
    // A large request usually means a large answer (an echo, an upload's summary is the
    // exception): reserving it up front saves doubling the buffer, and copying it, on the way.
    let capacity = if body.len() > 4096 {
        body.len() + 128
    } else {
        128
    };
    let mut out = Vec::with_capacity(capacity);
    match wire::parse_body(body) {
        Err(e) => wire::write_error(&mut out, &e, None),
        Ok(Body::Single(entry)) => run(service, config, entry, &mut out).await,
        Ok(Body::Batch(entries)) if entries.len() > config.max_batch_len => {
            let reason = format!(
                "a batch holds at most {} calls, this one {}",
                config.max_batch_len,
                entries.len()
            );
            let e = ErrorObject::new(rpc_core::ErrorCode::INVALID_REQUEST, "Invalid Request")
                .with_data(&reason);
            wire::write_error(&mut out, &e, None);
        }
        // Boxed: a batch's future holds every call's, and keeping it out of the single call's
        // future keeps that one small.
        Ok(Body::Batch(entries)) => Box::pin(batch(service, config, entries, &mut out)).await,
    }
    (!out.is_empty()).then_some(out)
}

/// The most futures `join_all` keeps in one allocation; past it, it allocates a task per
/// future. Joining groups of this size, and the groups in turn, keeps every level compact.
const JOIN_GROUP: usize = 30;

/// Runs a batch's calls concurrently on this task and writes their answers into `out` as one
/// array, in request order, notifications leaving nothing.
async fn batch<S: Service>(
    service: &S,
    config: &Config,
    entries: Vec<Entry<'_>>,
    out: &mut Vec<u8>,
) {
    let call = |entry| async move {
        let mut answer = Vec::with_capacity(96);
        run(service, config, entry, &mut answer).await;
        answer
    };
    let mut groups = Vec::with_capacity(entries.len().div_ceil(JOIN_GROUP));
    let mut entries = entries.into_iter();
    while entries.len() > 0 {
        groups.push(futures_util::future::join_all(
            entries.by_ref().take(JOIN_GROUP).map(call),
        ));
    }
    let answers = futures_util::future::join_all(groups).await;
    let mut first = true;
    for answer in answers.iter().flatten().filter(|a| !a.is_empty()) {
        out.push(if first { b'[' } else { b',' });
        out.extend_from_slice(answer);
        first = false;
    }
    if !first {
        out.push(b']');
    }
}

/// Runs one call, writing its response into `out` unless it is a notification.
async fn run<S: Service>(service: &S, config: &Config, entry: Entry<'_>, out: &mut Vec<u8>) {
    let request = match entry {
        Ok(request) => request,
        Err(invalid) => {
            let e = ErrorObject::invalid_request(invalid.reason);
            return wire::write_error(out, &e, invalid.id);
        }
    };
    let start = out.len();
    let authorized = config
        .authorize
        .as_ref()
        .map_or(Ok(()), |check| check(&request.method));
    let outcome = match authorized {
        Err(e) => Err(e),
        Ok(()) if builtin::claims(config, &request.method) => {
            wire::start_result(out);
            builtin::call(service.info(), config, &request.method, request.params, out)
        }
        Ok(()) => {
            wire::start_result(out);
            let call = service.call(&request.method, request.params, out);
            caught(call).await.unwrap_or_else(|()| {
                tracing::error!(method = %request.method, "a call panicked; it is answered -32603");
                Err(ErrorObject::internal_error())
            })
        }
    };
    match (request.id, outcome) {
        (None, _) => out.truncate(start),
        (Some(id), Ok(())) => wire::finish(out, Some(id)),
        (Some(id), Err(e)) => {
            out.truncate(start);
            wire::write_error(out, &e, Some(id));
        }
    }
}

/// Runs `fut`, turning a panic inside it into `Err` so that one call's panic fails that call
/// only. The panic itself is reported by the process's panic hook (standard error by default),
/// never to the caller.
async fn caught<F: Future>(fut: F) -> Result<F::Output, ()> {
    let mut fut = pin!(fut);
    std::future::poll_fn(
        move |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        },
    )
    .await
}
