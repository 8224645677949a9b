//! What the fuzz targets share: one runtime for the whole process, and the checks every
//! answer of the server must pass.

use std::borrow::Cow;
use std::sync::LazyLock;

use rpc_core::wire::Response;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The runtime every input runs on: one thread, built once, so that an input's time is its
/// own work.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    });
    &RUNTIME
}

/// Runs `future` to its end on [`runtime`], with the tasks it spawns.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// A message the server sent: valid JSON-RPC, one response object or a non-empty array of
/// them, and our own client reads it.
pub fn check_answer(answer: &[u8]) {
    if answer.trim_ascii_start().first() == Some(&b'[') {
        let items: Vec<&RawValue> = serde_json::from_slice(answer).expect("the answer is JSON");
        assert!(!items.is_empty(), "an empty array is never an answer");
        items.iter().for_each(|item| check_response(item.get()));
        let parsed = Response::parse_batch(answer).expect("our client reads the batch");
        assert_eq!(parsed.len(), items.len());
    } else {
        check_response(std::str::from_utf8(answer).expect("the answer is UTF-8"));
        Response::parse(answer).expect("our client reads the response");
    }
}

/// One response object as JSON-RPC 2.0 has it: `jsonrpc` "2.0", an `id` (null, a number or a
/// string), exactly one of `result` and `error`, an error with an integer `code` and a string
/// `message`, nothing else, no member twice. Ids and results are taken as they are written
/// (a number past `f64`'s range is JSON too, and the server echoes an id it was sent).
pub fn check_response(json: &str) {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict<'a> {
        #[serde(borrow)]
        jsonrpc: Cow<'a, str>,
        #[serde(borrow)]
        id: &'a RawValue,
        #[serde(borrow, default, deserialize_with = "present")]
        result: Option<&'a RawValue>,
        #[serde(borrow, default, deserialize_with = "present")]
        error: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct StrictError<'a> {
        code: i64,
        #[serde(borrow)]
        message: Cow<'a, str>,
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
    }
    let response: Strict<'_> = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("a response object, each member once: {e}: {json}"));
    assert_eq!(response.jsonrpc, "2.0", "{json}");
    let id = response.id.get();
    assert!(
        id == "null"
            || id.starts_with(['"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
        "id {id} is null, a number or a string"
    );
    match (response.result, response.error) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            serde_json::from_str::<StrictError<'_>>(error.get()).unwrap_or_else(|e| {
                panic!("an error has an integer code, a message and maybe data: {e}: {json}")
            });
        }
        _ => panic!("exactly one of result and error: {json}"),
    }
}

/// A member that is there, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}
