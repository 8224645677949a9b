//! Subscriptions over WebSocket, side by side: our server (`#[rpc]` service through
//! `rpc_server::serve`) and jsonrpsee's (an `RpcModule` with the same method names and the same
//! wire format), on 127.0.0.1, driven by the same raw tokio-tungstenite client sending the same
//! JSON. Each server runs in a child process of its own (this binary, started again with
//! `--serve`) on one thread, so that its resident memory is read from `/proc/PID/status` apart
//! from the client's, and its heap is the counting allocator's live bytes on the server's thread.
//!
//! - **wire**: `subscribe_counter(5, 3)` and `add` on each server, checked field by field;
//! - **fan-out**: 1,000 subscribers (100 sockets x 10 subscriptions) to one broadcast channel,
//!   which then carries N items; every subscriber must get every item, in order;
//! - **idle memory**: 100 sockets, then 10,000 idle subscriptions on them (a clock ticking once
//!   an hour); resident and heap bytes per socket and per subscription;
//! - **calls**: `add` over one socket, 64 calls in flight.
//!
//! Both servers keep their default limits, except jsonrpsee's 100 connections, raised to our
//! 10,000 so that the fan-out's 101 sockets fit.
//!
//! ```text
//! cargo bench -p rpc-bench --bench pubsub               # N = 2,000 items, 50,000 calls
//! cargo bench -p rpc-bench --bench pubsub -- --smoke    # tiny: checks every server answers right
//! ```

mod client;
mod measure;
mod report;
mod servers;

use client::check_wire;
use measure::{Run, call_throughput, fan_out, idle_memory};
use report::{ratio, report};
use servers::{Served, Server, serve_child};

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

/// How big a run is.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    fan_sockets: usize,
    subs_per_fan_socket: usize,
    items: u64,
    idle_sockets: usize,
    subs_per_idle_socket: usize,
    calls: u64,
    window: u64,
}

impl Sizes {
    fn new(smoke: bool) -> Self {
        if smoke {
            Sizes {
                fan_sockets: 10,
                subs_per_fan_socket: 10,
                items: 50,
                idle_sockets: 10,
                subs_per_idle_socket: 10,
                calls: 500,
                window: 64,
            }
        } else {
            Sizes {
                fan_sockets: 100,
                subs_per_fan_socket: 10,
                items: 2_000,
                idle_sockets: 100,
                subs_per_idle_socket: 100,
                calls: 50_000,
                window: 64,
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        let server = match args.get(at + 1).map(String::as_str) {
            Some("ours") => Server::Ours,
            Some("jsonrpsee") => Server::Jsonrpsee,
            other => panic!("--serve takes ours or jsonrpsee, not {other:?}"),
        };
        let capacity = args
            .get(at + 2)
            .and_then(|c| c.parse().ok())
            .unwrap_or(1024);
        return serve_child(server, capacity);
    }
    let smoke = args.iter().any(|a| a == "--smoke");
    let sizes = Sizes::new(smoke);
    // The feed's channel holds every item, so that no receiver lags.
    let capacity = (sizes.items as usize).max(16);
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client's runtime");
    println!(
        "Each server in a child process of its own on one thread; the client (tokio-tungstenite, \
         the same JSON for both) on one thread of this process.{}\n",
        if smoke {
            " Smoke run: figures mean nothing."
        } else {
            ""
        }
    );

    for server in Server::ALL {
        let served = Served::start(server, capacity);
        client.block_on(check_wire(server, &served.url(server)));
    }
    println!(
        "wire: both servers answer add and send subscribe_counter's items as {{\"jsonrpc\":\"2.0\",\"method\":\"counter\",\"params\":{{\"subscription\":ID,\"result\":ITEM}}}}, then \"error\":null\n"
    );

    let subscribers = sizes.fan_sockets * sizes.subs_per_fan_socket;
    let mut fan = [Run::default(); 2];
    for (i, server) in Server::ALL.into_iter().enumerate() {
        let served = Served::start(server, capacity);
        fan[i] = client.block_on(fan_out(&served, &served.url(server), sizes));
    }
    println!(
        "fan-out: {subscribers} subscribers ({} sockets x {}), {} items published at once, every item checked in order",
        sizes.fan_sockets, sizes.subs_per_fan_socket, sizes.items
    );
    report(&fan, "items/s delivered", "item");

    let mut idle = Vec::new();
    for server in Server::ALL {
        let mut served = Served::start(server, capacity);
        let url = served.url(server);
        idle.push(client.block_on(idle_memory(&mut served, &url, sizes)));
    }
    println!(
        "idle memory: {} sockets, then {} idle subscriptions on them; the server process's VmRSS \
         and the live heap on its thread (the client is another process)",
        sizes.idle_sockets,
        sizes.idle_sockets * sizes.subs_per_idle_socket
    );
    for (name, i) in [("ours", &idle[0]), ("jsonrpsee", &idle[1])] {
        println!(
            "  {name:<9} per subscription: {:>7.0} B heap, {:>7.0} B RSS; per socket: {:>7.0} B heap, {:>7.0} B RSS",
            i.heap_per_sub, i.rss_per_sub, i.heap_per_socket, i.rss_per_socket
        );
    }
    println!(
        "  ours/jsonrpsee per subscription: heap {}, RSS {}; per socket: heap {}, RSS {}\n",
        ratio(idle[0].heap_per_sub, idle[1].heap_per_sub),
        ratio(idle[0].rss_per_sub, idle[1].rss_per_sub),
        ratio(idle[0].heap_per_socket, idle[1].heap_per_socket),
        ratio(idle[0].rss_per_socket, idle[1].rss_per_socket),
    );

    let mut rate = [Run::default(); 2];
    for (i, server) in Server::ALL.into_iter().enumerate() {
        let served = Served::start(server, capacity);
        rate[i] = client.block_on(call_throughput(
            &served,
            &served.url(server),
            sizes.calls,
            sizes.window,
        ));
    }
    println!(
        "calls: {} calls of add over one socket, {} in flight",
        sizes.calls, sizes.window
    );
    report(&rate, "calls/s", "call");
}
