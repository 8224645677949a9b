//! The `lsp` example, a language server over stdio, run as a child process: raw JSON-RPC
//! messages with `Content-Length` framing written to its standard input, as an editor writes
//! them (the lifecycle, the server's `workspace/configuration` request answered here, its
//! `window/logMessage`s, 200 ordered `didChange`s before a hover, a `$/cancelRequest` stopping
//! a running call, bad input, `exit`'s status), and pygls's `LanguageClient` driving it
//! (`tests/interop/lsp_pygls.py`, `#[ignore]`d like the other Python peers:
//! `scripts/setup-test-deps.sh` installs pygls).

mod common;

use std::collections::VecDeque;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::framed::{self, Reader};
use common::python::{run_python_script, venv_python};
use rpc_core::framing::Framing;
use serde_json::{Value, json};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The `lsp` example as a child speaking LSP on its stdin and stdout.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Reader<ChildStdout>,
    /// Messages read while looking for an answer, in the order they came.
    held: VecDeque<Value>,
}

impl Server {
    fn start() -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lsp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the lsp example starts");
        Server {
            stdin: child.stdin.take(),
            stdout: Reader::new(
                child.stdout.take().expect("its stdout"),
                Framing::ContentLength,
            ),
            child,
            held: VecDeque::new(),
        }
    }

    /// Writes `message` with its `Content-Length` header.
    async fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        framed::send(stdin, Framing::ContentLength, &message).await;
    }

    async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    async fn request(&mut self, id: Value, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
    }

    /// The next message the server writes (held ones first); `None` once its stdout ends.
    async fn next(&mut self) -> Option<Value> {
        match self.held.pop_front() {
            Some(message) => Some(message),
            None => self.read().await,
        }
    }

    /// The next message read from the server's stdout; `None` once it ends. Fails after 10 s,
    /// or on a frame that is not JSON.
    async fn read(&mut self) -> Option<Value> {
        self.stdout.next().await
    }

    /// The answer to the request `id`; the messages read before it are held for [`Server::next`].
    async fn answer(&mut self, id: &Value) -> Value {
        if let Some(at) = self.held.iter().position(|m| is_answer_to(m, id)) {
            return self.held.remove(at).expect("held");
        }
        loop {
            let message = self.read().await.expect("an answer before the end");
            if is_answer_to(&message, id) {
                return message;
            }
            self.held.push_back(message);
        }
    }

    /// Sends a request and returns its result, which it must have.
    async fn result(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.request(json!(id), method, params).await;
        let answer = self.answer(&json!(id)).await;
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    /// Sends a request and returns its error, which it must have.
    async fn error(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.request(json!(id), method, params).await;
        let answer = self.answer(&json!(id)).await;
        assert!(
            answer.get("result").is_none(),
            "{method} succeeded: {answer}"
        );
        answer["error"].clone()
    }

    /// The next `window/logMessage`'s params; any other message fails the test.
    async fn log_message(&mut self) -> Value {
        let message = self.next().await.expect("a window/logMessage");
        assert_eq!(message["method"], "window/logMessage", "{message}");
        assert!(message.get("id").is_none(), "a notification: {message}");
        message["params"].clone()
    }

    /// Sends `exit`; checks that the server writes nothing more and ends with `status`.
    async fn exit(mut self, status: i32) {
        self.send(json!({"jsonrpc": "2.0", "method": "exit"})).await;
        // Standard input stays open: `exit` alone must end the process.
        let rest = self.next().await;
        assert_eq!(rest, None, "written after exit");
        let exited = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("exits within 5 s of `exit`")
            .expect("waits");
        assert_eq!(exited.code(), Some(status), "{exited}");
    }
}

fn is_answer_to(message: &Value, id: &Value) -> bool {
    message.get("method").is_none() && message.get("id") == Some(id)
}

const URI: &str = "file:///work/notes.txt";

/// The text of version `n`: its second line holds `word{n}` at characters 4 to 4 + its length.
fn text(n: u32) -> String {
    format!("the first line\nlet word{n} = {n};\n\u{e9}t\u{e9} \u{1F600} end\n")
}

async fn initialize(server: &mut Server) -> Value {
    server
        .result(
            1,
            "initialize",
            json!({
                "processId": std::process::id(),
                "clientInfo": {"name": "interop_lsp.rs", "version": "1"},
                "rootUri": null,
                "capabilities": {"workspace": {"configuration": true}},
                "workDoneToken": "ignored",
            }),
        )
        .await
}

fn hover_at(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
}

fn plaintext(word: &str) -> Value {
    json!({"contents": {"kind": "plaintext", "value": word}})
}

#[tokio::test]
async fn the_lsp_example_serves_an_editor_over_stdio() {
    let mut server = Server::start();

    // The handshake: full text sync and hover.
    let init = initialize(&mut server).await;
    assert_eq!(
        init["capabilities"],
        json!({"textDocumentSync": 1, "hoverProvider": true}),
        "{init}"
    );
    assert_eq!(init["serverInfo"]["name"], "rpc-examples-lsp", "{init}");
    assert!(init["serverInfo"]["version"].is_string(), "{init}");

    // After `initialized` the server asks for its settings; the answer comes back in a log.
    server.notify("initialized", json!({})).await;
    let asked = server.next().await.expect("workspace/configuration");
    assert_eq!(asked["method"], "workspace/configuration", "{asked}");
    assert_eq!(
        asked["params"],
        json!({"items": [{"section": "example"}]}),
        "{asked}"
    );
    let settings = json!([{"greeting": "hi", "n\u{e9}": [1, 2]}]);
    server
        .send(json!({"jsonrpc": "2.0", "id": asked["id"], "result": settings}))
        .await;
    let logged = server.log_message().await;
    assert_eq!(logged["type"], 3, "{logged}");
    let message = logged["message"].as_str().expect("a message");
    let answer = message
        .strip_prefix("configuration: ")
        .unwrap_or_else(|| panic!("not the configuration's log: {message:?}"));
    assert_eq!(
        serde_json::from_str::<Value>(answer).expect("JSON"),
        settings
    );

    // didOpen is logged to the editor.
    server
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "plaintext", "version": 0, "text": text(0)}}),
        )
        .await;
    let opened = server.log_message().await;
    assert!(
        opened["message"]
            .as_str()
            .is_some_and(|m| m.contains("opened") && m.contains(URI)),
        "{opened}"
    );

    // 200 changes sent at once, then a hover without waiting: it sees the last one's text.
    const CHANGES: u32 = 200;
    for version in 1..=CHANGES {
        server
            .notify(
                "textDocument/didChange",
                json!({
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"text": text(version)}],
                }),
            )
            .await;
    }
    assert_eq!(
        server.result(2, "textDocument/hover", hover_at(1, 6)).await,
        plaintext(&format!("word{CHANGES}"))
    );
    // Positions in UTF-16 units: past the emoji (two units) is "end"; its middle, or past the
    // line's end, is clamped, never a panic. Off any word the answer is null.
    assert_eq!(
        server.result(3, "textDocument/hover", hover_at(2, 8)).await,
        plaintext("end")
    );
    assert_eq!(
        server.result(4, "textDocument/hover", hover_at(2, 1)).await,
        plaintext("\u{e9}t\u{e9}")
    );
    assert_eq!(
        server.result(5, "textDocument/hover", hover_at(2, 5)).await,
        Value::Null
    );
    assert_eq!(
        server
            .result(6, "textDocument/hover", hover_at(1, 999))
            .await,
        Value::Null
    );
    assert_eq!(
        server
            .result(7, "textDocument/hover", hover_at(99, 0))
            .await,
        Value::Null
    );

    // A slow call runs to its end when nobody cancels it ...
    assert_eq!(
        server.result(8, "example/slow", json!({"ms": 50})).await,
        json!(true)
    );
    // ... and is stopped by $/cancelRequest, answered -32800 at once, while a later hover is
    // answered as usual.
    let started = Instant::now();
    server
        .request(json!("slow"), "example/slow", json!({"ms": 5000}))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server
        .notify("$/cancelRequest", json!({"id": "slow"}))
        .await;
    let cancelled = server.answer(&json!("slow")).await;
    assert_eq!(cancelled["error"]["code"], -32800, "{cancelled}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "cancelled after {:?}",
        started.elapsed()
    );
    // A cancellation of nothing running is ignored.
    server.notify("$/cancelRequest", json!({"id": 12345})).await;
    assert_eq!(
        server.result(9, "textDocument/hover", hover_at(1, 4)).await,
        plaintext(&format!("word{CHANGES}"))
    );

    // Bad requests are answered with errors that say why.
    for (id, method, params, code, why) in [
        (
            10,
            "textDocument/hover",
            json!({"textDocument": {"uri": "file:///nope"}, "position": {"line": 0, "character": 0}}),
            -32602,
            "not open",
        ),
        (
            11,
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}}),
            -32602,
            "position",
        ),
        (
            12,
            "example/slow",
            json!({"ms": 3_600_000}),
            -32602,
            "more than",
        ),
        (
            13,
            "example/slow",
            json!({"ms": "soon"}),
            -32602,
            "invalid type",
        ),
        (14, "initialize", json!({}), -32600, "already"),
        (15, "textDocument/definition", json!({}), -32601, ""),
    ] {
        let error = server.error(id, method, params).await;
        assert_eq!(error["code"], code, "{method}: {error}");
        assert!(error.to_string().contains(why), "{method}: {error}");
    }
    // A change to a document that is not open cannot be answered: it is logged as an error.
    server
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///nope", "version": 1}, "contentChanges": [{"text": "x"}]}),
        )
        .await;
    let refused = server.log_message().await;
    assert_eq!(refused["type"], 1, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("not open")),
        "{refused}"
    );

    // shutdown answers null; afterwards requests are refused; exit ends with status 0.
    assert_eq!(
        server.result(16, "shutdown", Value::Null).await,
        Value::Null
    );
    let late = server.error(17, "textDocument/hover", hover_at(1, 4)).await;
    assert_eq!(late["code"], -32600, "{late}");
    assert_eq!(server.held, VecDeque::<Value>::new(), "unread messages");
    server.exit(0).await;
}

#[tokio::test]
async fn requests_before_initialize_are_refused_and_exit_without_shutdown_is_status_1() {
    let mut server = Server::start();
    let early = server.error(1, "textDocument/hover", hover_at(0, 0)).await;
    assert_eq!(early["code"], -32002, "{early}");
    // A request answered just before `exit` is still written: exit ends the input, not the
    // answers in flight.
    server
        .request(json!(2), "example/slow", json!({"ms": 0}))
        .await;
    server
        .send(json!({"jsonrpc": "2.0", "method": "exit"}))
        .await;
    let answer = server.next().await.expect("the answer before exit");
    assert_eq!(answer["id"], 2, "{answer}");
    assert_eq!(answer["error"]["code"], -32002, "{answer}");
    assert_eq!(server.next().await, None);
    let exited = tokio::time::timeout(Duration::from_secs(5), server.child.wait())
        .await
        .expect("exits")
        .expect("waits");
    assert_eq!(exited.code(), Some(1), "{exited}");
}

#[tokio::test]
async fn initialize_then_exit_without_shutdown_is_status_1() {
    let mut server = Server::start();
    initialize(&mut server).await;
    server.exit(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn pygls_language_client_drives_the_lsp_example() {
    venv_python();
    let stdout = run_python_script("lsp_pygls.py", &[env!("CARGO_BIN_EXE_lsp")]).await;
    assert!(
        stdout.contains("all ") && stdout.contains("checks passed"),
        "lsp_pygls.py succeeded without its summary line:\n{stdout}"
    );
    assert!(
        stdout.contains("ok   pygls: $/cancelRequest stops example/slow"),
        "{stdout}"
    );
}
