//! What every observer of an invocation shares: the invocation span's schema (its name,
//! its field names, its constructor), the one failure line, and the field visitor.
//!
//! The log layer (`logging/`), the X-Ray layer (`xray/`), the OpenTelemetry layer
//! (`otel/`) and the metrics scope (`metrics/`) import this module and `config`, never each
//! other, as tracing-subscriber's layers share `field/` and `registry/`. Besides the span's
//! schema it holds what they have in common: the X-Ray trace header, facts read from the
//! event, the ids of the current trace, and the flush the loop runs between invocations.

pub(crate) mod event;
pub(crate) mod fields;
pub(crate) mod flush;
pub(crate) mod trace_header;

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Metadata;

use crate::context::Context;
use crate::error::Error;

/// Field names of the invocation span and of the failure line, as log lines carry them.
pub(crate) mod field {
    /// The request id.
    pub(crate) const REQUEST_ID: &str = "requestId";
    /// The trace's `Root` id.
    pub(crate) const XRAY_TRACE_ID: &str = "xrayTraceId";
    /// The invoked ARN.
    pub(crate) const FUNCTION_ARN: &str = "function_arn";
    /// Whether this invocation is the environment's cold start.
    pub(crate) const COLD_START: &str = "cold_start";
    /// The tenant of a tenant-isolated invocation.
    // No observer treats it specially (it is logged as it is); named for the schema.
    #[allow(dead_code)]
    pub(crate) const TENANT_ID: &str = "tenantId";
    /// The whole trace header, for X-Ray (a leading `_` keeps a field out of log lines).
    pub(crate) const TRACE_HEADER: &str = "_trace_header";
    /// The event's source kind (`faas.trigger`), when an observer asked for event facts.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) const TRIGGER: &str = "_trigger";
    /// The event's W3C `traceparent`, when an observer asked for event facts.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) const TRACEPARENT: &str = "_traceparent";
    /// The `tracestate` next to it.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) const TRACESTATE: &str = "_tracestate";
    /// The OpenTelemetry trace id (32 hex digits) of a line logged inside a traced span.
    pub(crate) const TRACE_ID: &str = "trace_id";
    /// The OpenTelemetry span id (16 hex digits) of that span.
    pub(crate) const SPAN_ID: &str = "span_id";
    /// The failure line's errorType.
    pub(crate) const ERROR_TYPE: &str = "errorType";
    /// The failure line's errorMessage.
    pub(crate) const ERROR_MESSAGE: &str = "errorMessage";
    /// Whether the failure is the caller's fault (X-Ray: error, not fault).
    pub(crate) const CLIENT_ERROR: &str = "clientError";
}

/// The invocation span's name.
const INVOCATION_SPAN: &str = "invocation";

/// The span every line logged during an invocation hangs off.
///
/// Its fields are those of [`field`]: the keys log lines carry, `_trace_header`, the full
/// X-Ray header for the X-Ray layer, and what was read from the event when an observer
/// asked for it (see [`event`]). It is an ERROR span so that it exists at every log level:
/// an ERROR line without its request id would be of little use.
pub(crate) fn invocation_span(
    context: &Context,
    cold_start: bool,
    facts: Option<&event::EventFacts>,
) -> tracing::Span {
    let header = context.xray_trace_id();
    // The names are `field`'s constants, spelled out because `tracing` takes identifiers
    // here; a test below keeps the two the same. Two callsites, so that an invocation
    // without event facts does not carry three more (empty) fields through every layer.
    macro_rules! span_with {
        ($($facts:tt)*) => {
            tracing::error_span!(
                "invocation",
                requestId = context.request_id(),
                xrayTraceId = header.map(trace_root),
                function_arn = context.invoked_function_arn(),
                cold_start,
                tenantId = context.tenant_id(),
                _trace_header = header,
                $($facts)*
            )
        };
    }
    match facts {
        None => span_with!(),
        Some(facts) => span_with!(
            _trigger = facts.trigger.as_str(),
            _traceparent = facts.traceparent.as_deref(),
            _tracestate = facts.tracestate.as_deref(),
        ),
    }
}

/// The OpenTelemetry ids of a span, which the OpenTelemetry layer keeps in the extensions
/// of the spans it traces and the log layer writes, hex-encoded, into lines logged inside
/// them (`trace_id`, `span_id`). Kept as bytes: most spans log nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceIds {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
}

impl TraceIds {
    /// Lowercase hex, as OpenTelemetry writes ids.
    pub(crate) fn hex(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(bytes.len() * 2);
        for byte in bytes {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        text
    }
}

/// A process-wide switch an observer turns on when it is built, so that the loop and the
/// other layers do the work it needs only from then on. Only the OpenTelemetry layer turns
/// one on today: without its feature a switch reads `false` at compile time, and what it
/// guards is left out of the build.
pub(crate) struct Switch(AtomicBool);

impl Switch {
    /// A switch that is off.
    pub(crate) const fn off() -> Self {
        Switch(AtomicBool::new(false))
    }

    /// Turns it on for the rest of the process.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) fn turn_on(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether it is on.
    pub(crate) fn is_on(&self) -> bool {
        cfg!(feature = "otel") && self.0.load(Ordering::Relaxed)
    }
}

/// Whether any span may carry [`TraceIds`], so that the log layer looks for them only then.
static TRACE_IDS: Switch = Switch::off();

/// Tells the log layer to look for [`TraceIds`] from now on.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) fn spans_carry_trace_ids() {
    TRACE_IDS.turn_on();
}

/// Whether spans may carry [`TraceIds`].
pub(crate) fn trace_ids_wanted() -> bool {
    TRACE_IDS.is_on()
}

/// The first value `find` gives for the extensions of the current span or of one of its
/// parents, innermost first: how the X-Ray and OpenTelemetry layers find their own data
/// for a downstream call. `None` outside any span, or when the subscriber is not built on
/// `tracing_subscriber::Registry`.
pub(crate) fn find_in_current_scope<T>(
    mut find: impl FnMut(&tracing_subscriber::registry::Extensions<'_>) -> Option<T>,
) -> Option<T> {
    use tracing_subscriber::registry::{LookupSpan as _, Registry};
    let id = tracing::Span::current().id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let span = registry.span(&id)?;
        span.scope().find_map(|span| find(&span.extensions()))
    })
}

/// Whether `metadata` is the invocation span's.
pub(crate) fn is_invocation_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span()
        && metadata.name() == INVOCATION_SPAN
        && metadata.target().starts_with("lambda_kit")
}

/// The one ERROR line of a failed invocation; the X-Ray layer reads its fields too.
pub(crate) fn log_failure(error: &Error) {
    tracing::error!(
        errorType = error.error_type(),
        errorMessage = error.message(),
        clientError = error.is_client_error(),
        "invocation failed"
    );
}

/// The `Root=` value of a trace header, or the whole header when it has none.
fn trace_root(header: &str) -> &str {
    // Lambda's headers start with it.
    if let Some(rest) = header.strip_prefix("Root=") {
        return rest
            .split_once(';')
            .map_or(rest, |(root, _)| root)
            .trim_ascii();
    }
    header
        .split(';')
        .find_map(|part| part.trim_ascii().strip_prefix("Root="))
        .unwrap_or(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_carries_the_schema_fields() {
        // A subscriber that enables everything, so that the span has its metadata.
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            let context = Context::builder().build();
            let common = [
                field::REQUEST_ID,
                field::XRAY_TRACE_ID,
                field::FUNCTION_ARN,
                field::COLD_START,
                field::TENANT_ID,
                field::TRACE_HEADER,
            ];
            let facts = event::EventFacts::default();
            for (span, extra) in [
                (invocation_span(&context, true, None), &[][..]),
                (
                    invocation_span(&context, true, Some(&facts)),
                    &[field::TRIGGER, field::TRACEPARENT, field::TRACESTATE][..],
                ),
            ] {
                let metadata = span.metadata().expect("an enabled span");
                assert!(is_invocation_span(metadata));
                for name in common.iter().chain(extra) {
                    assert!(metadata.fields().field(name).is_some(), "{name}");
                }
            }
        });
    }

    #[test]
    fn the_trace_root_is_read_from_the_header() {
        assert_eq!(trace_root("Root=1-abc;Parent=def;Sampled=1"), "1-abc");
        assert_eq!(trace_root("Root=1-abc"), "1-abc");
        assert_eq!(trace_root("Parent=def; Root=1-abc ;Sampled=1"), "1-abc");
        assert_eq!(trace_root("Parent=def"), "Parent=def");
    }
}
