//! The two servers measured, each in a child process of its own: this binary started again with
//! `--serve`, serving our `#[rpc]` service or jsonrpsee's `RpcModule` (the same methods, fed from
//! the same broadcast channel) on one thread, and answering the parent's questions about its heap
//! on stdin. [`Served`] is the parent's handle: the URL, the process's RSS and CPU, its heap.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use rpc_core::{Subscription, rpc};
use tokio::sync::broadcast;

/// The two servers measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Ours,
    Jsonrpsee,
}

impl Server {
    pub(crate) const ALL: [Server; 2] = [Server::Ours, Server::Jsonrpsee];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Ours => "ours",
            Server::Jsonrpsee => "jsonrpsee",
        }
    }
}

/// The broadcast source both servers feed their `feed` subscriptions from.
#[derive(Clone)]
struct Feed {
    tx: broadcast::Sender<u64>,
}

impl Feed {
    /// Sends `0..count` to every receiver; the channel holds them all, so none lags.
    fn publish(&self, count: u64) -> u64 {
        for n in 0..count {
            // No receiver yet is not an error here: the client checks what arrives.
            let _ = self.tx.send(n);
        }
        self.tx.receiver_count() as u64
    }
}

/// The bench's service: the `pubsub` example's methods plus a broadcast feed.
#[rpc(server)]
pub(crate) trait Bench {
    /// `start`, `start + 1`, ... `count` items in all, then the end.
    #[rpc(subscription = "counter", unsubscribe = "unsubscribe_counter")]
    async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64>;

    /// The tick number every `interval_ms` milliseconds, the first after one interval.
    #[rpc(subscription = "tick", unsubscribe = "unsubscribe_ticks")]
    async fn subscribe_ticks(&self, interval_ms: u64) -> Subscription<u64>;

    /// Every item published from now on.
    #[rpc(subscription = "feed", unsubscribe = "unsubscribe_feed")]
    async fn subscribe_feed(&self) -> Subscription<u64>;

    /// Publishes `0..count` to the feed; answers how many subscriptions it reached.
    async fn publish(&self, count: u64) -> u64;

    /// `a + b`.
    async fn add(&self, a: u64, b: u64) -> u64;
}

impl Bench for Feed {
    async fn subscribe_counter(&self, start: u64, count: u32) -> Subscription<u64> {
        Subscription::from_items(stream::iter(start..start + u64::from(count)))
    }

    async fn subscribe_ticks(&self, interval_ms: u64) -> Subscription<u64> {
        let every = Duration::from_millis(interval_ms);
        Subscription::from_items(stream::unfold(0u64, move |n| async move {
            tokio::time::sleep(every).await;
            Some((n, n + 1))
        }))
    }

    async fn subscribe_feed(&self) -> Subscription<u64> {
        // A lagging receiver ends the stream: the client then reports the items it missed.
        Subscription::from_items(stream::unfold(self.tx.subscribe(), |mut rx| async move {
            rx.recv().await.ok().map(|n| (n, rx))
        }))
    }

    async fn publish(&self, count: u64) -> u64 {
        Feed::publish(self, count)
    }

    async fn add(&self, a: u64, b: u64) -> u64 {
        a + b
    }
}

/// jsonrpsee's server with the same methods, written as its users write them.
async fn start_jsonrpsee(
    listener: std::net::TcpListener,
    feed: Feed,
) -> jsonrpsee::server::ServerHandle {
    use jsonrpsee::core::{SubscriptionError, SubscriptionResult};
    use jsonrpsee::types::ErrorObjectOwned;
    use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};

    fn item(n: u64) -> SubscriptionMessage {
        serde_json::value::to_raw_value(&n)
            .expect("a number serializes")
            .into()
    }

    let mut module = RpcModule::new(feed);
    module
        .register_method("add", |params, _, _| {
            let (a, b): (u64, u64) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(a + b)
        })
        .expect("a new name");
    module
        .register_method("publish", |params, feed, _| {
            let (count,): (u64,) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(feed.publish(count))
        })
        .expect("a new name");
    module
        .register_subscription(
            "subscribe_counter",
            "counter",
            "unsubscribe_counter",
            |params, pending: PendingSubscriptionSink, _, _| async move {
                let (start, count): (u64, u32) = params.parse()?;
                let sink = pending.accept().await?;
                for n in start..start + u64::from(count) {
                    sink.send(item(n)).await?;
                }
                // The end as the wire format has it: `"error": null`.
                let null = serde_json::value::to_raw_value(&()).expect("null serializes");
                Err::<(), _>(SubscriptionError::from_json(null))
            },
        )
        .expect("a new name");
    module
        .register_subscription(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            |params, pending: PendingSubscriptionSink, _, _| async move {
                let (interval_ms,): (u64,) = params.parse()?;
                let sink = pending.accept().await?;
                let every = Duration::from_millis(interval_ms);
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        _ = tokio::time::sleep(every) => sink.send(item(n)).await?,
                    }
                    n += 1;
                }
                SubscriptionResult::Ok(())
            },
        )
        .expect("a new name");
    module
        .register_subscription(
            "subscribe_feed",
            "feed",
            "unsubscribe_feed",
            |_, pending: PendingSubscriptionSink, feed: Arc<Feed>, _| async move {
                let mut rx = feed.tx.subscribe();
                let sink = pending.accept().await?;
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        got = rx.recv() => match got {
                            Ok(n) => sink.send(item(n)).await?,
                            Err(_) => break,
                        },
                    }
                }
                SubscriptionResult::Ok(())
            },
        )
        .expect("a new name");
    // Its default of 100 connections would refuse the fan-out's control socket (ours: 10,000).
    let config = jsonrpsee::server::ServerConfig::builder()
        .max_connections(10_000)
        .build();
    let server = jsonrpsee::server::Server::builder()
        .set_config(config)
        .build_from_tcp(listener)
        .expect("jsonrpsee takes the listener");
    server.start(module)
}

/// The child: serves `server` on 127.0.0.1 on this thread alone, prints its address, then
/// answers each `heap` line on stdin with the live heap bytes of this thread; ends with stdin.
pub(crate) fn serve_child(server: Server, capacity: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the server's runtime");
    let feed = Feed {
        tx: broadcast::channel(capacity).0,
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking socket");
    let addr = listener.local_addr().expect("an address");
    let (asks, mut asked) = tokio::sync::mpsc::unbounded_channel::<()>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() || asks.send(()).is_err() {
                break;
            }
        }
    });
    runtime.block_on(async move {
        let _handle = match server {
            Server::Ours => {
                use rpc_server::RouterExt as _;
                let app =
                    axum::Router::new().rpc("/rpc", rpc_server::RpcService::new(BenchServer(feed)));
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                tokio::spawn(async move { rpc_server::serve(listener, app).await });
                None
            }
            Server::Jsonrpsee => Some(start_jsonrpsee(listener, feed).await),
        };
        println!("{addr}");
        while asked.recv().await.is_some() {
            // Let the connections' tasks settle before the count.
            tokio::time::sleep(Duration::from_millis(200)).await;
            println!("{}", bench_support::thread_stats().live);
        }
    });
}

/// A server in its child process.
pub(crate) struct Served {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl Served {
    pub(crate) fn start(server: Server, capacity: usize) -> Self {
        let exe = std::env::current_exe().expect("this bench's path");
        let mut child = Command::new(exe)
            .args(["--serve", server.name(), &capacity.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server's process starts");
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the server's address");
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{} printed {line:?} for its address: {e}", server.name()));
        Served {
            child,
            stdin,
            stdout,
            addr,
        }
    }

    pub(crate) fn url(&self, server: Server) -> String {
        match server {
            Server::Ours => format!("ws://{}/rpc", self.addr),
            Server::Jsonrpsee => format!("ws://{}/", self.addr),
        }
    }

    /// The server process's resident set, in bytes.
    pub(crate) fn rss(&self) -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            .map_or(0, |kib| kib * 1024)
    }

    /// Nanoseconds of CPU the server's thread (the process's main thread) has used.
    pub(crate) fn cpu_ns(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/schedstat", self.child.id()))
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The live heap bytes on the server's thread.
    pub(crate) fn heap(&mut self) -> i64 {
        writeln!(self.stdin, "heap").expect("the server reads its stdin");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the server answers");
        line.trim()
            .parse()
            .unwrap_or_else(|e| panic!("the server's heap figure {line:?}: {e}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
