//! The WebSocket client's own costs, against our server (the `pubsub` example's app) on
//! 127.0.0.1: calls over one socket, one at a time and 64 in flight, beside the same calls over
//! HTTP keep-alive; a subscription's items per second; and the client's heap per idle
//! subscription. The server runs on a thread of its own; the client on the main thread, whose
//! allocations the counting allocator reports apart from the server's.
//!
//! ```text
//! cargo bench -p rpc-bench --bench ws_client               # 20,000 calls per run
//! cargo bench -p rpc-bench --bench ws_client -- --smoke    # 500: checks that it all works
//! ```

use std::time::{Duration, Instant};

use examples::pubsub::PubsubClient;
use futures_util::StreamExt as _;
use rpc_client::{Client, Subscription};

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

/// `calls` calls of `add`, `in_flight` at a time; calls per second.
async fn calls_per_second(client: &PubsubClient, calls: u64, in_flight: u64) -> f64 {
    let started = Instant::now();
    let lanes = (0..in_flight).map(|lane| async move {
        let mut n = lane;
        while n < calls {
            assert_eq!(client.add(n, 1).await.expect("an answer"), n + 1);
            n += in_flight;
        }
    });
    futures_util::future::join_all(lanes).await;
    calls as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let calls: u64 = if smoke { 500 } else { 20_000 };
    let items: u32 = if smoke { 1_000 } else { 200_000 };
    let idle: usize = if smoke { 50 } else { 1_000 };

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the server's runtime");
    let addr = server
        .block_on(examples::spawn(examples::pubsub::app(), "127.0.0.1:0"))
        .expect("the server listens");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client's runtime");
    runtime.block_on(async {
        let ws = PubsubClient::new(&format!("ws://{addr}/rpc")).expect("a ws:// client");
        let http = PubsubClient::new(&format!("http://{addr}/rpc")).expect("an http:// client");
        // Warm both: the socket, the pool, the allocator.
        calls_per_second(&ws, calls / 10, 8).await;
        calls_per_second(&http, calls / 10, 8).await;
        println!("{calls} calls of `add`, client on one thread, server on another:");
        for in_flight in [1, 64] {
            let over_ws = calls_per_second(&ws, calls, in_flight).await;
            let over_http = calls_per_second(&http, calls, in_flight).await;
            println!(
                "  {in_flight:>2} in flight: one WebSocket {over_ws:>8.0} calls/s, HTTP keep-alive {over_http:>8.0} calls/s ({:.2}x)",
                over_ws / over_http
            );
        }

        let started = Instant::now();
        let mut counter = ws.subscribe_counter(0, items).await.expect("a subscription");
        let mut received = 0u64;
        while let Some(item) = counter.next().await {
            assert_eq!(item.expect("an item"), received);
            received += 1;
        }
        assert_eq!(received, u64::from(items), "every item arrived");
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "one subscription: {items} items in {elapsed:.2} s, {:.0} items/s",
            f64::from(items) / elapsed
        );

        let client = Client::new(&format!("ws://{addr}/rpc")).expect("a ws:// client");
        // The connection's own buffers come first, so that only subscriptions are counted.
        let _: u64 = client.call("add", Some(&(1, 1))).await.expect("an answer");
        let before = bench_support::thread_stats();
        let mut held: Vec<Subscription<u64>> = Vec::with_capacity(idle);
        let reserved = bench_support::thread_stats();
        for _ in 0..idle {
            // An hour between ticks: idle for the whole run.
            let ticks = client
                .subscribe("subscribe_ticks", "tick", "unsubscribe_ticks", Some(&[3_600_000]))
                .await
                .expect("a subscription");
            held.push(ticks);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = bench_support::thread_stats();
        let per = (after.live - reserved.live) as f64 / idle as f64;
        println!(
            "{idle} idle subscriptions on one socket: {per:.0} bytes of client heap each (live bytes on the client's thread, the Vec holding them apart: {} bytes)",
            reserved.live - before.live
        );
        drop(held);
    });
}
