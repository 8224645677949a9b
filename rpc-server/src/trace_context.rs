//! W3C trace context: a call's span joins the trace of the caller that sent `traceparent`.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::RequestContext;

/// Makes `span` a child of the remote span the request's `traceparent` header names, when it
/// has a valid one (`00-<trace id>-<parent id>-<flags>`); anything else leaves it a root.
pub(crate) fn join_caller(span: &tracing::Span) {
    let Some(header) = RequestContext::header("traceparent") else {
        return;
    };
    let Some(parent) = header.to_str().ok().and_then(parse) else {
        return;
    };
    // `set_parent` only fails when no OpenTelemetry layer is installed: then there is no
    // trace to join.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
}

/// The span context a `traceparent` value names (version 00), or `None` when it is malformed
/// or names the all-zero ids the specification calls invalid.
pub(crate) fn parse(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00"
        || parts.next().is_some()
        || trace.len() != 32
        || span.len() != 16
        || flags.len() != 2
    {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok()?;
    let span = SpanId::from_hex(span).ok()?;
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()?);
    let context = SpanContext::new(trace, span, flags, true, TraceState::default());
    context.is_valid().then_some(context)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_w3c_examples_and_refuses_the_rest() {
        let ok = super::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(
            format!("{}", ok.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{}", ok.span_id()), "00f067aa0ba902b7");
        assert!(ok.is_sampled() && ok.is_remote());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(super::parse(bad).is_none(), "{bad:?}");
        }
    }
}
