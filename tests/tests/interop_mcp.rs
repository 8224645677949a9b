//! The `mcp` example, a Model Context Protocol server over stdio, run as a child process: raw
//! newline-delimited JSON written to its standard input (the handshake, `tools/list`,
//! `tools/call`, bad input, and a `notifications/cancelled` that must stop a running call),
//! and the official MCP Python SDK listing and calling its tools (`tests/interop/mcp_client.py`,
//! `#[ignore]`d like the other Python peers: `scripts/setup-test-deps.sh` installs the SDK).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::python::{run_python_script, venv_python};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The `mcp` example as a child speaking on its stdin and stdout.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    fn start() -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the mcp example starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("its stdout")).lines();
        Server {
            child,
            stdin,
            stdout,
        }
    }

    /// Writes `message` as one line.
    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        assert!(!line.contains('\n'));
        line.push('\n');
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line.as_bytes()).await.expect("writes");
        stdin.flush().await.expect("flushes");
    }

    /// The next line the server writes, as JSON; `None` once its stdout ends. Fails after 10 s.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line())
            .await
            .expect("the server writes within 10 s")
            .expect("reads its stdout")?;
        Some(
            serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("the server wrote a line that is not JSON ({e}): {line:?}")
            }),
        )
    }

    /// Sends a request and returns its answer, which must be the next message.
    async fn call(&mut self, id: Value, method: &str, params: Option<Value>) -> Value {
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(params) = params {
            request["params"] = params;
        }
        self.send(request).await;
        let answer = self.next().await.expect("an answer");
        assert_eq!(answer["id"], id, "{method}: {answer}");
        answer
    }

    /// The result of a request that must succeed.
    async fn result(&mut self, id: u64, method: &str, params: Option<Value>) -> Value {
        let answer = self.call(json!(id), method, params).await;
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    /// Closes stdin; returns what the server still wrote, and checks that it exits with status 0.
    async fn finish(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let mut rest = Vec::new();
        while let Some(message) = self.next().await {
            rest.push(message);
        }
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("exits at the end of its input")
            .expect("waits");
        assert!(status.success(), "{status}");
        rest
    }
}

fn initialize(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "interop_mcp.rs", "version": "1"},
    })
}

/// The single text item of a `tools/call` result, and its `isError`.
fn text(result: &Value) -> (&str, bool) {
    let content = result["content"].as_array().expect("content is an array");
    assert_eq!(content.len(), 1, "{result}");
    assert_eq!(content[0]["type"], "text", "{result}");
    let text = content[0]["text"].as_str().expect("text is a string");
    (
        text,
        result["isError"].as_bool().expect("isError is a boolean"),
    )
}

fn call_tool(name: &str, arguments: Value) -> Option<Value> {
    Some(json!({"name": name, "arguments": arguments}))
}

#[tokio::test]
async fn the_mcp_example_answers_initialize_tools_list_and_tools_call() {
    let mut server = Server::start();

    // The handshake: the client's revision when the server speaks it, its newest otherwise.
    let init = server
        .result(1, "initialize", Some(initialize("2025-06-18")))
        .await;
    assert_eq!(init["protocolVersion"], "2025-06-18", "{init}");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");
    assert_eq!(init["serverInfo"]["name"], "rpc-examples-mcp", "{init}");
    assert!(init["serverInfo"]["version"].is_string(), "{init}");
    let newest = server
        .result(2, "initialize", Some(initialize("2099-01-01")))
        .await;
    assert_eq!(newest["protocolVersion"], "2025-11-25", "{newest}");
    // notifications/initialized is taken silently: the next line is the ping's answer.
    server
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    assert_eq!(server.result(3, "ping", None).await, json!({}));

    // tools/list: each tool's input schema is an object schema with its properties.
    let listed = server
        .result(4, "tools/list", Some(json!({"_meta": {}})))
        .await;
    let tools = listed["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["add", "echo", "sleep"], "{listed}");
    for (tool, properties) in tools.iter().zip([
        &[("a", "integer"), ("b", "integer")][..],
        &[("text", "string")],
        &[("ms", "integer")],
    ]) {
        let schema = &tool["inputSchema"];
        assert_eq!(schema["type"], "object", "{tool}");
        assert!(tool["description"].is_string(), "{tool}");
        let declared = schema["properties"].as_object().expect("properties");
        assert_eq!(declared.len(), properties.len(), "{tool}");
        for (name, ty) in properties {
            assert_eq!(declared[*name]["type"], *ty, "{tool}");
        }
        assert_eq!(
            schema["required"].as_array().map(Vec::len),
            Some(properties.len())
        );
    }

    // tools/call, with `_meta` (a progress token) beside the arguments.
    let mut params = call_tool("add", json!({"a": 2, "b": 3})).unwrap();
    params["_meta"] = json!({"progressToken": "p"});
    let sum = server.result(5, "tools/call", Some(params)).await;
    assert_eq!(
        sum,
        json!({"content": [{"type": "text", "text": "5"}], "isError": false})
    );
    let echoed = server
        .result(
            6,
            "tools/call",
            call_tool("echo", json!({"text": "h\u{e9}llo"})),
        )
        .await;
    assert_eq!(text(&echoed), ("h\u{e9}llo", false));

    // What a tool cannot use is a result with isError, saying why, so a model can correct it.
    for (id, tool, arguments, why) in [
        (7, "add", json!({"a": 2}), "missing field `b`"),
        (8, "add", json!({"a": 2, "b": "3"}), "invalid type"),
        (9, "add", json!({"a": i64::MAX, "b": 1}), "does not fit"),
        (
            10,
            "echo",
            json!({"text": "x", "loud": true}),
            "unknown field",
        ),
        (11, "sleep", json!({"ms": 3_600_000}), "longest sleep"),
    ] {
        let result = server
            .result(id, "tools/call", call_tool(tool, arguments))
            .await;
        let (text, is_error) = text(&result);
        assert!(is_error && text.contains(why), "{tool}: {result}");
    }
    // No arguments at all is an empty object of them.
    let result = server
        .result(12, "tools/call", Some(json!({"name": "echo"})))
        .await;
    assert!(text(&result).1, "{result}");

    // An unknown tool, and params MCP does not define, are JSON-RPC errors that say why.
    for (id, method, params, why) in [
        (
            13,
            "tools/call",
            call_tool("nope", json!({})),
            "Unknown tool: nope",
        ),
        (
            14,
            "tools/call",
            Some(json!({"arguments": {}})),
            "missing param `name`",
        ),
        (
            15,
            "tools/list",
            Some(json!({"cursor": "x"})),
            "Invalid cursor",
        ),
        (
            16,
            "tools/list",
            Some(json!({"page": 2})),
            "unknown param `page`",
        ),
        (
            17,
            "initialize",
            Some(json!({"protocolVersion": "2025-11-25"})),
            "missing param",
        ),
    ] {
        let answer = server.call(json!(id), method, params).await;
        let error = &answer["error"];
        assert_eq!(error["code"], -32602, "{answer}");
        assert!(error.to_string().contains(why), "{method}: {answer}");
    }
    assert_eq!(
        server.call(json!(18), "resources/list", None).await["error"]["code"],
        -32601
    );

    assert_eq!(server.finish().await, Vec::<Value>::new());
}

#[tokio::test]
async fn notifications_cancelled_stops_a_running_call_which_gets_no_answer() {
    const LONG_MS: u64 = 1000;
    let mut server = Server::start();
    server
        .result(1, "initialize", Some(initialize("2025-11-25")))
        .await;
    server
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    // Two sleeps at once; the first, with a string id, is cancelled while it sleeps.
    let started = Instant::now();
    for (id, ms) in [(json!("long"), LONG_MS), (json!(2), 200)] {
        server
            .send(json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "sleep", "arguments": {"ms": ms}},
            }))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    server
        .send(json!({
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": "long", "reason": "the user pressed stop"},
        }))
        .await;
    // A cancellation of nothing running (done, or never sent) is ignored, as MCP says.
    server
        .send(json!({
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 99},
        }))
        .await;

    // The other sleep is answered: the first sleep to finish.
    let other = server.next().await.expect("the other sleep's answer");
    assert_eq!(other["id"], 2, "{other}");
    assert_eq!(text(&other["result"]), ("1", false));

    // Past the cancelled sleep's end, a sleep of 0 ms is only the second to finish: the
    // cancelled one was stopped, not merely left unanswered.
    tokio::time::sleep(Duration::from_millis(LONG_MS + 300).saturating_sub(started.elapsed()))
        .await;
    let after = server
        .result(3, "tools/call", call_tool("sleep", json!({"ms": 0})))
        .await;
    assert_eq!(text(&after), ("2", false));

    // Nothing else ever came: no answer for the cancelled call, no error for either notice.
    let rest = server.finish().await;
    assert_eq!(rest, Vec::<Value>::new(), "the cancelled call was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python and the interop clients: run scripts/setup-test-deps.sh"]
async fn the_official_mcp_python_sdk_lists_and_calls_our_tools() {
    venv_python();
    let stdout = run_python_script("mcp_client.py", &[env!("CARGO_BIN_EXE_mcp")]).await;
    assert!(
        stdout.contains("all ") && stdout.contains("checks passed"),
        "mcp_client.py succeeded without its summary line:\n{stdout}"
    );
    assert!(
        stdout.contains("ok   mcp: notifications/cancelled stops a running call"),
        "{stdout}"
    );
}
