//! The workloads: what each server is sent, and what must come back.

use axum::body::Bytes;

use crate::servers::{self, Server};

/// The size of the echoed string of workload (c).
pub(crate) const ECHO_BYTES: usize = 1 << 20;
/// The calls in the batch of workload (b).
const BATCH_LEN: usize = 100;

/// What to send and what must come back.
pub(crate) struct Workload {
    pub(crate) key: &'static str,
    pub(crate) title: String,
    pub(crate) body: Bytes,
    floor_path: &'static str,
    pub(crate) conns: usize,
    /// Calls in one HTTP request (100 for the batch).
    pub(crate) calls_per_request: usize,
    /// In-process calls counted for allocations (full run).
    pub(crate) inproc_calls: usize,
    check: fn(&serde_json::Value) -> bool,
    /// A notification: the answer is an empty body.
    empty_answer: bool,
}

fn payload() -> String {
    // Printable ASCII with no escapes, so that every server copies it as is.
    (0..ECHO_BYTES)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect()
}

/// Every workload, in the order the report lists them.
pub(crate) fn workloads() -> Vec<Workload> {
    let batch: Vec<String> = (0..BATCH_LEN)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":{i}}}"#))
        .collect();
    let echo = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        payload()
    );
    vec![
        Workload {
            key: "small",
            title: "(a) one small call: `subtract` [42, 23]".into(),
            body: Bytes::from_static(
                br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
            ),
            floor_path: servers::FLOOR_SUBTRACT,
            conns: 32,
            calls_per_request: 1,
            inproc_calls: 5000,
            check: |v| v["result"] == 19 && v["id"] == 1 && v["jsonrpc"] == "2.0",
            empty_answer: false,
        },
        Workload {
            key: "batch",
            title: format!("(b) a batch of {BATCH_LEN} `subtract` calls"),
            body: Bytes::from(format!("[{}]", batch.join(","))),
            floor_path: servers::FLOOR_BATCH,
            conns: 16,
            calls_per_request: BATCH_LEN,
            inproc_calls: 500,
            check: |v| {
                let Some(items) = v.as_array() else {
                    return false;
                };
                let mut ids: Vec<i64> = items.iter().filter_map(|i| i["id"].as_i64()).collect();
                ids.sort_unstable();
                items.len() == BATCH_LEN
                    && items.iter().all(|i| i["result"] == 19)
                    && ids == (0..BATCH_LEN as i64).collect::<Vec<_>>()
            },
            empty_answer: false,
        },
        Workload {
            key: "echo",
            title: "(c) 1 MiB string echo: `echo` [\"abc…\" × 1 MiB]".into(),
            body: Bytes::from(echo),
            floor_path: servers::FLOOR_ECHO,
            conns: 4,
            calls_per_request: 1,
            inproc_calls: 50,
            check: |v| v["result"].as_str().is_some_and(|s| s == payload()) && v["id"] == 1,
            empty_answer: false,
        },
        Workload {
            key: "slow",
            title: "(d) slow handler: `sleep50` (50 ms) under 256 concurrent callers".into(),
            body: Bytes::from_static(br#"{"jsonrpc":"2.0","method":"sleep50","id":1}"#),
            floor_path: servers::FLOOR_SLEEP50,
            conns: 256,
            calls_per_request: 1,
            inproc_calls: 20,
            check: |v| v["result"] == 50 && v["id"] == 1,
            empty_answer: false,
        },
        Workload {
            key: "notify",
            title: "(e) a notification stream: `notify` [7], no id".into(),
            body: Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notify","params":[7]}"#),
            floor_path: servers::FLOOR_NOTIFY,
            conns: 32,
            calls_per_request: 1,
            inproc_calls: 5000,
            check: |_| true,
            empty_answer: true,
        },
    ]
}

impl Workload {
    /// Where `server` takes this workload: the floors have a route per method.
    pub(crate) fn path(&self, server: Server) -> &'static str {
        match server {
            Server::Floor | Server::Strict => self.floor_path,
            Server::Ours | Server::Jsonrpsee => "/",
        }
    }

    /// Whether `body`, answered with HTTP 200, is the right answer; `Err` says what is wrong,
    /// quoting the start of the body.
    pub(crate) fn judge(&self, body: &[u8]) -> Result<(), String> {
        let excerpt = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        if self.empty_answer {
            return if notification_ack(body) {
                Ok(())
            } else {
                Err(format!("a notification was answered: {}", excerpt()))
            };
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("{e}: {}", excerpt()))?;
        if (self.check)(&value) {
            Ok(())
        } else {
            Err(format!("unexpected answer: {}", excerpt()))
        }
    }
}

/// Whether `body` acknowledges a notification: empty (ours, the floors) or `null` (what
/// jsonrpsee 0.26 sends back for a notification over HTTP, without running its method).
fn notification_ack(body: &[u8]) -> bool {
    body.is_empty() || body == b"null"
}
