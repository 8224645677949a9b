//! Interop: independently written Python JSON-RPC clients call our server, and an independent
//! WebSocket client subscribes.
//!
//! The clients, `jsonrpcclient`, `jsonrpclib-pelix` and `websockets` (pinned in
//! `tests/interop/requirements.txt`), live in a virtualenv at `.venv` in the workspace root that
//! `scripts/setup-test-deps.sh` creates. Each test serves a service in-process on a free port and
//! runs one script of `tests/interop/` against it; the script prints one line per check and
//! exits non-zero if any failed. The tests are `#[ignore]`d, so that a plain `cargo test` passes
//! without Python; `bash scripts/test.sh` installs the clients and runs them too.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::python::{run_python_client, run_python_script, venv_python};
use common::workspace_root;

/// How many notifications the spec service at `url` has run, asked with our own client.
async fn notifications_seen(url: &str) -> u64 {
    rpc_client::Client::new(url)
        .expect("a client for the spec service")
        .call::<u64, ()>("notifications_seen", None)
        .await
        .expect("notifications_seen")
}

fn rpc_url(addr: SocketAddr) -> String {
    format!("http://{addr}/rpc")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn python_clients_call_the_spec_service() {
    venv_python(); // fail fast, before starting anything
    let addr = examples::spawn(examples::spec::app(), "127.0.0.1:0")
        .await
        .expect("serving the spec service");
    let url = rpc_url(addr);

    let before = notifications_seen(&url).await;
    let stdout = run_python_client("spec_client.py", &url).await;
    let after = notifications_seen(&url).await;

    assert!(
        stdout.contains("all ") && stdout.contains("checks passed"),
        "spec_client.py succeeded without its summary line:\n{stdout}"
    );
    assert!(
        after > before,
        "the Python clients' notifications did not run: notifications_seen stayed at {before}"
    );
    println!("notifications_seen: {before} -> {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn python_clients_call_the_calculator() {
    use examples::calculator::{CalculatorServer, LocalCalculator};

    venv_python();
    let app = axum::Router::new().nest(
        "/rpc",
        rpc_server::router(CalculatorServer(LocalCalculator)),
    );
    let addr = examples::spawn(app, "127.0.0.1:0")
        .await
        .expect("serving the calculator");

    let stdout = run_python_client("calculator_client.py", &rpc_url(addr)).await;
    assert!(
        stdout.contains("all ") && stdout.contains("checks passed"),
        "calculator_client.py succeeded without its summary line:\n{stdout}"
    );
}

/// The `SUMMARY {json}` line a script printed.
fn summary(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("SUMMARY "))
        .unwrap_or_else(|| panic!("no SUMMARY line in:\n{stdout}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("the SUMMARY is not JSON ({e}): {line}"))
}

/// The `websockets` client over `ws://.../rpc`: calls and a batch answered on the socket; the
/// counter's five items in order under one subscription id, then its end; the clock's items,
/// `true` for unsubscribing, `false` for doing it again, and nothing after; a refused
/// subscription's error with its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn python_websocket_client_subscribes_and_calls() {
    use serde_json::json;

    venv_python();
    let addr = examples::spawn(examples::pubsub::app(), "127.0.0.1:0")
        .await
        .expect("serving the pubsub example");
    let stdout = run_python_client("ws_pubsub.py", &format!("ws://{addr}/rpc")).await;
    assert!(
        stdout.contains("all ") && stdout.contains("checks passed"),
        "ws_pubsub.py succeeded without its summary line:\n{stdout}"
    );
    let got = summary(&stdout);

    assert_eq!(got["add"], 5, "{got}");
    assert_eq!(
        got["batch"],
        json!({ "answers": 2, "one": 3, "two": 30 }),
        "the notification in the batch gets no answer: {got}"
    );
    assert_eq!(
        got["unsubscribe"],
        json!({ "subscribe_counter": "unsubscribe_counter", "subscribe_ticks": "unsubscribe_ticks" }),
        "{got}"
    );
    assert_eq!(
        got["notifications"],
        json!({ "subscribe_counter": "counter", "subscribe_ticks": "tick" }),
        "{got}"
    );

    let counter = &got["counter"];
    let id = counter["id"].as_str().expect("a subscription id");
    assert!(!id.is_empty(), "{counter}");
    assert_eq!(counter["items"], json!([10, 11, 12, 13, 14]), "{counter}");
    assert_eq!(counter["methods"], json!(["counter"]), "{counter}");
    assert_eq!(counter["subscriptions"], json!([id]), "{counter}");
    assert_eq!(
        counter["end"],
        json!({ "subscription": id, "error": null }),
        "{counter}"
    );
    assert_eq!(
        counter["after_end"], 0,
        "nothing follows the end: {counter}"
    );

    let ticks = &got["ticks"];
    let tick_id = ticks["id"].as_str().expect("a subscription id");
    assert_ne!(tick_id, id, "each subscription has an id of its own: {got}");
    assert_eq!(ticks["items"], json!([0, 1]), "{ticks}");
    assert_eq!(ticks["methods"], json!(["tick"]), "{ticks}");
    assert_eq!(ticks["subscriptions"], json!([tick_id]), "{ticks}");
    assert_eq!(ticks["unsubscribed"], true, "{ticks}");
    assert_eq!(ticks["again"], false, "{ticks}");
    assert_eq!(ticks["after"], 0, "nothing after unsubscribing: {ticks}");
    // Items written before the answer to unsubscribing may still arrive, in order.
    let in_flight: Vec<u64> = serde_json::from_value(ticks["in_flight"].clone()).expect("items");
    assert!(
        in_flight.iter().copied().eq(2..2 + in_flight.len() as u64),
        "{ticks}"
    );

    let refused = &got["refused"];
    assert_eq!(
        refused["data"],
        json!({ "min_interval_ms": 10 }),
        "{refused}"
    );
    assert_eq!(
        refused["message"], "the interval must be at least 10 ms",
        "{refused}"
    );
    assert_eq!(got["close_code"], 1000, "a clean close: {got}");
    let requirements =
        std::fs::read_to_string(workspace_root().join("tests/interop/requirements.txt"))
            .expect("tests/interop/requirements.txt");
    let pinned = requirements
        .lines()
        .find_map(|line| line.strip_prefix("websockets=="))
        .expect("websockets is pinned");
    assert_eq!(got["websockets"], pinned.trim(), "the pinned client: {got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn web3_py_talks_to_the_eth_example_over_ipc_and_websocket() {
    use std::io::BufRead as _;
    venv_python();
    let dir = std::env::temp_dir().join(format!("rpc-eth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let ipc = dir.join("node.ipc");
    let mut node = std::process::Command::new(env!("CARGO_BIN_EXE_eth"))
        .arg("127.0.0.1:0")
        .arg("--ipc")
        .arg(&ipc)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the eth example starts");
    let mut line = String::new();
    // Kept until the node stops: it prints its last line as it does.
    let mut printed = std::io::BufReader::new(node.stdout.take().expect("piped"));
    printed
        .read_line(&mut line)
        .expect("the node prints where it listens");
    let ws = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no ws:// address in {line:?}"))
        .to_owned();
    let stdout =
        run_python_script("web3_eth.py", &[ipc.to_str().expect("a UTF-8 path"), &ws]).await;
    assert!(
        stdout.contains("ipc: chain id 31337") && stdout.contains("websocket: chain id 31337"),
        "{stdout}"
    );
    // The socket file is the node's while it runs, and gone once it stops.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&ipc)
        .expect("the socket file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the socket's mode");
    let signalled = Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let started = Instant::now();
    while node.try_wait().expect("waits").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the node did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!ipc.exists(), "the socket file was removed on shutdown");
    let mut last = String::new();
    let _ = printed.read_line(&mut last);
    assert_eq!(last.trim(), "eth stopped");
    let _ = std::fs::remove_dir(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn python_lsp_jsonrpc_talks_to_our_stdio_server() {
    venv_python();
    let stdout = run_python_script("lsp_stdio.py", &[env!("CARGO_BIN_EXE_calculator")]).await;
    assert!(
        stdout.contains("call by name")
            && stdout.contains("typed error")
            && stdout.contains("status 0"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn our_child_process_client_talks_to_a_python_lsp_jsonrpc_server() {
    let python = venv_python();
    let mut command = Command::new(&python);
    command
        .arg(
            workspace_root()
                .join("tests")
                .join("interop")
                .join("lsp_server.py"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONNOUSERSITE", "1");
    let client = rpc_client::ClientBuilder::<rpc_client::Client>::child(command)
        .framing(rpc_core::framing::Framing::ContentLength)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client of the child");
    let sum: i64 = client.call("add", Some(&[20, 22])).await.expect("add");
    assert_eq!(sum, 42);
    let echoed: serde_json::Value = client
        .call(
            "echo",
            Some(&serde_json::json!({"nested": [1, "two", null]})),
        )
        .await
        .expect("echo");
    assert_eq!(echoed, serde_json::json!({"nested": [1, "two", null]}));
    match client.call::<i64, _>("fail", Some(&[0])).await {
        Err(rpc_core::Error::Rpc(e)) => {
            assert_eq!(e.code, -32050);
            assert_eq!(e.message, "failed on purpose");
        }
        other => panic!("expected the server's error, got {other:?}"),
    }
    match client.call::<i64, _>("nope", Some(&[0])).await {
        Err(rpc_core::Error::Rpc(e)) => assert_eq!(e.code, -32601),
        other => panic!("expected method not found, got {other:?}"),
    }
}
