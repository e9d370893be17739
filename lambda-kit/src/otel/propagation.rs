//! Trace contexts in and out: the X-Ray header Lambda passes, W3C `traceparent`, and the
//! headers written for downstream calls.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::telemetry::trace_header::{Sampled, TraceHeader};

/// The span context an X-Ray header names: its `Root` as the trace id, its `Parent` as the
/// parent span id, `Sampled=1` as the sampled flag. `None` for a header without a parent
/// or that does not parse: Lambda sends such incomplete headers when X-Ray is off.
pub(crate) fn from_xray(header: &str) -> Option<SpanContext> {
    let header = TraceHeader::parse(header).ok()?;
    // `1-5759e988-bd862e3fe1be46a994272793`: the epoch part and the random part together
    // are the 128-bit OpenTelemetry trace id.
    let mut parts = header.root().splitn(3, '-').skip(1);
    let trace_hex = format!("{}{}", parts.next()?, parts.next()?);
    let trace_id = TraceId::from_hex(&trace_hex).ok()?;
    let span_id = SpanId::from_hex(header.parent()?).ok()?;
    let flags = if header.sampled() == Sampled::Yes {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    context.is_valid().then_some(context)
}

/// The span context a W3C `traceparent` (and `tracestate`) names, if it is valid.
pub(crate) fn from_traceparent(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
    let mut carrier = HashMap::with_capacity(2);
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(state) = tracestate {
        carrier.insert("tracestate".to_owned(), state.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// `traceparent` for a call made inside `context`'s span.
pub(crate) fn to_traceparent(context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    )
}

/// `X-Amzn-Trace-Id` for a call made inside `context`'s span, so that X-Ray-instrumented
/// services downstream join the same trace.
pub(crate) fn to_xray(context: &SpanContext) -> String {
    let trace = context.trace_id().to_string();
    format!(
        "Root=1-{}-{};Parent={};Sampled={}",
        &trace[..8],
        &trace[8..],
        context.span_id(),
        u8::from(context.is_sampled())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1";

    #[test]
    fn an_xray_header_becomes_a_remote_span_context_and_back() {
        let context = from_xray(HEADER).expect("valid");
        assert_eq!(
            context.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(context.span_id().to_string(), "53995c3f42cd8ad8");
        assert!(context.is_sampled());
        assert!(context.is_remote());
        assert_eq!(
            to_xray(&context),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        );
        assert_eq!(
            to_traceparent(&context),
            "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
        );
        let unsampled = from_xray(&HEADER.replace("Sampled=1", "Sampled=0")).expect("valid");
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn incomplete_or_malformed_xray_headers_give_no_parent() {
        for header in [
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=1",
            "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
            "Root=nonsense;Parent=53995c3f42cd8ad8",
            "",
        ] {
            assert!(from_xray(header).is_none(), "{header}");
        }
    }

    #[test]
    fn traceparents_are_read_as_the_w3c_format_says() {
        let context = from_traceparent(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Some("vendor=value"),
        )
        .expect("valid");
        assert_eq!(
            context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert!(context.is_sampled());
        assert_eq!(context.trace_state().get("vendor"), Some("value"));
        for bad in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "zz",
        ] {
            assert!(from_traceparent(bad, None).is_none(), "{bad}");
        }
    }
}
