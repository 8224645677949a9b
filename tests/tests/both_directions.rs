//! Both directions over one connection, over a WebSocket and over a child process's stdio
//! (the `callbacks` example, run with `--stdio`): the server calls the client back with typed
//! calls (RPyC's line counter), a callback calls back into the server while the server waits
//! on it, calls are bounded each way, ordered notifications apply in arrival order beside
//! concurrent calls, and a call its caller gives up on is cancelled at the other end, its
//! effect never happening. Over HTTP there is no connection to call back on: a clear error.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use examples::callbacks::{CallbackFailed, LineCounterClient, Noisy, NoisyServer, Printer};
use rpc_core::CallError;
use rpc_core::peer::Cancellation;

/// Where the `callbacks` endpoint is served.
#[derive(Debug, Clone, Copy)]
enum Over {
    WebSocket,
    Stdio,
}

const EVERY: [Over; 2] = [Over::WebSocket, Over::Stdio];

/// A client builder for the endpoint served `over`, and the server's address for a WebSocket.
async fn builder(over: Over) -> rpc_client::ClientBuilder<LineCounterClient> {
    let builder = match over {
        Over::WebSocket => {
            let app = axum::Router::new()
                .route("/rpc", examples::callbacks::endpoint().into_method_router());
            let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
            LineCounterClient::builder(&format!("ws://{addr}/rpc"))
        }
        Over::Stdio => {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_callbacks"));
            command.arg("--stdio");
            rpc_client::ClientBuilder::child(command)
        }
    };
    builder.cancellation(Cancellation::Lsp)
}

fn lines(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("line {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_calls_the_client_back_for_every_line_in_order() {
    for over in EVERY {
        let printer = Arc::new(Printer::default());
        let counter = builder(over)
            .await
            .serve(NoisyServer(printer.clone()), 4)
            .build()
            .unwrap();
        assert_eq!(
            counter.line_counter(lines(50)).await.unwrap(),
            50,
            "{over:?}"
        );
        assert_eq!(*printer.seen.lock().unwrap(), lines(50), "{over:?}");
        // A client that serves nothing: the server's callback is answered -32601, and the
        // server's method says why it failed.
        let deaf = builder(over).await.build().unwrap();
        match deaf.line_counter(lines(1)).await {
            Err(CallError::Method(CallbackFailed { reason })) => {
                assert!(reason.contains("-32601"), "{over:?}: {reason}")
            }
            other => panic!("{over:?}: {other:?}"),
        }
    }
}

/// A `noisy` that calls back into the server (`lines_counted`) while the server waits on it.
struct Reentrant {
    server: OnceLock<LineCounterClient>,
    seen: Mutex<Vec<Result<u64, String>>>,
}

/// The served side of [`Reentrant`], which the test keeps a handle on.
struct Shared(Arc<Reentrant>);

impl Noisy for Shared {
    async fn noisy(&self, _line: String) {
        let server = self.0.server.get().expect("set before any call");
        let counted = server.lines_counted().await.map_err(|e| e.to_string());
        self.0.seen.lock().unwrap().push(counted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_calls_back_into_the_server_does_not_deadlock() {
    for over in EVERY {
        let reentrant = Arc::new(Reentrant {
            server: OnceLock::new(),
            seen: Mutex::new(Vec::new()),
        });
        let client = builder(over)
            .await
            .serve(NoisyServer(Shared(reentrant.clone())), 4)
            .build()
            .unwrap();
        let _ = reentrant.server.set(client.clone());
        let counted = tokio::time::timeout(Duration::from_secs(10), client.line_counter(lines(5)))
            .await
            .unwrap_or_else(|_| panic!("{over:?}: deadlocked"))
            .unwrap();
        assert_eq!(counted, 5);
        // Each callback saw the lines counted before it, on this server.
        let seen: Vec<_> = reentrant.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 5, "{over:?}");
        let counts: Vec<u64> = seen.into_iter().map(Result::unwrap).collect();
        assert!(
            counts.windows(2).all(|w| w[1] == w[0] + 1),
            "{over:?}: {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_call_slot_a_reentrant_callback_is_refused_busy_not_deadlocked() {
    let endpoint = examples::callbacks::endpoint()
        .websocket_limits(rpc_server::WsLimits::default().max_calls(1));
    let app = axum::Router::new().route("/rpc", endpoint.into_method_router());
    let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
    let reentrant = Arc::new(Reentrant {
        server: OnceLock::new(),
        seen: Mutex::new(Vec::new()),
    });
    let client = LineCounterClient::builder(&format!("ws://{addr}/rpc"))
        .serve(NoisyServer(Shared(reentrant.clone())), 4)
        .build()
        .unwrap();
    let _ = reentrant.server.set(client.clone());
    let counted = tokio::time::timeout(Duration::from_secs(10), client.line_counter(lines(2)))
        .await
        .expect("no deadlock")
        .unwrap();
    assert_eq!(counted, 2);
    for seen in reentrant.seen.lock().unwrap().iter() {
        let e = seen.as_ref().unwrap_err();
        assert!(e.contains("-32005"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_notifications_apply_in_order_beside_concurrent_calls() {
    for over in EVERY {
        let client = builder(over).await.build().unwrap();
        // Two slow calls first: they run concurrently with each other and with the notes.
        let started = Instant::now();
        let slow = {
            let (a, b) = (client.clone(), client.clone());
            tokio::spawn(async move {
                tokio::join!(a.slow_count(lines(1), 400), b.slow_count(lines(1), 400))
            })
        };
        // 1,000 notes, every third one slow to apply: unordered, later ones would overtake it.
        for i in 0..1000u64 {
            let delay = if i % 3 == 0 { 1 } else { 0 };
            client.notify().note(format!("{i}"), delay).await.unwrap();
        }
        let notes = client.notes().await.unwrap();
        let expected: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert_eq!(notes, expected, "{over:?}");
        let (a, b) = slow.await.unwrap();
        assert_eq!((a.unwrap(), b.unwrap()), (1, 1));
        // Concurrent: together in about one delay, not two (the notes took some of it).
        assert!(
            started.elapsed() < Duration::from_millis(400 + 1000 / 3 + 390),
            "{over:?}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_its_caller_gives_up_on_is_cancelled_and_its_effect_never_happens() {
    for over in EVERY {
        let client = builder(over).await.build().unwrap();
        let before = client.lines_counted().await.unwrap();
        // The caller stops waiting after 100 ms; the count would happen at 500 ms.
        let gave_up =
            tokio::time::timeout(Duration::from_millis(100), client.slow_count(lines(3), 500))
                .await;
        assert!(gave_up.is_err(), "{over:?}");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(client.lines_counted().await.unwrap(), before, "{over:?}");
        // The connection goes on, and a call left alone runs to its end.
        assert_eq!(
            client.slow_count(lines(3), 10).await.unwrap(),
            3,
            "{over:?}"
        );
        assert_eq!(client.lines_counted().await.unwrap(), before + 3);
        // The client's own timeout cancels the same way.
        let hasty = builder(over)
            .await
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let e = hasty.slow_count(lines(4), 500).await.unwrap_err();
        assert!(matches!(e, rpc_core::Error::Timeout), "{over:?}: {e}");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            client.lines_counted().await.unwrap(),
            before + 3,
            "{over:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_there_is_no_connection_to_call_back_on() {
    let app =
        axum::Router::new().route("/rpc", examples::callbacks::endpoint().into_method_router());
    let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
    let url = format!("http://{addr}/rpc");
    let client = LineCounterClient::new(&url).unwrap();
    match client.line_counter(lines(1)).await {
        Err(CallError::Method(CallbackFailed { reason })) => {
            assert!(reason.contains("HTTP"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The document says what the server expects its clients to serve.
    let doc: serde_json::Value = client
        .client()
        .call("rpc.discover", None::<&()>)
        .await
        .unwrap();
    assert_eq!(doc["x-peer-services"], serde_json::json!(["Noisy"]));
    assert_eq!(doc["x-peer-methods"][0]["name"], "noisy");
    assert_eq!(doc["x-peer-methods"][0]["params"][0]["name"], "line");
    let printer = Arc::new(Printer::default());
    let e = LineCounterClient::builder(&url)
        .serve(NoisyServer(printer), 1)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("message connection"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_client_that_disconnects_cancels_its_call() {
    let app =
        axum::Router::new().route("/rpc", examples::callbacks::endpoint().into_method_router());
    let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
    let client = LineCounterClient::new(&format!("http://{addr}/rpc")).unwrap();
    let hasty = LineCounterClient::builder(&format!("http://{addr}/rpc"))
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let before = client.lines_counted().await.unwrap();
    let e = hasty.slow_count(lines(5), 500).await.unwrap_err();
    assert!(matches!(e, rpc_core::Error::Timeout), "{e}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        client.lines_counted().await.unwrap(),
        before,
        "the call ran on"
    );
}

/// A `noisy` that takes a while, and records how many of its calls ran at once.
#[derive(Default)]
struct Slow {
    running: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

struct SlowNoisy(Arc<Slow>);

impl Noisy for SlowNoisy {
    async fn noisy(&self, _line: String) {
        use std::sync::atomic::Ordering;
        let now = self.0.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where [`limited`] serves the `callbacks` endpoint.
#[derive(Debug, Clone, Copy)]
enum Limited {
    WebSocket,
    Unix,
    Stdio,
    Pipe,
}

const EVERY_LIMITED: [Limited; 4] = [
    Limited::WebSocket,
    Limited::Unix,
    Limited::Stdio,
    Limited::Pipe,
];

/// The `callbacks` endpoint with `limits`, and a client builder for it over `transport`; over
/// a child's stdio the child is given the same limits on its command line.
async fn limited(
    limits: (usize, Duration),
    transport: Limited,
    dir: &std::path::Path,
) -> rpc_client::ClientBuilder<LineCounterClient> {
    let (max_peer_calls, timeout) = limits;
    let endpoint = examples::callbacks::endpoint().websocket_limits(
        rpc_server::WsLimits::default()
            .max_peer_calls(max_peer_calls)
            .peer_call_timeout(timeout),
    );
    match transport {
        Limited::Stdio => {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_callbacks"));
            command.args(["--stdio", "--max-peer-calls", &max_peer_calls.to_string()]);
            command.args(["--peer-call-timeout-ms", &timeout.as_millis().to_string()]);
            rpc_client::ClientBuilder::child(command)
        }
        _ => served(endpoint, transport, dir).await,
    }
}

/// `endpoint` served over `transport` (in this process: not over a child's stdio), and a
/// client builder for it.
async fn served<M: rpc_server::middleware::Calls>(
    endpoint: rpc_server::RpcService<
        examples::callbacks::LineCounterServer<examples::callbacks::Counter>,
        M,
    >,
    transport: Limited,
    dir: &std::path::Path,
) -> rpc_client::ClientBuilder<LineCounterClient> {
    use rpc_core::framing::Framing;
    match transport {
        Limited::WebSocket => {
            let app = axum::Router::new().route("/rpc", endpoint.into_method_router());
            let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
            LineCounterClient::builder(&format!("ws://{addr}/rpc"))
        }
        Limited::Unix => {
            static SOCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = SOCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(format!("served-{n}.ipc"));
            let socket = rpc_server::UnixSocket::bind(&path).unwrap();
            let serving = rpc_server::serve_messages(socket, endpoint, Framing::Ethereum);
            tokio::spawn(std::future::IntoFuture::into_future(serving));
            LineCounterClient::builder(&format!("unix://{}", path.display()))
        }
        Limited::Stdio => panic!("a child's stdio serves the example's own endpoint"),
        Limited::Pipe => {
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            let (reader, writer) = tokio::io::split(theirs);
            tokio::spawn(async move {
                endpoint
                    .serve_stream(reader, writer, Framing::Newline)
                    .await
            });
            let (reader, writer) = tokio::io::split(ours);
            rpc_client::ClientBuilder::stream(reader, writer)
        }
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rpc-both-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const NO_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_bounded_each_way_over_every_message_transport() {
    use std::sync::atomic::Ordering;
    let dir = temp_dir("limits");
    for transport in EVERY_LIMITED {
        // The server's side: at most 3 of its calls to the client wait at once.
        let slow = Arc::new(Slow::default());
        let client = limited((3, NO_TIMEOUT), transport, &dir)
            .await
            .serve(NoisyServer(SlowNoisy(slow.clone())), 64)
            .build()
            .unwrap();
        assert_eq!(client.count_at_once(lines(30)).await.unwrap(), 30);
        assert_eq!(slow.most.load(Ordering::SeqCst), 3, "{transport:?}");
        // The client's side: it runs at most 2 of the server's calls at once, and refuses
        // the rest busy, which fails the server's method.
        let slow = Arc::new(Slow::default());
        let client = limited((64, NO_TIMEOUT), transport, &dir)
            .await
            .serve(NoisyServer(SlowNoisy(slow.clone())), 2)
            .build()
            .unwrap();
        match client.count_at_once(lines(30)).await {
            Err(CallError::Method(CallbackFailed { reason })) => {
                assert!(reason.contains("-32005"), "{reason}")
            }
            other => panic!("{transport:?}: {other:?}"),
        }
        assert!(slow.most.load(Ordering::SeqCst) <= 2, "{transport:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `noisy` that takes a second, and counts the calls that started and those that finished.
#[derive(Default)]
struct Sleepy {
    started: std::sync::atomic::AtomicUsize,
    finished: std::sync::atomic::AtomicUsize,
}

struct SleepyNoisy(Arc<Sleepy>);

impl Noisy for SleepyNoisy {
    async fn noisy(&self, _line: String) {
        use std::sync::atomic::Ordering;
        self.0.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.finished.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_back_past_its_timeout_fails_and_is_cancelled_at_the_client() {
    use std::sync::atomic::Ordering;
    let dir = temp_dir("timeout");
    for transport in EVERY_LIMITED {
        let sleepy = Arc::new(Sleepy::default());
        let client = limited((4, Duration::from_millis(150)), transport, &dir)
            .await
            .cancellation(Cancellation::Lsp)
            .serve(NoisyServer(SleepyNoisy(sleepy.clone())), 4)
            .build()
            .unwrap();
        let started = Instant::now();
        match client.line_counter(lines(1)).await {
            Err(CallError::Method(CallbackFailed { reason })) => {
                assert!(reason.contains("timed out"), "{transport:?}: {reason}")
            }
            other => panic!("{transport:?}: {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{transport:?}: {:?}",
            started.elapsed()
        );
        // The server told the client, which dropped the callback before it finished.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(sleepy.started.load(Ordering::SeqCst), 1, "{transport:?}");
        assert_eq!(sleepy.finished.load(Ordering::SeqCst), 0, "{transport:?}");
        // The connection goes on.
        client.lines_counted().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A layer that sees the server's calls to its peer: it records each (method, whether it is
/// a request, whether it succeeded) and refuses any whose params mention "forbidden".
#[derive(Default, Clone)]
struct PeerAudit(Arc<Mutex<Vec<(String, bool, bool)>>>);

impl rpc_server::middleware::Layer for PeerAudit {
    const TO_PEER: bool = true;

    async fn call<'a, N: rpc_server::middleware::Calls>(
        &'a self,
        call: rpc_server::middleware::Call<'a>,
        next: rpc_server::middleware::Next<'a, N>,
    ) -> rpc_server::middleware::Outcome {
        next.run(call).await
    }

    async fn to_peer<'a>(
        &'a self,
        call: rpc_server::middleware::PeerCall<'a>,
        next: rpc_server::middleware::ToPeer<'a>,
    ) -> rpc_server::middleware::PeerOutcome {
        let forbidden = call.params().is_some_and(|p| p.get().contains("forbidden"));
        let outcome = if forbidden {
            Err(rpc_core::Error::Rpc(rpc_core::ErrorObject::new(
                -32099,
                "refused by the audit layer",
            )))
        } else {
            next.send(call).await
        };
        self.0.lock().unwrap().push((
            call.method().to_owned(),
            !call.is_notification(),
            outcome.is_ok(),
        ));
        outcome
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_sees_and_may_refuse_the_server_s_calls_to_its_peer() {
    let dir = temp_dir("audit");
    // Over a child's stdio the child runs the example's own endpoint, without this layer: a
    // pipe to this process is the same stream connection.
    for transport in [Limited::WebSocket, Limited::Unix, Limited::Pipe] {
        let audit = PeerAudit::default();
        let endpoint = examples::callbacks::endpoint().layer(audit.clone());
        let printer = Arc::new(Printer::default());
        let client = served(endpoint, transport, &dir)
            .await
            .serve(NoisyServer(printer.clone()), 4)
            .build()
            .unwrap();
        assert_eq!(client.line_counter(lines(2)).await.unwrap(), 2);
        let seen = vec![("noisy".to_owned(), true, true); 2];
        assert_eq!(*audit.0.lock().unwrap(), seen, "{transport:?}");
        let refused = ["a".to_owned(), "forbidden".to_owned(), "c".to_owned()];
        match client.line_counter(refused.to_vec()).await {
            Err(CallError::Method(CallbackFailed { reason })) => {
                assert!(reason.contains("refused by the audit layer"), "{reason}")
            }
            other => panic!("{transport:?}: {other:?}"),
        }
        // The refused call never reached the client, and the method stopped there.
        let mut expected = lines(2);
        expected.push("a".into());
        assert_eq!(*printer.seen.lock().unwrap(), expected, "{transport:?}");
        assert_eq!(audit.0.lock().unwrap().len(), 4, "{transport:?}");
        assert_eq!(audit.0.lock().unwrap()[3], ("noisy".into(), true, false));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a client serves in the next test: entries that must apply in order.
#[rpc_core::rpc]
pub trait Journal {
    /// Appends `n`, after `delay_ms`.
    #[rpc(ordered)]
    async fn entry(&self, n: u64, delay_ms: u64);
}

/// What the server serves in the next test.
#[rpc_core::rpc]
pub trait Teller {
    /// Notifies the caller's `entry` for 0..count, every third one slow to apply.
    async fn tell(&self, count: u64) -> u64;
}

struct TellerImpl;

impl Teller for TellerImpl {
    async fn tell(&self, count: u64) -> u64 {
        let peer = rpc_server::RequestContext::peer().unwrap();
        let journal = rpc_client::ClientBuilder::<JournalClient>::peer(peer)
            .build()
            .unwrap();
        for n in 0..count {
            let delay = if n % 3 == 0 { 2 } else { 0 };
            journal.notify().entry(n, delay).await.unwrap();
        }
        count
    }
}

struct Entries(Arc<Mutex<Vec<u64>>>);

impl Journal for Entries {
    async fn entry(&self, n: u64, delay_ms: u64) {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        self.0.lock().unwrap().push(n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_applies_the_server_s_ordered_notifications_in_order() {
    let app = axum::Router::new().route(
        "/rpc",
        rpc_server::RpcService::new(TellerServer(TellerImpl)).into_method_router(),
    );
    let addr = examples::spawn(app, "127.0.0.1:0").await.unwrap();
    let entries = Arc::new(Mutex::new(Vec::new()));
    let client = TellerClient::builder(&format!("ws://{addr}/rpc"))
        .serve(JournalServer(Entries(entries.clone())), 16)
        .build()
        .unwrap();
    assert_eq!(client.tell(12).await.unwrap(), 12);
    let deadline = Instant::now() + Duration::from_secs(10);
    while entries.lock().unwrap().len() < 12 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*entries.lock().unwrap(), (0..12).collect::<Vec<u64>>());
}
