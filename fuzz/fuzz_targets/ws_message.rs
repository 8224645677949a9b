//! Any bytes as one message on a message connection (what a WebSocket text frame or a framed
//! stream message carries) to `spec_server`'s endpoint merged with the callbacks example's
//! line counter, under LSP cancellation: requests, batches, notifications (ordered ones too),
//! `$/cancelRequest`, and answers to the server's own calls, which the connection tells apart
//! by shape. The connection is the real one (`RpcService::serve_stream`, the message framed
//! by `Content-Length` so that any bytes get through whole), over an in-memory pipe, on the
//! one runtime. A message shaped like an answer is sent while a call of the server's to the
//! peer waits (`line_counter` calling `noisy` back), so that it can be routed to it.
//!
//! Every message the server writes is valid JSON-RPC (a response, a non-empty array of them,
//! or its own `noisy` call), and the server's call to the peer is answered once, whatever
//! the message does to it.

#![no_main]

use std::sync::{Arc, LazyLock};

use examples::callbacks::{Counter, LineCounterServer};
use examples::spec::{SpecExamplesServer, SpecService};
use libfuzzer_sys::fuzz_target;
use rpc_core::ErrorObject;
use rpc_core::framing::{Decoder, Frame, Framing, encode};
use rpc_core::peer::Cancellation;
use rpc_server::Merged;
use rpc_server::RpcService;
use rpc_server::middleware::{Authorize, Endpoint, Stack};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Refuse = fn(&str) -> Result<(), ErrorObject>;
type Served = Merged<Arc<SpecExamplesServer<SpecService>>, LineCounterServer<Counter>>;

/// The methods that sleep for as long as the message says, or keep what it sends: refused.
fn refuse(method: &str) -> Result<(), ErrorObject> {
    match method {
        "slow_count" | "note" => Err(ErrorObject::new(-32001, "not here")),
        _ => Ok(()),
    }
}

static ENDPOINT: LazyLock<RpcService<Served, Stack<Authorize<Refuse>, Endpoint<Served>>>> =
    LazyLock::new(|| {
        examples::spec::endpoint()
            .cancellation(Cancellation::Lsp)
            .merge(LineCounterServer(Counter::default()))
            .expect("no method of the two services clashes")
            .authorize(refuse as Refuse)
    });

/// The call whose callback a message shaped like an answer may answer.
const ASK: &[u8] = br#"{"jsonrpc":"2.0","method":"line_counter","params":[["x"]],"id":"ask"}"#;

fuzz_target!(|message: &[u8]| {
    let ask = answer_shaped(message);
    let written = rpc_fuzz::block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (server_in, server_out) = tokio::io::split(server);
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let peer = async {
            let mut framed = Vec::with_capacity(message.len() + 128);
            let mut decoder = Decoder::new(Framing::ContentLength, usize::MAX);
            let mut written = Vec::new();
            let mut chunk = [0; 4096];
            if ask {
                // The server's call back has to be out before the message can answer it.
                encode(Framing::ContentLength, ASK, &mut framed);
                to_server
                    .write_all(&framed)
                    .await
                    .expect("the pipe is open");
                framed.clear();
                'callback: loop {
                    let n = from_server
                        .read(&mut chunk)
                        .await
                        .expect("the pipe is open");
                    assert!(n > 0, "the server ended before calling back");
                    decoder.extend(&chunk[..n]);
                    while let Some(frame) = decoder.next_frame() {
                        let Frame::Message(m) = frame else {
                            panic!("the server wrote {frame:?}")
                        };
                        let callback = is_callback(&m);
                        written.push(m);
                        if callback {
                            break 'callback;
                        }
                    }
                }
            }
            encode(Framing::ContentLength, message, &mut framed);
            to_server
                .write_all(&framed)
                .await
                .expect("the pipe is open");
            to_server.shutdown().await.expect("the pipe is open");
            loop {
                let n = from_server
                    .read(&mut chunk)
                    .await
                    .expect("the pipe is open");
                if n == 0 {
                    break;
                }
                decoder.extend(&chunk[..n]);
            }
            while let Some(frame) = decoder.next_frame() {
                let Frame::Message(m) = frame else {
                    panic!("the server wrote {frame:?}")
                };
                written.push(m);
            }
            assert!(!decoder.is_partial(), "the server ended in a message");
            written
        };
        let serving = ENDPOINT.serve_stream(server_in, server_out, Framing::ContentLength);
        tokio::join!(serving, peer).1
    });
    let mut asked = Vec::new();
    for m in &written {
        if is_callback(m) {
            continue;
        }
        rpc_fuzz::check_answer(m);
        // (A number past `f64`'s range, as an echoed id may be, is no `Value`.)
        let Ok(value) = serde_json::from_slice::<Value>(m) else {
            continue;
        };
        // The message is no request here: an answer with the call's id is the call's, or the
        // message's own refusal (`-32600`, its id echoed).
        if ask && value["id"] == "ask" && value["error"]["code"] != -32600 {
            asked.push(value);
        }
    }
    if ask {
        let [answer] = &asked[..] else {
            panic!("the call back's caller is answered once: {written:?}")
        };
        assert!(
            answer["result"] == 1 || answer["error"]["code"] == 1100,
            "line_counter counted the line or failed to call back: {answer}"
        );
    }
});

/// Whether `message` may be an answer to a call of the server's: an object without `method`,
/// so no request (that the server would run, maybe with the id `ask` too).
fn answer_shaped(message: &[u8]) -> bool {
    message.trim_ascii_start().first() == Some(&b'{')
        && serde_json::from_slice::<serde_json::Map<String, Value>>(message)
            .is_ok_and(|object| !object.contains_key("method"))
}

/// Whether the server wrote its call back to the peer (`noisy`).
fn is_callback(message: &[u8]) -> bool {
    serde_json::from_slice::<Value>(message).is_ok_and(|v| v["method"] == "noisy")
}
