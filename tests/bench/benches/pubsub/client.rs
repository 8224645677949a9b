//! The client, the same for both servers: a raw tokio-tungstenite socket sending the same JSON
//! text to each. It sends calls and reads their answers by id, checks that both servers speak the
//! same wire format, opens the subscriptions and reads a feed's items checking their order.

use std::collections::HashMap;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::servers::Server;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
        .0
}

/// The next text message (pings are answered by tungstenite as it reads).
pub(crate) async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

pub(crate) fn request(id: u64, method: &str, params: &str) -> Message {
    Message::text(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
    ))
}

/// Sends the requests, then reads their answers (in any order): each one's `result`.
pub(crate) async fn calls(ws: &mut Ws, requests: &[(&str, String)]) -> Vec<Value> {
    for (id, (method, params)) in requests.iter().enumerate() {
        ws.feed(request(id as u64, method, params))
            .await
            .expect("send");
    }
    ws.flush().await.expect("send");
    let mut results = vec![Value::Null; requests.len()];
    for _ in 0..requests.len() {
        let text = next_text(ws).await;
        let answer: Value = serde_json::from_str(&text).expect("an answer is JSON");
        let id = answer["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an answer with an id: {text}"));
        let result = answer
            .get("result")
            .unwrap_or_else(|| panic!("an answer with a result: {text}"));
        results[id as usize] = result.clone();
    }
    results
}

/// The value of `"key":` in a notification the wire check has vetted: the raw token.
pub(crate) fn raw_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let rest = &text[at..];
    let end = rest.find([',', '}'])?;
    Some(&rest[..end])
}

/// Both servers answer `add` and send `subscribe_counter(5, 3)`'s items in the same format.
pub(crate) async fn check_wire(server: Server, url: &str) {
    let mut ws = connect(url).await;
    let answers = calls(
        &mut ws,
        &[
            ("add", "[2,3]".into()),
            ("subscribe_counter", "[5,3]".into()),
        ],
    )
    .await;
    assert_eq!(answers[0], 5, "{}: add(2, 3)", server.name());
    let id = &answers[1];
    assert!(
        id.is_string() || id.is_u64(),
        "{}: a subscription id, got {id}",
        server.name()
    );
    for expected in 5u64..8 {
        let text = next_text(&mut ws).await;
        let note: Value = serde_json::from_str(&text).expect("a notification is JSON");
        let want = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "counter",
            "params": {"subscription": id, "result": expected},
        });
        assert_eq!(note, want, "{}: notification {text}", server.name());
        // The fan-out reads notifications by these two fields.
        assert_eq!(
            raw_field(&text, "\"subscription\":"),
            Some(id.to_string().as_str())
        );
        assert_eq!(
            raw_field(&text, "\"result\":"),
            Some(expected.to_string().as_str())
        );
    }
    let text = next_text(&mut ws).await;
    let end: Value = serde_json::from_str(&text).expect("the end is JSON");
    assert_eq!(
        end["params"],
        serde_json::json!({"subscription": id, "error": null}),
        "{}: the end of the stream: {text}",
        server.name()
    );
}

/// Opens `sockets` sockets with `per_socket` subscriptions to `method` each; the subscription
/// ids of each socket, as their JSON text.
pub(crate) async fn subscribe_all(
    url: &str,
    sockets: usize,
    per_socket: usize,
    method: &str,
    params: &str,
) -> Vec<(Ws, Vec<String>)> {
    let mut out = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let mut ws = connect(url).await;
        let requests = vec![(method, params.to_owned()); per_socket];
        let ids = calls(&mut ws, &requests).await;
        out.push((ws, ids.iter().map(Value::to_string).collect()));
    }
    out
}

/// Reads `items` `feed` items for each of the socket's subscriptions, checking their order.
pub(crate) async fn read_feed(mut ws: Ws, ids: Vec<String>, items: u64) -> Ws {
    let index: HashMap<String, usize> = ids.iter().cloned().zip(0..).collect();
    let mut next = vec![0u64; ids.len()];
    let mut done = 0;
    while done < ids.len() {
        let text = next_text(&mut ws).await;
        let item = raw_field(&text, "\"result\":").and_then(|v| v.parse::<u64>().ok());
        let sub = raw_field(&text, "\"subscription\":").and_then(|id| index.get(id));
        let (Some(item), Some(&sub), true) = (item, sub, text.contains(r#""method":"feed""#))
        else {
            panic!("expected a feed item, got {text}");
        };
        assert_eq!(item, next[sub], "items in order: {text}");
        next[sub] += 1;
        if next[sub] == items {
            done += 1;
        }
    }
    ws
}
