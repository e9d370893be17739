//! The X-Ray tracing layer.
//!
//! The invocation span becomes a subsegment of Lambda's function segment (its parent is the
//! trace header's `Parent`), annotated with `ColdStart` and `Service`. Spans inside it that
//! carry the field `xray = true` become nested subsegments; their `annotation.<key>` and
//! `metadata.<key>` fields become annotations and metadata. An ERROR event inside a
//! subsegment (the runtime logs one for every failed invocation) records a fault, or an
//! error when the event says `clientError = true`. Each subsegment is sent on its own
//! when its span closes, and only for sampled traces.

use std::sync::Arc;

use serde_json::Value;
use tracing::field::Field;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::document::{Subsegment, SubsegmentName};
use super::emitter::Emitter;
use crate::telemetry::fields::{FieldValue, RecordTyped, Typed};
use crate::telemetry::trace_header::{Sampled, SegmentId, TraceHeader};
use crate::telemetry::{field, is_invocation_span};

/// The `tracing` layer that records X-Ray subsegments; build it with [`super::XRay`].
pub struct XRayTracingLayer {
    pub(crate) emitter: Option<Arc<Emitter>>,
    pub(crate) service: String,
    /// `## <function name>`, the invocation subsegment's name, made once.
    pub(crate) invocation_name: SubsegmentName,
}

impl std::fmt::Debug for XRayTracingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XRayTracingLayer")
            .field("sending", &self.emitter.is_some())
            .field("service", &self.service)
            .field("invocation_name", &self.invocation_name)
            .finish()
    }
}

/// The parsed header of the invocation, kept even when unsampled so that outgoing calls
/// still pass the decision on.
pub(crate) struct InvocationTrace {
    pub(crate) header: Arc<TraceHeader>,
}

/// A subsegment being recorded, in its span's extensions, with the invocation's header
/// (shared with [`InvocationTrace`] and the subsegments nested in it).
pub(crate) struct OpenSubsegment {
    pub(crate) document: Subsegment,
    pub(crate) header: Arc<TraceHeader>,
}

/// The fields of a span or event that matter to X-Ray.
#[derive(Default)]
struct XRayFields {
    marked: bool,
    /// The invocation's trace header, parsed as it is recorded; `None` when absent or
    /// malformed (the invocation is then not traced).
    trace_header: Option<TraceHeader>,
    cold_start: Option<bool>,
    annotations: Vec<(String, Value)>,
    metadata: Vec<(String, Value)>,
    error_type: Option<String>,
    error_message: Option<String>,
    client_error: bool,
    message: Option<String>,
}

impl XRayFields {
    fn record_value(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(key) = name.strip_prefix("annotation.") {
            self.annotations.push((key.to_owned(), value));
        } else if let Some(key) = name.strip_prefix("metadata.") {
            self.metadata.push((key.to_owned(), value));
        } else {
            match (name, value) {
                ("xray", Value::Bool(marked)) => self.marked = marked,
                (field::COLD_START, Value::Bool(cold)) => self.cold_start = Some(cold),
                (field::CLIENT_ERROR, Value::Bool(client)) => self.client_error = client,
                (field::TRACE_HEADER, Value::String(header)) => self.record_header(&header),
                (field::ERROR_TYPE, Value::String(kind)) => self.error_type = Some(kind),
                (field::ERROR_MESSAGE, Value::String(text)) => self.error_message = Some(text),
                ("message", Value::String(text)) => self.message = Some(text),
                _ => {}
            }
        }
    }

    fn record_header(&mut self, header: &str) {
        self.trace_header = TraceHeader::parse(header).ok();
    }

    fn apply(self, document: &mut Subsegment) {
        for (key, value) in self.annotations {
            document.annotate(key, value);
        }
        for (key, value) in self.metadata {
            document.add_metadata(&key, value);
        }
    }
}

impl RecordTyped for XRayFields {
    fn record_typed(&mut self, field: &Field, value: FieldValue) {
        self.record_value(field, value.into());
    }

    /// The trace header is parsed straight from the span's text, without a copy first.
    fn record_text(&mut self, field: &Field, value: &str) {
        if field.name() == field::TRACE_HEADER {
            self.record_header(value);
        } else {
            self.record_typed(field, FieldValue::Str(value.to_owned()));
        }
    }

    /// Only a few fields matter to X-Ray; the rest of an invocation's fields are not copied.
    fn wants(&self, field: &Field) -> bool {
        let name = field.name();
        matches!(
            name,
            "xray"
                | field::COLD_START
                | field::CLIENT_ERROR
                | field::TRACE_HEADER
                | field::ERROR_TYPE
                | field::ERROR_MESSAGE
                | "message"
        ) || name.starts_with("annotation.")
            || name.starts_with("metadata.")
    }
}

impl<S> tracing_subscriber::Layer<S> for XRayTracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // The span is looked up only once it is known to need an extension: most spans
        // (and every untraced invocation) need none.
        let mut fields = XRayFields::default();
        attributes.record(&mut Typed(&mut fields));
        if is_invocation_span(attributes.metadata()) {
            let Some(header) = fields.trace_header.take().map(Arc::new) else {
                return;
            };
            let Some(span) = ctx.span(id) else { return };
            let mut extensions = span.extensions_mut();
            // A parsed header's parent is a valid segment id.
            let parent = header.parent().and_then(SegmentId::parse);
            if let (Sampled::Yes, Some(parent)) = (header.sampled(), parent) {
                let mut document =
                    Subsegment::start(self.invocation_name.clone(), header.trace_id(), parent);
                document.annotate("ColdStart", Value::Bool(fields.cold_start.unwrap_or(false)));
                document.annotate("Service", Value::from(self.service.as_str()));
                fields.apply(&mut document);
                extensions.insert(OpenSubsegment {
                    document,
                    header: Arc::clone(&header),
                });
            }
            extensions.insert(InvocationTrace { header });
        } else if fields.marked {
            let Some(span) = ctx.span(id) else { return };
            let parent = span.scope().skip(1).find_map(|ancestor| {
                let extensions = ancestor.extensions();
                let open = extensions.get::<OpenSubsegment>()?;
                Some((
                    open.document.trace_id,
                    open.document.id,
                    Arc::clone(&open.header),
                ))
            });
            if let Some((trace_id, parent_id, header)) = parent {
                let name = SubsegmentName::new(attributes.metadata().name());
                let mut document = Subsegment::start(name, trace_id, parent_id);
                fields.apply(&mut document);
                span.extensions_mut()
                    .insert(OpenSubsegment { document, header });
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(open) = extensions.get_mut::<OpenSubsegment>() {
            let mut fields = XRayFields::default();
            values.record(&mut Typed(&mut fields));
            fields.apply(&mut open.document);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(span) = scope
            .into_iter()
            .find(|span| span.extensions().get::<OpenSubsegment>().is_some())
        else {
            return;
        };
        let mut fields = XRayFields::default();
        event.record(&mut Typed(&mut fields));
        let kind = fields.error_type.as_deref().unwrap_or("Error");
        let message = fields
            .error_message
            .as_deref()
            .or(fields.message.as_deref())
            .unwrap_or_default();
        if let Some(open) = span.extensions_mut().get_mut::<OpenSubsegment>() {
            open.document.fail(kind, message, fields.client_error);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut open) = span.extensions_mut().remove::<OpenSubsegment>() else {
            return;
        };
        open.document.end();
        if let (Some(emitter), Some(datagram)) = (&self.emitter, open.document.datagram()) {
            emitter.send(&datagram);
        }
    }
}
