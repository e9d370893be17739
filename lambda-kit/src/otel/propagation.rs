//! Trace contexts in and out: the X-Ray header Lambda passes, W3C `traceparent`, and the
//! headers written for downstream calls.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The span context an X-Ray header names: its `Root` as the trace id, its `Parent` as the
/// parent span id, `Sampled=1` as the sampled flag. `None` for a header without a parent
/// or with malformed ids: Lambda sends such incomplete headers when X-Ray is off.
///
/// Read in place, without building a [`TraceHeader`](crate::xray::TraceHeader): this runs
/// for every invocation, and only three of the header's parts matter here.
pub(crate) fn from_xray(header: &str) -> Option<SpanContext> {
    let (mut root, mut parent, mut sampled) = (None, None, false);
    for part in header.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "Root" => root = Some(value.trim()),
            "Parent" => parent = Some(value.trim()),
            "Sampled" => sampled = value.trim() == "1",
            _ => {}
        }
    }
    // `1-5759e988-bd862e3fe1be46a994272793`: the epoch part and the random part together
    // are the 128-bit OpenTelemetry trace id.
    let root = root?.strip_prefix("1-")?;
    let (epoch, random) = root.split_once('-')?;
    // Hex digits only: `from_str_radix` would also take a leading `+`.
    let is_hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|byte| byte.is_ascii_hexdigit())
    };
    if !is_hex(epoch, 8) || !is_hex(random, 24) {
        return None;
    }
    let mut trace_hex = [0u8; 32];
    trace_hex[..8].copy_from_slice(epoch.as_bytes());
    trace_hex[8..].copy_from_slice(random.as_bytes());
    let trace_id = TraceId::from_hex(std::str::from_utf8(&trace_hex).ok()?).ok()?;
    let parent = parent.filter(|parent| is_hex(parent, 16))?;
    let span_id = SpanId::from_hex(parent).ok()?;
    let flags = if sampled {
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
    use crate::telemetry::trace_header::{Sampled, TraceHeader};

    /// The parent the X-Ray layer's parser names: what reading in place must agree with.
    fn via_trace_header(text: &str) -> Option<SpanContext> {
        let header = TraceHeader::parse(text).ok()?;
        let trace_id = TraceId::from_hex(&header.root()[2..].replace('-', "")).ok()?;
        let span_id = SpanId::from_hex(header.parent()?).ok()?;
        let flags = match header.sampled() {
            Sampled::Yes => TraceFlags::SAMPLED,
            _ => TraceFlags::default(),
        };
        let context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
        context.is_valid().then_some(context)
    }

    proptest::proptest! {
        #[test]
        fn reading_in_place_agrees_with_the_trace_header_parser(
            root in "1-[0-9a-f]{8}-[0-9a-f]{24}|1-[0-9a-fA-F+g]{7,9}-[0-9a-f+]{23,25}|[ -~]{0,12}",
            parent in proptest::option::of("[0-9a-f]{16}|[0-9a-f+ ]{15,17}|0{16}"),
            sampled in proptest::option::of("[01?]"),
            lineage in proptest::option::of("[0-9a-f]{8}:[0-9]"),
            parent_first in proptest::bool::ANY,
        ) {
            let mut parts = vec![format!("Root={root}")];
            if let Some(parent) = parent {
                let part = format!("Parent={parent}");
                if parent_first { parts.insert(0, part) } else { parts.push(part) }
            }
            parts.extend(sampled.map(|sampled| format!("Sampled={sampled}")));
            parts.extend(lineage.map(|lineage| format!("Lineage={lineage}")));
            let text = parts.join(";");
            match TraceHeader::parse(&text) {
                Ok(_) => proptest::prop_assert_eq!(from_xray(&text), via_trace_header(&text)),
                Err(_) => proptest::prop_assert_eq!(from_xray(&text), None),
            }
        }

        #[test]
        fn any_text_is_read_without_a_panic(text in ".*") {
            let _ = from_xray(&text);
        }
    }

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
            "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad",
            "Root=1-5759e988-bd862e3fe1be46a99427279g;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=+3995c3f42cd8ad8",
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
