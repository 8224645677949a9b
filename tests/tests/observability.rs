//! Every call traced and measured: exact counts in `GET /metrics` after known calls, method
//! names a service does not have recorded as `_OTHER`, and one span and event per call with
//! OpenTelemetry's names at the level its outcome calls for.
//!
//! The metrics recorder is one per process, so this file holds the only test that reads it.

mod common;

use common::Captured;

use examples::spec::SpecExamplesClient;
use futures_util::{SinkExt as _, StreamExt as _};
use rpc_core::framing::Framing;
use tokio_tungstenite::tungstenite::Message;

/// The value of the sample whose name and labels contain every one of `parts`.
fn sample(metrics: &str, parts: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "current_thread")]
async fn calls_are_counted_by_method_and_outcome_and_traced() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber());

    let base = common::serve(examples::spec::app(), "").await;
    let spec = SpecExamplesClient::new(&format!("{base}/rpc")).unwrap();
    for _ in 0..3 {
        spec.subtract(5, 3).await.unwrap();
    }
    spec.subtract(i64::MIN, 1).await.unwrap_err();
    spec.notify().notify_hello(1).await.unwrap();
    // Ten calls to names the service does not have: one label value between them.
    for i in 0..10 {
        let e = spec
            .client()
            .call::<u8, ()>(&format!("made_up_{i}"), None)
            .await
            .unwrap_err();
        assert_eq!(e.rpc_code(), Some(-32601));
    }
    let batch = r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1},
                    {"jsonrpc":"2.0","method":"sum","params":[3],"id":2},
                    {"jsonrpc":"2.0","method":"get_data","id":3}]"#;
    assert_eq!(
        common::post(&format!("{base}/rpc"), batch).await.status,
        200
    );

    // A subscription is a call, measured as one, and the socket and subscription have gauges.
    let pubsub = common::serve(examples::pubsub::app(), "").await;
    let ws = format!("{}/rpc", pubsub.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    let subscribe = r#"{"jsonrpc":"2.0","method":"subscribe_ticks","params":[60000],"id":1}"#;
    socket.send(Message::text(subscribe)).await.unwrap();
    let answer = socket.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(answer.contains(r#""result":"0x"#), "{answer}");

    // The same endpoint over a Unix socket: its calls are labelled with their transport.
    let dir = std::env::temp_dir().join(format!("rpc-observability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spec.ipc");
    let socket = rpc_server::UnixSocket::bind(&path).unwrap();
    let over_unix = tokio::spawn(std::future::IntoFuture::into_future(
        rpc_server::serve_messages(socket, examples::spec::endpoint(), Framing::Ethereum),
    ));
    let local = SpecExamplesClient::new(&format!("unix://{}", path.display())).unwrap();
    assert_eq!(local.subtract(9, 4).await.unwrap(), 5);
    assert_eq!(local.subtract(9, 5).await.unwrap(), 4);
    over_unix.abort();
    let _ = std::fs::remove_dir_all(&dir);

    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |parts: &[&str]| {
        sample(&metrics, parts).unwrap_or_else(|| panic!("{parts:?} in\n{metrics}"))
    };
    // The calls of `method` answered with a result, over every transport but the Unix socket,
    // as `series` (`rpc_server_calls{` or `rpc_server_duration_count`) counts them.
    let answered = |series: &str, method: &str| {
        let label = format!("rpc_method=\"{method}\"");
        let lines: Vec<&str> = metrics
            .lines()
            .filter(|l| {
                l.starts_with(series)
                    && l.contains(&label)
                    && !l.contains("error_code")
                    && !l.contains("network_transport=\"unix\"")
            })
            .collect();
        assert_eq!(lines.len(), 1, "{method}: {lines:?}");
        lines[0].rsplit(' ').next().unwrap().parse::<f64>().unwrap()
    };
    let ok = |method: &str| answered("rpc_server_calls{", method);
    assert_eq!(ok("subtract"), 3.0);
    // Each call is labelled with what it came over.
    let answered_over = |method: &str, protocol: &str, network: &str| {
        let parts = [
            format!("rpc_method=\"{method}\""),
            format!("network_protocol_name=\"{protocol}\""),
            format!("network_transport=\"{network}\""),
        ];
        let lines: Vec<&str> = metrics
            .lines()
            .filter(|l| {
                l.starts_with("rpc_server_calls{")
                    && !l.contains("error_code")
                    && parts.iter().all(|p| l.contains(p.as_str()))
            })
            .collect();
        assert_eq!(lines.len(), 1, "{parts:?}: {lines:?}");
        lines[0].rsplit(' ').next().unwrap().parse::<f64>().unwrap()
    };
    assert_eq!(answered_over("subtract", "http", "tcp"), 3.0);
    assert_eq!(answered_over("subtract", "stream", "unix"), 2.0);
    assert_eq!(answered_over("subscribe_ticks", "websocket", "tcp"), 1.0);
    // A failed call is counted, and is a sample of the histogram, on its own.
    for series in ["rpc_server_calls{", "rpc_server_duration_count"] {
        assert_eq!(
            count(&[
                series,
                "rpc_method=\"subtract\"",
                "rpc_jsonrpc_error_code=\"-32000\""
            ]),
            1.0
        );
        assert_eq!(
            count(&[
                series,
                "rpc_method=\"_OTHER\"",
                "rpc_jsonrpc_error_code=\"-32601\""
            ]),
            10.0
        );
    }
    assert_eq!(ok("notify_hello"), 1.0);
    assert_eq!(ok("sum"), 2.0);
    assert_eq!(ok("get_data"), 1.0);
    // A single call is one sample of its method's time; a batch is one per method, its calls'
    // time together.
    let samples = |method: &str| answered("rpc_server_duration_count", method);
    assert_eq!(samples("subtract"), 3.0);
    assert_eq!(samples("sum"), 1.0);
    assert_eq!(samples("get_data"), 1.0);
    assert!(
        count(&["rpc_server_duration_sum", "rpc_method=\"sum\""]) > 0.0,
        "the batch's two calls took some time"
    );
    assert!(
        !metrics.contains("made_up"),
        "request data never becomes a label"
    );
    assert_eq!(count(&["rpc_server_requests_per_rpc_count"]), 1.0);
    assert_eq!(count(&["rpc_server_requests_per_rpc_sum"]), 3.0);
    assert_eq!(
        count(&["rpc_server_active_calls", "rpc_method=\"subtract\""]),
        0.0
    );
    assert!(metrics.contains("rpc_system=\"jsonrpc\""));
    assert_eq!(ok("subscribe_ticks"), 1.0);
    assert_eq!(count(&["rpc_server_subscriptions_active"]), 1.0);
    assert_eq!(count(&["rpc_server_websocket_connections"]), 1.0);

    let logs = captured.text();
    let lines: Vec<&str> = logs.lines().collect();
    let answered: Vec<&&str> = lines
        .iter()
        .filter(|l| {
            l.contains("call answered")
                && l.contains("rpc.method=\"subtract\"")
                && !l.contains("network.transport=\"unix\"")
        })
        .collect();
    assert_eq!(answered.len(), 3, "{logs}");
    assert!(answered[0].contains("DEBUG") && answered[0].contains("rpc.system=\"jsonrpc\""));
    assert!(
        answered[0].contains("network.protocol.name=\"http\"")
            && answered[0].contains("network.transport=\"tcp\""),
        "{}",
        answered[0]
    );
    assert!(
        answered[0].contains("rpc.jsonrpc.request_id=\"1\""),
        "{}",
        answered[0]
    );
    let not_found = lines
        .iter()
        .find(|l| l.contains("code=-32601"))
        .expect("a -32601 event");
    assert!(
        not_found.contains(" WARN ") && not_found.contains("rpc.method=\"_OTHER\""),
        "{not_found}"
    );
}
