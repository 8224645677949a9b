//! One trace across a call: the client sends its span's W3C `traceparent`, and the server's span
//! for the call joins that trace as the client span's child, as an OpenTelemetry exporter sees
//! them (tracing-opentelemetry, with an in-memory exporter).

mod common;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

use examples::spec::SpecExamplesClient;

#[tokio::test(flavor = "current_thread")]
async fn the_servers_span_joins_the_callers_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tests")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let url = common::serve(examples::spec::app(), "/rpc").await;
    let spec = SpecExamplesClient::new(&url).unwrap();
    let answer = spec
        .subtract(42, 23)
        .instrument(tracing::info_span!("caller"))
        .await
        .unwrap();
    assert_eq!(answer, 19);
    // A call without a caller's trace starts a trace of its own.
    spec.subtract(1, 1).await.unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let caller = spans
        .iter()
        .find(|s| s.name == "caller")
        .expect("the caller's span");
    let served: Vec<_> = spans.iter().filter(|s| s.name == "subtract").collect();
    assert_eq!(
        served.len(),
        2,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let joined = served
        .iter()
        .find(|s| s.span_context.trace_id() == caller.span_context.trace_id())
        .expect("one server span in the caller's trace");
    assert_eq!(joined.parent_span_id, caller.span_context.span_id());
    let alone = served
        .iter()
        .find(|s| s.span_context.trace_id() != caller.span_context.trace_id());
    assert!(
        alone.is_some(),
        "the call made outside any span has a trace of its own"
    );
    assert!(
        joined
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "rpc.system" && kv.value.as_str() == "jsonrpc"),
        "{:?}",
        joined.attributes
    );
}
