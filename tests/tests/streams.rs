//! JSON-RPC over byte streams: the calculator served over a child process's standard input and
//! output in each framing, subscriptions over a pipe, and bad input on each framing answered
//! with a clear error, never a panic.

mod common;

use common::framed::{Reader, send};

use std::process::Stdio;
use std::time::Duration;

use rpc_core::framing::Framing;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

/// The calculator example as a child serving over its standard input and output.
fn calculator(framing: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_calculator"))
        .args(["--stdio", framing])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the calculator starts")
}

#[tokio::test]
async fn the_calculator_answers_over_stdio_in_each_framing() {
    for (name, framing) in [
        ("newline", Framing::Newline),
        ("content-length", Framing::ContentLength),
        ("ethereum", Framing::Ethereum),
    ] {
        let mut child = calculator(name);
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = Reader::new(child.stdout.take().unwrap(), framing);
        send(
            &mut stdin,
            framing,
            &json!({"jsonrpc": "2.0", "method": "add_together", "params": [1, 2, 3], "id": 1}),
        )
        .await;
        assert_eq!(
            stdout.next().await,
            Some(json!({"jsonrpc": "2.0", "result": 6, "id": 1})),
            "{name}"
        );
        // A batch with a notification and an error; a typed error's data comes back.
        send(
            &mut stdin,
            framing,
            &json!([
                {"jsonrpc": "2.0", "method": "quadratic", "params": [1, 0, 1], "id": "q"},
                {"jsonrpc": "2.0", "method": "add_together", "params": [1]},
                {"jsonrpc": "2.0", "method": "nope", "id": 3},
            ]),
        )
        .await;
        let batch = stdout.next().await.expect("an answer");
        assert_eq!(batch.as_array().map(Vec::len), Some(2), "{name}: {batch}");
        assert_eq!(batch[0]["id"], "q");
        assert!(batch[0]["error"]["data"].is_object(), "{batch}");
        assert_eq!(batch[1]["error"]["code"], -32601);
        // The end of input ends the server, after the calls in flight are answered.
        send(
            &mut stdin,
            framing,
            &json!({"jsonrpc": "2.0", "method": "add_together", "params": [2, 2], "id": 4}),
        )
        .await;
        drop(stdin);
        assert_eq!(
            stdout.next().await,
            Some(json!({"jsonrpc": "2.0", "result": 4, "id": 4}))
        );
        assert_eq!(
            stdout.next().await,
            None,
            "{name}: nothing but messages on stdout"
        );
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("exits at the end of its input")
            .unwrap();
        assert!(status.success(), "{name}: {status}");
    }
}

/// The `pubsub` example's endpoint served over an in-process pipe in `framing`.
fn pubsub_over_pipe(framing: Framing) -> (impl AsyncWrite + Unpin, Reader<impl AsyncRead + Unpin>) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (reader, writer) = tokio::io::split(server);
    let endpoint =
        rpc_server::RpcService::new(examples::pubsub::PubsubServer(examples::pubsub::Live));
    tokio::spawn(async move { endpoint.serve_stream(reader, writer, framing).await });
    let (from_server, to_server) = tokio::io::split(client);
    (to_server, Reader::new(from_server, framing))
}

#[tokio::test]
async fn subscriptions_push_over_a_stream() {
    let (mut to, mut from) = pubsub_over_pipe(Framing::Newline);
    send(
        &mut to,
        Framing::Newline,
        &json!({"jsonrpc": "2.0", "method": "subscribe_counter", "params": [7, 3], "id": 1}),
    )
    .await;
    let id = from.next().await.unwrap()["result"].clone();
    assert!(id.is_string(), "{id}");
    let mut items = Vec::new();
    loop {
        let message = from.next().await.unwrap();
        assert_eq!(message["method"], "counter");
        assert_eq!(message["params"]["subscription"], id);
        match message["params"].get("result") {
            Some(item) => items.push(item.as_u64().unwrap()),
            None => {
                assert_eq!(message["params"]["error"], Value::Null, "the end");
                break;
            }
        }
    }
    assert_eq!(items, [7, 8, 9]);
    // And unsubscribe from a clock.
    send(
        &mut to,
        Framing::Newline,
        &json!({"jsonrpc": "2.0", "method": "subscribe_ticks", "params": [60000], "id": 2}),
    )
    .await;
    let id = from.next().await.unwrap()["result"].clone();
    send(
        &mut to,
        Framing::Newline,
        &json!({"jsonrpc": "2.0", "method": "unsubscribe_ticks", "params": [id], "id": 3}),
    )
    .await;
    let answer = from.next().await.unwrap();
    assert_eq!(answer["id"], 3, "{answer}");
}

/// Sends `bytes` raw to a fresh pubsub pipe in `framing`; the messages it answers until the
/// stream ends or 1 s passes.
async fn answers_to(framing: Framing, bytes: &[u8], then_close: bool) -> (Vec<Value>, bool) {
    let (mut to, mut from) = pubsub_over_pipe(framing);
    to.write_all(bytes).await.unwrap();
    if then_close {
        to.shutdown().await.unwrap();
    } else {
        std::mem::forget(to);
    }
    let mut answers = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(1), from.next()).await {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) => return (answers, true),
            Err(_) => return (answers, false),
        }
    }
}

#[tokio::test]
async fn bad_input_on_each_framing_gets_a_clear_error() {
    let call = br#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":9}"#;
    // A head without a length: -32700 naming why, and the stream ends.
    let (answers, ended) =
        answers_to(Framing::ContentLength, b"Content-Type: x\r\n\r\n{}", false).await;
    assert_eq!(answers[0]["error"]["code"], -32700, "{answers:?}");
    assert_eq!(
        answers[0]["error"]["data"],
        "a message head without Content-Length"
    );
    assert!(ended);
    // A negative length.
    let (answers, ended) =
        answers_to(Framing::ContentLength, b"Content-Length: -5\r\n\r\n", false).await;
    assert_eq!(answers[0]["error"]["code"], -32700);
    assert!(ended);
    // A huge length: refused from its head, and the next message still answered.
    let mut huge = b"Content-Length: 50000000\r\n\r\n".to_vec();
    huge.extend_from_slice(b"xxxx");
    let (answers, ended) = answers_to(Framing::ContentLength, &huge, false).await;
    assert_eq!(answers[0]["error"]["code"], -32600, "{answers:?}");
    assert!(!ended, "the stream goes on, skipping the refused message");
    // A line of garbage, then invalid UTF-8: parse errors, and the next line answered.
    let mut lines = b"garbage here\n\xff\xfe\n".to_vec();
    lines.extend_from_slice(call);
    lines.push(b'\n');
    let (answers, _) = answers_to(Framing::Newline, &lines, false).await;
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[0]["error"]["code"], -32700);
    assert_eq!(answers[1]["error"]["code"], -32700);
    assert_eq!(answers[2]["result"], 3);
    // A line over the body limit (10 MiB): refused, the next line answered.
    let mut long = vec![b'['; 11 * 1024 * 1024];
    long.push(b'\n');
    long.extend_from_slice(call);
    long.push(b'\n');
    let (answers, _) = answers_to(Framing::Newline, &long, false).await;
    assert_eq!(answers[0]["error"]["code"], -32600, "{answers:?}");
    assert_eq!(answers[1]["result"], 3);
    // Ethereum: values back to back without a delimiter, then a truncated one and the end.
    let mut values = call.to_vec();
    values.extend_from_slice(call);
    values.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    let (answers, ended) = answers_to(Framing::Ethereum, &values, true).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        ended,
        "the end of input ends it, the truncated value dropped"
    );
    // Ethereum: something that is no object or array.
    let (answers, ended) = answers_to(Framing::Ethereum, b"  42 ", false).await;
    assert_eq!(answers[0]["error"]["code"], -32700);
    assert!(ended);
}

#[tokio::test]
async fn the_typed_client_of_a_child_process() {
    use examples::calculator::{CalculatorClient, MathError};
    use rpc_core::CallError;
    let dir = std::env::temp_dir().join(format!("rpc-child-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("pid");
    // The shell writes its pid, then becomes the calculator (exec keeps the pid).
    let mut command = std::process::Command::new("sh");
    command.arg("-c").arg(format!(
        "echo $$ > {}; exec {} --stdio",
        pidfile.display(),
        env!("CARGO_BIN_EXE_calculator")
    ));
    let calc = rpc_client::ClientBuilder::<CalculatorClient>::child(command)
        .build()
        .unwrap();
    assert_eq!(calc.add_together(vec![1, 2, 3]).await.unwrap(), 6);
    match calc.quadratic(1.0, 0.0, 1.0).await {
        Err(CallError::Method(MathError::NoRealRoots { .. })) => {}
        other => panic!("expected the method's own error, got {other:?}"),
    }
    let mut batch = calc.batch();
    let total = batch.add_together(vec![10, 20]);
    let roots = batch.quadratic(1.0, -3.0, 2.0);
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.take(total).unwrap(), 30);
    assert_eq!(answers.take(roots).unwrap(), [1.0, 2.0]);
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc.exists(), "the child runs");
    // Dropping the last client ends the child: its input closes, and it exits.
    drop(calc);
    let started = std::time::Instant::now();
    while proc.exists()
        && !std::fs::read_to_string(proc.join("stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the child still runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_child_that_exits_is_a_transport_error_naming_its_status() {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "exit 3"]);
    let client = rpc_client::ClientBuilder::<rpc_client::Client>::child(command)
        .build()
        .unwrap();
    let error = client
        .call::<u64, ()>("anything", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("exit status: 3"), "{error}");
    // It is not started again: the next call says it has ended.
    let again = client
        .call::<u64, ()>("anything", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        again.contains("ended") || again.contains("exit status: 3"),
        "{again}"
    );
    // A program that does not exist: an error naming it.
    let client = rpc_client::ClientBuilder::<rpc_client::Client>::child(
        std::process::Command::new("/nonexistent/server"),
    )
    .build()
    .unwrap();
    let error = client
        .call::<u64, ()>("x", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot start the server process `server`"),
        "{error}"
    );
}

/// The typed client over a stream handed to it: calls while the server is there, then a
/// transport error saying the stream ended once the server's end is gone, and no reconnect.
#[tokio::test]
async fn the_typed_client_over_a_given_stream_fails_clearly_when_it_ends() {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (reader, writer) = tokio::io::split(theirs);
    let server = tokio::spawn(async move {
        examples::calculator::endpoint()
            .serve_stream(reader, writer, Framing::ContentLength)
            .await;
    });
    let (reader, writer) = tokio::io::split(ours);
    let calc =
        rpc_client::ClientBuilder::<examples::calculator::CalculatorClient>::stream(reader, writer)
            .framing(Framing::ContentLength)
            .build()
            .unwrap();
    assert_eq!(calc.add_together(vec![2, 3]).await.unwrap(), 5);
    server.abort();
    let _ = server.await;
    for _ in 0..2 {
        let e = calc.add_together(vec![1, 1]).await.unwrap_err();
        assert!(
            matches!(e, rpc_core::CallError::Call(rpc_core::Error::Transport(_))),
            "{e:?}"
        );
    }
    let e = calc.add_together(vec![1, 1]).await.unwrap_err();
    assert!(e.to_string().contains("ended"), "{e}");
}

/// What the next test serves: a slow call, and one that ends its connection.
#[rpc_core::rpc(server)]
pub trait Session {
    /// Answers `ms` after `ms` milliseconds.
    async fn slow(&self, ms: u64) -> u64;
    /// Closes the connection it came over; `false` when there is none.
    async fn quit(&self) -> bool;
}

struct Sessions;

impl Session for Sessions {
    async fn slow(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    async fn quit(&self) -> bool {
        rpc_server::RequestContext::close_connection()
    }
}

#[tokio::test]
async fn a_method_closes_its_connection_and_the_calls_in_flight_are_answered() {
    let slow = json!({"jsonrpc": "2.0", "method": "slow", "params": [300], "id": 1});
    let quit = json!({"jsonrpc": "2.0", "method": "quit", "id": 2});
    // Over a stream whose input stays open: the server stops reading, answers both, and
    // `serve_stream` returns.
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (reader, writer) = tokio::io::split(server);
    let serving = tokio::spawn(async move {
        rpc_server::RpcService::new(SessionServer(Sessions))
            .serve_stream(reader, writer, Framing::Newline)
            .await
    });
    let (from_server, mut to_server) = tokio::io::split(client);
    let mut from = Reader::new(from_server, Framing::Newline);
    send(&mut to_server, Framing::Newline, &slow).await;
    send(&mut to_server, Framing::Newline, &quit).await;
    let first = from.next().await.unwrap();
    assert_eq!(
        (first["id"].clone(), first["result"].clone()),
        (json!(2), json!(true))
    );
    let second = from.next().await.unwrap();
    assert_eq!(
        (second["id"].clone(), second["result"].clone()),
        (json!(1), json!(300))
    );
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("serve_stream returns")
        .unwrap();
    assert!(from.next().await.is_none(), "the output ended");

    // Over a WebSocket: both answers, then a close with 1000.
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let app = axum::Router::new().route(
        "/rpc",
        rpc_server::RpcService::new(SessionServer(Sessions)).into_method_router(),
    );
    let base = common::serve(app, "").await;
    let url = format!("{}/rpc", base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    socket.send(Message::text(slow.to_string())).await.unwrap();
    socket.send(Message::text(quit.to_string())).await.unwrap();
    let mut ids = Vec::new();
    let close = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let answer: Value = serde_json::from_str(&text).unwrap();
                ids.push(answer["id"].as_u64().unwrap());
            }
            Some(Ok(Message::Close(frame))) => break frame,
            other => panic!("{other:?}"),
        }
    };
    ids.sort_unstable();
    assert_eq!(ids, [1, 2]);
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1000);
    assert_eq!(close.reason.as_str(), "closed by a method");

    // Over HTTP there is no connection to close.
    let answer = common::post(&format!("{base}/rpc"), &quit.to_string())
        .await
        .json();
    assert_eq!(answer["result"], false, "{answer}");
}
