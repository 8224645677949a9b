//! Interop: independently written Python JSON-RPC clients call our server.
//!
//! The clients, `jsonrpcclient` and `jsonrpclib-pelix` (pinned in
//! `tests/interop/requirements.txt`), live in a virtualenv at `.venv` in the workspace root that
//! `scripts/setup-test-deps.sh` creates. Each test serves a service in-process on a free port and
//! runs one script of `tests/interop/` against it; the script prints one line per check and
//! exits non-zero if any failed. The tests are `#[ignore]`d, so that a plain `cargo test` passes
//! without Python; `bash scripts/test.sh` installs the clients and runs them too.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::workspace_root;

/// How long a script may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The virtualenv's interpreter; fails the test, saying how to fix it, when it is missing.
fn venv_python() -> PathBuf {
    let python = workspace_root().join(".venv").join("bin").join("python");
    assert!(
        python.is_file(),
        "the Python interop clients are not installed: {} does not exist.\n\
         Run `scripts/setup-test-deps.sh` from the workspace root, then run the tests again.",
        python.display()
    );
    python
}

/// Runs `tests/interop/{script} {url}` with the virtualenv's Python and fails the test, showing
/// its output, unless it exits successfully. Returns its stdout.
async fn run_python_client(script: &str, url: &str) -> String {
    let python = venv_python();
    let script_path = workspace_root().join("tests").join("interop").join(script);
    assert!(
        script_path.is_file(),
        "{} does not exist",
        script_path.display()
    );

    let started = Instant::now();
    let common::ChildOutput {
        status,
        stdout,
        stderr,
    } = common::run_child(
        Command::new(&python)
            .arg(&script_path)
            .arg(url)
            .current_dir(workspace_root())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONNOUSERSITE", "1")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let elapsed = started.elapsed();

    let verdict = match status {
        Some(status) if status.success() => {
            println!("{script} passed in {elapsed:.1?}:\n{stdout}");
            if !stderr.trim().is_empty() {
                println!("--- stderr ---\n{stderr}");
            }
            return stdout;
        }
        Some(status) => format!("exited with {status}"),
        None => format!("was killed after {TIMEOUT:?}"),
    };
    panic!(
        "the Python interop client {script} {verdict}.\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- end ---\n\
         (If a module is missing, run `scripts/setup-test-deps.sh` from the workspace root.)"
    );
}

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
