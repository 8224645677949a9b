//! Shared helpers: real servers on 127.0.0.1 port 0, raw HTTP posts to them, and outside
//! programs run with a time limit.
#![allow(dead_code)] // Each test binary uses its own subset of these helpers.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The workspace root: the parent of this package.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

/// Serves `app` on a free port of 127.0.0.1 and returns the endpoint URL for `path`.
pub(crate) async fn serve(app: axum::Router, path: &str) -> String {
    let addr: SocketAddr = examples::spawn(app, "127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    format!("http://{addr}{path}")
}

/// What came back from a raw POST.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: String,
}

impl Raw {
    /// The body as JSON; panics (failing the test) when it is not.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// POSTs `body` as `application/json` to `url`.
pub(crate) async fn post(url: &str, body: &str) -> Raw {
    post_with(url, body, "application/json").await
}

/// POSTs `body` with the given content type.
pub(crate) async fn post_with(url: &str, body: &str, content_type: &str) -> Raw {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST reaches the test server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = response.text().await.expect("body reads");
    Raw {
        status,
        content_type,
        body,
    }
}

/// What a child process left behind: its exit status (`None` when it ran over its time and was
/// killed) and all it wrote.
#[derive(Debug)]
pub(crate) struct ChildOutput {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `cmd` with no stdin and its stdout and stderr captured, killing it after `timeout`.
///
/// It waits without blocking the runtime, so servers on the runtime go on answering the child.
/// `Err` only when the program cannot be started, so that each caller can say how to fix that.
pub(crate) async fn run_child(
    cmd: &mut Command,
    timeout: Duration,
) -> std::io::Result<ChildOutput> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_or_kill(&mut child, timeout, cmd).await;
    Ok(ChildOutput {
        status,
        stdout: stdout.await.expect("reading the child's stdout"),
        stderr: stderr.await.expect("reading the child's stderr"),
    })
}

/// Reads all of a child's pipe on the blocking pool, so a chatty child never blocks on a full
/// pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> tokio::task::JoinHandle<String> {
    tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error only shortens the captured output.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` (started by `cmd`) without blocking the runtime, killing it after
/// `timeout`. `None` means it was killed.
async fn wait_or_kill(child: &mut Child, timeout: Duration, cmd: &Command) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for {}: {e}", cmd.get_program().display()),
        }
        if Instant::now() >= deadline {
            // It may have just exited; either way it is gone after `wait`.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
