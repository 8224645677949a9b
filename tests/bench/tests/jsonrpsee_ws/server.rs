//! The peer under test: a jsonrpsee WebSocket server written as its users write it, with calls
//! (`subtract`, `echo`, `sleep_ms`, a `busy_twice` that answers "busy" twice) and subscriptions
//! (a counter that ends, a stream that fails, ticks until unsubscribed); it reports each closed
//! `ticks` sink so that the tests can see an unsubscribe take effect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonrpsee::core::{SubscriptionError, SubscriptionResult};
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use serde_json::value::to_raw_value;
use tokio::sync::mpsc;

/// What the server reports about its subscriptions, for the tests to observe.
struct Observed {
    /// One message each time a `ticks` subscription's sink closes.
    sink_closed: mpsc::UnboundedSender<()>,
    /// Calls of `busy_twice` so far.
    busy_calls: AtomicUsize,
}

fn item(value: &impl serde::Serialize) -> SubscriptionMessage {
    SubscriptionMessage::from(to_raw_value(value).unwrap())
}

/// A jsonrpsee server with calls and subscriptions, on 127.0.0.1 port 0.
pub(crate) async fn serve() -> (SocketAddr, ServerHandle, mpsc::UnboundedReceiver<()>) {
    let (sink_closed, closed) = mpsc::unbounded_channel();
    let mut module = RpcModule::new(Observed {
        sink_closed,
        busy_calls: AtomicUsize::new(0),
    });
    module
        .register_method("subtract", |params, _, _| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(a - b)
        })
        .unwrap();
    module
        .register_method("echo", |params, _, _| {
            let (value,): (serde_json::Value,) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(value)
        })
        .unwrap();
    // The server's "busy" error for the first two calls, then an answer.
    module
        .register_method("busy_twice", |_, observed, _| {
            match observed.busy_calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(ErrorObjectOwned::owned(-32005, "Server busy", None::<()>)),
                n => Ok(n),
            }
        })
        .unwrap();
    module
        .register_async_method("sleep_ms", |params, _, _| async move {
            let (ms,): (u64,) = params.parse()?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ErrorObjectOwned>(ms)
        })
        .unwrap();
    // `count` items from `start`, then the end as the wire format has it: `"error": null`.
    module
        .register_subscription(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            |params, pending: PendingSubscriptionSink, _, _| async move {
                let (start, count): (u64, u32) = params.parse()?;
                let sink = pending.accept().await?;
                for n in start..start + u64::from(count) {
                    sink.send(item(&n)).await?;
                }
                Err::<(), _>(SubscriptionError::from_json(to_raw_value(&()).unwrap()))
            },
        )
        .unwrap();
    // One item, then a failure carrying an error object.
    module
        .register_subscription(
            "subscribe_failing",
            "failing",
            "unsubscribe_failing",
            |_, pending: PendingSubscriptionSink, _, _| async move {
                let sink = pending.accept().await?;
                sink.send(item(&"first")).await?;
                let error = serde_json::json!({"code": -32001, "message": "feed lost", "data": 7});
                Err::<(), _>(SubscriptionError::from_json(to_raw_value(&error).unwrap()))
            },
        )
        .unwrap();
    // A tick every `every_ms` (0: as fast as the socket takes them) until the sink closes,
    // which the server reports.
    module
        .register_subscription(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            |params, pending: PendingSubscriptionSink, observed: Arc<Observed>, _| async move {
                let (every_ms,): (u64,) = params.parse()?;
                let sink = pending.accept().await?;
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        sent = sink.send(item(&n)) => if sent.is_err() { break },
                    }
                    n += 1;
                    if every_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(every_ms)).await;
                    }
                }
                let _ = observed.sink_closed.send(());
                SubscriptionResult::Ok(())
            },
        )
        .unwrap();
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start(module), closed)
}
