//! The measurements: a [`Run`] of load timed with each side's CPU, and the three loads measured
//! on each server: items fanned out to every subscriber, calls over one socket, and the
//! resident and heap bytes of idle sockets and subscriptions.

use std::time::Instant;

use futures_util::SinkExt as _;

use crate::Sizes;
use crate::client::{Ws, calls, connect, next_text, raw_field, read_feed, request, subscribe_all};
use crate::servers::Served;

/// A stretch of load: how much was done, in how long, at what CPU cost on each side.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run {
    done: u64,
    seconds: f64,
    server_cpu_ns: u64,
    client_cpu_ns: u64,
}

impl Run {
    /// Measures `load`, which answers how much it did.
    async fn measure(served: &Served, load: impl std::future::Future<Output = u64>) -> Run {
        let tid = bench_support::current_tid();
        let server0 = served.cpu_ns();
        let client0 = bench_support::thread_cpu_ns(tid).unwrap_or(0);
        let started = Instant::now();
        let done = load.await;
        Run {
            done,
            seconds: started.elapsed().as_secs_f64(),
            server_cpu_ns: served.cpu_ns().saturating_sub(server0),
            client_cpu_ns: bench_support::thread_cpu_ns(tid)
                .unwrap_or(0)
                .saturating_sub(client0),
        }
    }

    pub(crate) fn per_second(&self) -> f64 {
        self.done as f64 / self.seconds
    }

    /// The server's CPU per unit done, in nanoseconds.
    pub(crate) fn server_ns_each(&self) -> f64 {
        self.server_cpu_ns as f64 / self.done as f64
    }

    /// How busy each side was over the run's wall time.
    pub(crate) fn busy(&self) -> (f64, f64) {
        let wall = self.seconds * 1e9;
        (
            self.server_cpu_ns as f64 / wall,
            self.client_cpu_ns as f64 / wall,
        )
    }
}

/// Items delivered to every subscriber.
pub(crate) async fn fan_out(served: &Served, url: &str, sizes: Sizes) -> Run {
    let subscribers = sizes.fan_sockets * sizes.subs_per_fan_socket;
    let sockets = subscribe_all(
        url,
        sizes.fan_sockets,
        sizes.subs_per_fan_socket,
        "subscribe_feed",
        "[]",
    )
    .await;
    let mut control = connect(url).await;
    Run::measure(served, async {
        let readers: Vec<_> = sockets
            .into_iter()
            .map(|(ws, ids)| tokio::spawn(read_feed(ws, ids, sizes.items)))
            .collect();
        let reached = calls(&mut control, &[("publish", format!("[{}]", sizes.items))]).await;
        assert_eq!(
            reached[0], subscribers as u64,
            "every subscription receives the feed"
        );
        for reader in readers {
            reader.await.expect("every subscriber got every item");
        }
        subscribers as u64 * sizes.items
    })
    .await
}

/// Calls of `add` over one socket, `window` in flight.
pub(crate) async fn call_throughput(served: &Served, url: &str, calls: u64, window: u64) -> Run {
    let mut ws = connect(url).await;
    let run = async |ws: &mut Ws, calls: u64| {
        let mut sent = 0;
        while sent < window.min(calls) {
            ws.feed(request(sent, "add", &format!("[{sent},1]")))
                .await
                .expect("send");
            sent += 1;
        }
        ws.flush().await.expect("send");
        for _ in 0..calls {
            let text = next_text(ws).await;
            let id = raw_field(&text, "\"id\":").and_then(|v| v.parse::<u64>().ok());
            let result = raw_field(&text, "\"result\":").and_then(|v| v.parse::<u64>().ok());
            match (id, result) {
                (Some(id), Some(result)) if result == id + 1 => {}
                _ => panic!("expected an answer to add(id, 1), got {text}"),
            }
            if sent < calls {
                ws.send(request(sent, "add", &format!("[{sent},1]")))
                    .await
                    .expect("send");
                sent += 1;
            }
        }
        calls
    };
    run(&mut ws, calls / 10).await; // warm-up
    Run::measure(served, run(&mut ws, calls)).await
}

/// Resident and heap bytes of the server, per socket and per idle subscription.
pub(crate) struct Idle {
    pub(crate) rss_per_socket: f64,
    pub(crate) heap_per_socket: f64,
    pub(crate) rss_per_sub: f64,
    pub(crate) heap_per_sub: f64,
}

pub(crate) async fn idle_memory(served: &mut Served, url: &str, sizes: Sizes) -> Idle {
    let (rss0, heap0) = (served.rss(), served.heap());
    let mut sockets = Vec::with_capacity(sizes.idle_sockets);
    for _ in 0..sizes.idle_sockets {
        let mut ws = connect(url).await;
        // A first call sizes the connection's own buffers, which are not the subscriptions'.
        assert_eq!(calls(&mut ws, &[("add", "[1,1]".into())]).await[0], 2);
        sockets.push(ws);
    }
    let (rss1, heap1) = (served.rss(), served.heap());
    let mut held = Vec::with_capacity(sizes.idle_sockets);
    for mut ws in sockets {
        // One tick an hour: idle for the whole run.
        let requests =
            vec![("subscribe_ticks", "[3600000]".to_owned()); sizes.subs_per_idle_socket];
        let ids = calls(&mut ws, &requests).await;
        assert!(
            ids.iter().all(|id| id.is_string() || id.is_u64()),
            "subscription ids: {ids:?}"
        );
        held.push(ws);
    }
    let (rss2, heap2) = (served.rss(), served.heap());
    let subs = (sizes.idle_sockets * sizes.subs_per_idle_socket) as f64;
    let socks = sizes.idle_sockets as f64;
    drop(held);
    Idle {
        rss_per_socket: (rss1 - rss0) as f64 / socks,
        heap_per_socket: (heap1 - heap0) as f64 / socks,
        rss_per_sub: (rss2 - rss1) as f64 / subs,
        heap_per_sub: (heap2 - heap1) as f64 / subs,
    }
}
