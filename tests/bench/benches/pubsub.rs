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

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _, stream};
use rpc_core::{Subscription, rpc};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[global_allocator]
static ALLOC: bench_support::CountingAlloc = bench_support::CountingAlloc;

/// The two servers measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Ours,
    Jsonrpsee,
}

impl Server {
    const ALL: [Server; 2] = [Server::Ours, Server::Jsonrpsee];

    fn name(self) -> &'static str {
        match self {
            Server::Ours => "ours",
            Server::Jsonrpsee => "jsonrpsee",
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// The servers, each in a child process.

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
pub trait Bench {
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
fn serve_child(server: Server, capacity: usize) {
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
struct Served {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl Served {
    fn start(server: Server, capacity: usize) -> Self {
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

    fn url(&self, server: Server) -> String {
        match server {
            Server::Ours => format!("ws://{}/rpc", self.addr),
            Server::Jsonrpsee => format!("ws://{}/", self.addr),
        }
    }

    /// The server process's resident set, in bytes.
    fn rss(&self) -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            .map_or(0, |kib| kib * 1024)
    }

    /// Nanoseconds of CPU the server's thread (the process's main thread) has used.
    fn cpu_ns(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/schedstat", self.child.id()))
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The live heap bytes on the server's thread.
    fn heap(&mut self) -> i64 {
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

// ---------------------------------------------------------------------------------------------
// The client, the same for both.

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
        .0
}

/// The next text message (pings are answered by tungstenite as it reads).
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

fn request(id: u64, method: &str, params: &str) -> Message {
    Message::text(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
    ))
}

/// Sends the requests, then reads their answers (in any order): each one's `result`.
async fn calls(ws: &mut Ws, requests: &[(&str, String)]) -> Vec<Value> {
    for (id, (method, params)) in requests.iter().enumerate() {
        ws.feed(request(id as u64, method, params))
            .await
            .expect("send");
    }
    ws.flush().await.expect("send");
    let mut results = vec![Value::Null; requests.len()];
    for _ in 0..requests.len() {
        let text = next_text(ws).await;
        let answer: Value = serde_json::from_str(&text).expect("an answer is JSON");
        let id = answer["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an answer with an id: {text}"));
        let result = answer
            .get("result")
            .unwrap_or_else(|| panic!("an answer with a result: {text}"));
        results[id as usize] = result.clone();
    }
    results
}

/// The value of `"key":` in a notification the wire check has vetted: the raw token.
fn raw_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let rest = &text[at..];
    let end = rest.find([',', '}'])?;
    Some(&rest[..end])
}

/// Both servers answer `add` and send `subscribe_counter(5, 3)`'s items in the same format.
async fn check_wire(server: Server, url: &str) {
    let mut ws = connect(url).await;
    let answers = calls(
        &mut ws,
        &[
            ("add", "[2,3]".into()),
            ("subscribe_counter", "[5,3]".into()),
        ],
    )
    .await;
    assert_eq!(answers[0], 5, "{}: add(2, 3)", server.name());
    let id = &answers[1];
    assert!(
        id.is_string() || id.is_u64(),
        "{}: a subscription id, got {id}",
        server.name()
    );
    for expected in 5u64..8 {
        let text = next_text(&mut ws).await;
        let note: Value = serde_json::from_str(&text).expect("a notification is JSON");
        let want = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "counter",
            "params": {"subscription": id, "result": expected},
        });
        assert_eq!(note, want, "{}: notification {text}", server.name());
        // The fan-out reads notifications by these two fields.
        assert_eq!(
            raw_field(&text, "\"subscription\":"),
            Some(id.to_string().as_str())
        );
        assert_eq!(
            raw_field(&text, "\"result\":"),
            Some(expected.to_string().as_str())
        );
    }
    let text = next_text(&mut ws).await;
    let end: Value = serde_json::from_str(&text).expect("the end is JSON");
    assert_eq!(
        end["params"],
        serde_json::json!({"subscription": id, "error": null}),
        "{}: the end of the stream: {text}",
        server.name()
    );
}

/// Opens `sockets` sockets with `per_socket` subscriptions to `method` each; the subscription
/// ids of each socket, as their JSON text.
async fn subscribe_all(
    url: &str,
    sockets: usize,
    per_socket: usize,
    method: &str,
    params: &str,
) -> Vec<(Ws, Vec<String>)> {
    let mut out = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let mut ws = connect(url).await;
        let requests = vec![(method, params.to_owned()); per_socket];
        let ids = calls(&mut ws, &requests).await;
        out.push((ws, ids.iter().map(Value::to_string).collect()));
    }
    out
}

/// Reads `items` `feed` items for each of the socket's subscriptions, checking their order.
async fn read_feed(mut ws: Ws, ids: Vec<String>, items: u64) -> Ws {
    let index: HashMap<String, usize> = ids.iter().cloned().zip(0..).collect();
    let mut next = vec![0u64; ids.len()];
    let mut done = 0;
    while done < ids.len() {
        let text = next_text(&mut ws).await;
        let item = raw_field(&text, "\"result\":").and_then(|v| v.parse::<u64>().ok());
        let sub = raw_field(&text, "\"subscription\":").and_then(|id| index.get(id));
        let (Some(item), Some(&sub), true) = (item, sub, text.contains(r#""method":"feed""#))
        else {
            panic!("expected a feed item, got {text}");
        };
        assert_eq!(item, next[sub], "items in order: {text}");
        next[sub] += 1;
        if next[sub] == items {
            done += 1;
        }
    }
    ws
}

/// A stretch of load: how much was done, in how long, at what CPU cost on each side.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
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

    fn per_second(&self) -> f64 {
        self.done as f64 / self.seconds
    }

    /// The server's CPU per unit done, in nanoseconds.
    fn server_ns_each(&self) -> f64 {
        self.server_cpu_ns as f64 / self.done as f64
    }

    /// How busy each side was over the run's wall time.
    fn busy(&self) -> (f64, f64) {
        let wall = self.seconds * 1e9;
        (
            self.server_cpu_ns as f64 / wall,
            self.client_cpu_ns as f64 / wall,
        )
    }
}

/// Items delivered to every subscriber.
async fn fan_out(served: &Served, url: &str, sizes: Sizes) -> Run {
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
async fn call_throughput(served: &Served, url: &str, calls: u64, window: u64) -> Run {
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
struct Idle {
    rss_per_socket: f64,
    heap_per_socket: f64,
    rss_per_sub: f64,
    heap_per_sub: f64,
}

async fn idle_memory(served: &mut Served, url: &str, sizes: Sizes) -> Idle {
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

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}x", ours / theirs)
    }
}

/// Rates, the server's CPU per unit, and how busy each side was: when the client is the busier
/// side, the rate is the client's and the server's CPU per unit is the figure to compare.
fn report(runs: &[Run; 2], rate: &str, unit: &str) {
    for (name, run) in [("ours", &runs[0]), ("jsonrpsee", &runs[1])] {
        let (server, client) = run.busy();
        println!(
            "  {name:<9} {:>9.0} {rate}; server CPU {:>6.0} ns per {unit}; busy: server {:>3.0}%, client {:>3.0}%",
            run.per_second(),
            run.server_ns_each(),
            server * 100.0,
            client * 100.0,
        );
    }
    println!(
        "  ours/jsonrpsee: rate {}, server CPU per {unit} {}\n",
        ratio(runs[0].per_second(), runs[1].per_second()),
        ratio(runs[0].server_ns_each(), runs[1].server_ns_each()),
    );
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
