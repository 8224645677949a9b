//! Any bytes as a server's answer: the client's response parsing, first through the wire
//! functions it is built on, then through the client itself (one call and one batch, over
//! 127.0.0.1 to a local server that answers with the bytes). Every answer is taken or refused
//! with an error, never a panic, and what the client accepts is what the bytes say.

#![no_main]

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rpc_client::Client;
use rpc_core::Error;
use rpc_core::wire::Response;
use serde_json::Value;

/// What the local server answers with: the current input.
static ANSWER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The local server's URL; the server runs on the fuzz runtime whenever the target does.
static URL: LazyLock<String> = LazyLock::new(|| {
    rpc_fuzz::runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound address");
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(|| async { ANSWER.lock().expect("not poisoned").clone() }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    })
});

/// One connection pool for every input, so that the run reuses one keep-alive connection
/// instead of exhausting the ephemeral ports.
static HTTP: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

fuzz_target!(|data: &[u8]| {
    wire_level(data);
    *ANSWER.lock().expect("not poisoned") = data.to_vec();
    // Started outside `block_on`, which starting it would nest.
    let url: &str = &URL;
    rpc_fuzz::runtime().block_on(async {
        // A new client per input starts its ids at the same number, so an input can match them.
        let client = || {
            Client::builder(url)
                .http_client(HTTP.clone())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a valid client")
        };
        let call = client().call::<i64, _>("subtract", Some(&[42, 23])).await;
        check_call(call, data);

        let client = client();
        let mut batch = client.batch();
        let first = batch.call::<i64, _>("subtract", Some(&[42, 23]));
        let second = batch.call::<Vec<String>, _>("get_data", None::<&()>);
        match batch.send().await {
            Ok(mut answers) => {
                let taken = answers.len();
                let (first, second) = (answers.take(first), answers.take(second));
                assert!(taken >= usize::from(first.is_ok()) + usize::from(second.is_ok()));
            }
            Err(e) => assert!(!matches!(e, Error::Transport(_) | Error::Timeout), "{e}"),
        }
    });
});

/// The wire functions: a response they accept has `jsonrpc` "2.0" and exactly one of result
/// and error.
fn wire_level(data: &[u8]) {
    let check = |r: &Response<'_>| {
        assert_eq!(r.jsonrpc, "2.0");
        assert!(r.result.is_some() != r.error.is_some());
        if let Some(id) = r.numeric_id() {
            assert_eq!(r.id.get().parse::<u64>().ok(), Some(id));
        }
    };
    if let Ok(response) = Response::parse(data) {
        check(&response);
    }
    if let Ok(responses) = Response::parse_batch(data) {
        responses.iter().for_each(check);
    }
}

/// A call's outcome agrees with the bytes it was answered with.
fn check_call(call: Result<i64, Error>, data: &[u8]) {
    match call {
        Ok(result) => {
            let value: Value = serde_json::from_slice(data).expect("an accepted answer is JSON");
            assert_eq!(value["id"], 1, "the answer to call 1");
            assert_eq!(value["result"], result, "{value}");
        }
        Err(Error::Rpc(error)) => {
            let value: Value = serde_json::from_slice(data).expect("an accepted answer is JSON");
            assert_eq!(value["error"]["code"], error.code, "{value}");
        }
        Err(e @ (Error::Transport(_) | Error::Timeout | Error::Request(_))) => {
            panic!("the local server answered, and the request is valid: {e}")
        }
        Err(Error::Status { .. } | Error::Malformed(_)) => {}
        // A well-formed answer whose result is not the declared `i64`.
        Err(Error::Decode(_)) => {
            let value: Value = serde_json::from_slice(data).expect("a decoded answer is JSON");
            assert!(!value["result"].is_i64(), "{value}");
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}
