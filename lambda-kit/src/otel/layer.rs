//! The `tracing` layer: the invocation span becomes a SERVER span named after the function,
//! with the FaaS attributes of OpenTelemetry's semantic conventions and its parent from the
//! propagators; every `tracing` span inside it becomes a child span, and events at or
//! above the configured level become span events. The failure line becomes an `exception`
//! event and an Error status.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context as OtelContext, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::Field;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::propagation::{from_traceparent, from_xray};
use super::settings::Propagator;
use crate::telemetry::fields::{FieldValue, RecordTyped, Typed};
use crate::telemetry::flush::FlushHandle;
use crate::telemetry::{TraceIds, field, is_invocation_span};

/// The OpenTelemetry layer; build it with [`Otel::tracing_layer`](super::Otel::tracing_layer).
pub struct OtelTracingLayer {
    pub(crate) tracer: SdkTracer,
    /// Sends the spans this layer's tracer buffered; the loop finds it by `downcast_raw`.
    pub(crate) flush: FlushHandle,
    /// The invocation span's name: the function's name, as the conventions ask.
    pub(crate) function_name: String,
    /// The function version, for `cloud.resource_id`.
    pub(crate) function_version: String,
    pub(crate) propagators: Arc<[Propagator]>,
    /// Events at or above this level become span events.
    pub(crate) event_level: Level,
}

impl std::fmt::Debug for OtelTracingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelTracingLayer")
            .field("function_name", &self.function_name)
            .field("propagators", &self.propagators)
            .field("event_level", &self.event_level)
            .finish_non_exhaustive()
    }
}

/// The OpenTelemetry span of a `tracing` span, kept in its extensions.
pub(crate) struct OtelSpan {
    /// A context holding the span (and, for the invocation, its remote parent).
    pub(crate) context: OtelContext,
    /// Whether it is the invocation's span.
    invocation: bool,
}

/// The semantic-convention names this layer writes.
mod semconv {
    pub(super) const FAAS_INVOCATION_ID: &str = "faas.invocation_id";
    pub(super) const FAAS_COLDSTART: &str = "faas.coldstart";
    pub(super) const FAAS_TRIGGER: &str = "faas.trigger";
    pub(super) const CLOUD_RESOURCE_ID: &str = "cloud.resource_id";
    pub(super) const CLOUD_ACCOUNT_ID: &str = "cloud.account.id";
    pub(super) const AWS_LAMBDA_INVOKED_ARN: &str = "aws.lambda.invoked_arn";
    pub(super) const EXCEPTION_TYPE: &str = "exception.type";
    pub(super) const EXCEPTION_MESSAGE: &str = "exception.message";
}

impl<S> Layer<S> for OtelTracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if is_invocation_span(attributes.metadata()) {
            let mut fields = InvocationFields::default();
            attributes.record(&mut Typed(&mut fields));
            let context = self.start_invocation(&fields);
            insert(&mut span.extensions_mut(), context, true);
            return;
        }
        // Only spans inside an invocation are traced: a span outside one (during init, say)
        // has no trace to belong to.
        let parent = match attributes.parent() {
            Some(parent) => ctx.span(parent),
            None if attributes.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let Some((parent, _)) = parent.as_ref().and_then(innermost_traced) else {
            return;
        };
        // The children of a trace that is not recorded are not recorded either (the
        // parent-based samplers say so, and it saves building them).
        if !parent.span().span_context().is_sampled() {
            return;
        }
        let mut fields = KeyValues::default();
        attributes.record(&mut Typed(&mut fields));
        let builder = self
            .tracer
            .span_builder(attributes.metadata().name())
            .with_kind(SpanKind::Internal)
            .with_attributes(fields.attributes);
        let started = self.tracer.build_with_context(builder, &parent);
        insert(&mut span.extensions_mut(), parent.with_span(started), false);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let extensions = span.extensions();
        let Some(otel) = extensions.get::<OtelSpan>().filter(|otel| !otel.invocation) else {
            return;
        };
        let mut fields = KeyValues::default();
        values.record(&mut Typed(&mut fields));
        otel.context.span().set_attributes(fields.attributes);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let metadata = event.metadata();
        // The failure line (`telemetry::log_failure`): recorded on the invocation span,
        // whatever the event level. A failed batch record is logged with an errorType too,
        // but at WARN: it does not fail the invocation.
        if *metadata.level() == Level::ERROR
            && metadata.target().starts_with("lambda_kit")
            && metadata.fields().field(field::ERROR_TYPE).is_some()
        {
            let Some(invocation) = span.scope().find_map(|span| {
                let extensions = span.extensions();
                let otel = extensions.get::<OtelSpan>()?;
                otel.invocation.then(|| otel.context.clone())
            }) else {
                return;
            };
            let mut failure = FailureFields::default();
            event.record(&mut Typed(&mut failure));
            let span = invocation.span();
            span.add_event(
                "exception",
                vec![
                    KeyValue::new(semconv::EXCEPTION_TYPE, failure.error_type),
                    KeyValue::new(semconv::EXCEPTION_MESSAGE, failure.message.clone()),
                ],
            );
            span.set_status(Status::error(failure.message));
            return;
        }
        if *metadata.level() > self.event_level {
            return;
        }
        let Some((context, in_invocation_span)) = innermost_traced(&span) else {
            return;
        };
        let target = context.span();
        if !target.is_recording() {
            return;
        }
        let mut fields = KeyValues::default();
        event.record(&mut Typed(&mut fields));
        fields
            .attributes
            .push(KeyValue::new("level", metadata.level().as_str()));
        let name = fields
            .message
            .take()
            .map_or(Cow::Borrowed(metadata.name()), Cow::Owned);
        target.add_event(name, fields.attributes);
        // An ERROR inside a child span marks that span failed; the invocation's status
        // follows its answer instead.
        if *metadata.level() == Level::ERROR && !in_invocation_span {
            target.set_status(Status::error(""));
        }
    }

    // SAFETY: each pointer is to a value of the type `id` names, borrowed from `self`, as
    // `downcast_raw` requires: the layer itself, or its flush handle.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(std::ptr::from_ref(self).cast())
        } else if id == TypeId::of::<FlushHandle>() {
            Some(std::ptr::from_ref(&self.flush).cast())
        } else {
            None
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(otel) = span.extensions_mut().remove::<OtelSpan>() else {
            return;
        };
        otel.context.span().end();
    }
}

/// The innermost traced span around `span` (itself included): its context, and whether it
/// is the invocation's span.
fn innermost_traced<S>(
    span: &tracing_subscriber::registry::SpanRef<'_, S>,
) -> Option<(OtelContext, bool)>
where
    S: for<'a> LookupSpan<'a>,
{
    span.scope().find_map(|span| {
        span.extensions()
            .get::<OtelSpan>()
            .map(|otel| (otel.context.clone(), otel.invocation))
    })
}

/// Keeps the span's context, and its ids for the log layer.
fn insert(
    extensions: &mut tracing_subscriber::registry::ExtensionsMut<'_>,
    context: OtelContext,
    invocation: bool,
) {
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        extensions.insert(TraceIds {
            trace_id: span_context.trace_id().to_bytes(),
            span_id: span_context.span_id().to_bytes(),
        });
    }
    extensions.insert(OtelSpan {
        context,
        invocation,
    });
}

impl OtelTracingLayer {
    /// Starts the invocation's span under the parent the propagators find.
    fn start_invocation(&self, fields: &InvocationFields) -> OtelContext {
        let from_xray_header = fields.trace_header.as_deref().and_then(from_xray);
        let from_event = fields
            .traceparent
            .as_deref()
            .and_then(|parent| from_traceparent(parent, fields.tracestate.as_deref()));
        // As OpenTelemetry's composite propagator: each propagator in turn, a later one's
        // context replacing an earlier one's.
        let mut parent: Option<(&SpanContext, Propagator)> = None;
        for propagator in self.propagators.iter() {
            let found = match propagator {
                Propagator::XRay => from_xray_header.as_ref(),
                Propagator::TraceContext => from_event.as_ref(),
            };
            if let Some(found) = found {
                parent = Some((found, *propagator));
            }
        }
        // The conventions: when the X-Ray context is not the parent, it is linked.
        let mut links = Vec::new();
        if let Some(xray) = &from_xray_header {
            if !matches!(parent, Some((_, Propagator::XRay))) {
                links.push(Link::new(
                    xray.clone(),
                    vec![KeyValue::new("source", "x-ray-env")],
                    0,
                ));
            }
        }
        let parent_context = match parent {
            Some((span_context, _)) => {
                OtelContext::new().with_remote_span_context(span_context.clone())
            }
            None => OtelContext::new(),
        };
        let mut attributes = Vec::with_capacity(7);
        if let Some(request_id) = &fields.request_id {
            attributes.push(KeyValue::new(
                semconv::FAAS_INVOCATION_ID,
                request_id.clone(),
            ));
        }
        if let Some(arn) = &fields.invoked_arn {
            if let Some(resource_id) = resource_id(arn, &self.function_version) {
                attributes.push(KeyValue::new(semconv::CLOUD_RESOURCE_ID, resource_id));
            }
            if let Some(account) = arn.split(':').nth(4).filter(|account| !account.is_empty()) {
                attributes.push(KeyValue::new(semconv::CLOUD_ACCOUNT_ID, account.to_owned()));
            }
            attributes.push(KeyValue::new(semconv::AWS_LAMBDA_INVOKED_ARN, arn.clone()));
        }
        attributes.push(KeyValue::new(semconv::FAAS_COLDSTART, fields.cold_start));
        attributes.push(KeyValue::new(
            semconv::FAAS_TRIGGER,
            fields.trigger.clone().unwrap_or_else(|| "other".to_owned()),
        ));
        let builder = self
            .tracer
            .span_builder(self.function_name.clone())
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .with_links(links);
        let span = self.tracer.build_with_context(builder, &parent_context);
        parent_context.with_span(span)
    }
}

/// `cloud.resource_id`: the function's ARN with the qualifier the caller used (an alias,
/// say) replaced by the version that runs, as the conventions ask.
fn resource_id(invoked_arn: &str, version: &str) -> Option<String> {
    // `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the first seven parts.
    let mut parts = invoked_arn.split(':');
    if parts.next() != Some("arn") || parts.nth(4) != Some("function") || parts.next().is_none() {
        return None;
    }
    let end = invoked_arn
        .match_indices(':')
        .nth(6)
        .map_or(invoked_arn.len(), |(at, _)| at);
    Some(format!("{}:{version}", &invoked_arn[..end]))
}

/// The invocation span's fields this layer reads.
#[derive(Default)]
struct InvocationFields {
    request_id: Option<String>,
    invoked_arn: Option<String>,
    cold_start: bool,
    trace_header: Option<String>,
    trigger: Option<String>,
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl RecordTyped for InvocationFields {
    fn record_typed(&mut self, field: &Field, value: FieldValue) {
        let text = |value: FieldValue| match value {
            FieldValue::Str(text) => Some(text),
            _ => None,
        };
        match field.name() {
            field::REQUEST_ID => self.request_id = text(value),
            field::FUNCTION_ARN => self.invoked_arn = text(value),
            field::COLD_START => self.cold_start = value == FieldValue::Bool(true),
            field::TRACE_HEADER => self.trace_header = text(value),
            field::TRIGGER => self.trigger = text(value),
            field::TRACEPARENT => self.traceparent = text(value),
            field::TRACESTATE => self.tracestate = text(value),
            _ => {}
        }
    }

    fn wants(&self, field: &Field) -> bool {
        matches!(
            field.name(),
            field::REQUEST_ID
                | field::FUNCTION_ARN
                | field::COLD_START
                | field::TRACE_HEADER
                | field::TRIGGER
                | field::TRACEPARENT
                | field::TRACESTATE
        )
    }
}

/// The failure line's type and message.
#[derive(Default)]
struct FailureFields {
    error_type: String,
    message: String,
}

impl RecordTyped for FailureFields {
    fn record_typed(&mut self, field: &Field, value: FieldValue) {
        match field.name() {
            field::ERROR_TYPE => self.error_type = value.to_string(),
            field::ERROR_MESSAGE => self.message = value.to_string(),
            _ => {}
        }
    }

    fn wants(&self, field: &Field) -> bool {
        matches!(field.name(), field::ERROR_TYPE | field::ERROR_MESSAGE)
    }
}

/// A span's or event's fields as attributes, the message apart; fields whose names start
/// with `_` stay out, as they do of log lines.
#[derive(Default)]
struct KeyValues {
    attributes: Vec<KeyValue>,
    message: Option<String>,
}

impl RecordTyped for KeyValues {
    fn record_typed(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
            return;
        }
        let value = match value {
            FieldValue::Str(text) => Value::from(text),
            FieldValue::I64(n) => Value::I64(n),
            FieldValue::U64(n) => {
                i64::try_from(n).map_or_else(|_| Value::from(n.to_string()), Value::I64)
            }
            FieldValue::F64(n) => Value::F64(n),
            FieldValue::Bool(b) => Value::Bool(b),
        };
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn wants(&self, field: &Field) -> bool {
        !field.name().starts_with('_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_id_names_the_running_version_not_the_alias() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders";
        assert_eq!(
            resource_id(&format!("{arn}:live"), "7").as_deref(),
            Some(&*format!("{arn}:7"))
        );
        assert_eq!(
            resource_id(arn, "$LATEST").as_deref(),
            Some(&*format!("{arn}:$LATEST"))
        );
        assert_eq!(resource_id("not an arn", "7"), None);
        assert_eq!(resource_id("arn:aws:s3:::bucket:key:x", "7"), None);
    }
}
