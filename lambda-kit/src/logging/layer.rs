//! The log layer: renders each event as one line (JSON or text) and writes it with one call.
//!
//! Per invocation (the runtime's `invocation` span) it keeps two decisions: whether DEBUG is
//! sampled on, and, with debug buffering, the lines held back until the invocation logs an
//! ERROR (they are then written before it) or ends (they are then dropped).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use super::{DebugBuffer, LogSchema};
use crate::config::LogFormat;
use crate::telemetry::fields::{FieldValue, Fields, Typed, push_json_str, push_json_value};
use crate::telemetry::{TraceIds, field, is_invocation_span, trace_ids_wanted};

/// Keys the runtime puts on the invocation span; text lines show the request id in its own
/// column and leave the rest to JSON.
const CONTEXT_KEYS: [&str; 7] = [
    field::REQUEST_ID,
    field::XRAY_TRACE_ID,
    field::FUNCTION_ARN,
    field::COLD_START,
    "service",
    "function_name",
    "function_memory_size",
];

/// What the layer and its filter share.
pub(crate) struct Settings {
    pub(crate) format: LogFormat,
    pub(crate) schema: LogSchema,
    pub(crate) targets: Targets,
    /// The most verbose level sampling or buffering may need (OFF when neither is on).
    pub(crate) headroom: LevelFilter,
    pub(crate) sample_rate: f64,
    pub(crate) buffer: Option<DebugBuffer>,
    /// `service`, `function_name`, `function_memory_size`: on every line.
    pub(crate) static_fields: Fields,
}

/// The layer that writes log lines.
pub(crate) struct LogLayer<W> {
    settings: Arc<Settings>,
    writer: W,
}

/// The filter in front of [`LogLayer`]: lets through what the level allows, what sampling or
/// buffering may need, and always the invocation span.
pub(crate) struct LogFilter {
    settings: Arc<Settings>,
}

/// What the layer keeps in a span's extensions (one entry, so one allocation per span).
struct SpanLog {
    /// The span's fields, for the lines logged inside it.
    fields: Fields,
    /// Set on the runtime's invocation span only.
    invocation: Option<InvocationLog>,
}

/// Per-invocation state.
struct InvocationLog {
    debug_sampled: bool,
    buffer: Option<LineBuffer>,
}

/// Lines held back for one invocation, oldest first, bounded in bytes.
struct LineBuffer {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    max_bytes: usize,
    evicted: usize,
}

enum Fate {
    Write,
    Hold,
    Drop,
}

impl<W> LogLayer<W> {
    pub(crate) fn new(settings: Settings, writer: W) -> (Self, LogFilter) {
        let settings = Arc::new(settings);
        let filter = LogFilter {
            settings: Arc::clone(&settings),
        };
        (LogLayer { settings, writer }, filter)
    }
}

impl<S> Filter<S> for LogFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        is_invocation_span(metadata)
            || self
                .settings
                .targets
                .would_enable(metadata.target(), metadata.level())
            || *metadata.level() <= self.settings.headroom
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let configured = <Targets as Filter<S>>::max_level_hint(&self.settings.targets);
        // The invocation span is an ERROR span, so ERROR keeps it alive whatever the level.
        Some(
            configured
                .unwrap_or(LevelFilter::TRACE)
                .max(self.settings.headroom)
                .max(LevelFilter::ERROR),
        )
    }
}

impl<S, W> tracing_subscriber::Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields {
            message: None,
            // Room for every field the span declares, so recording never regrows the list.
            entries: Vec::with_capacity(attributes.metadata().fields().len()),
        };
        attributes.record(&mut Typed(&mut fields));
        let settings = &self.settings;
        let invocation = is_invocation_span(attributes.metadata()).then(|| InvocationLog {
            debug_sampled: settings.sample_rate > 0.0
                && crate::random::fraction() < settings.sample_rate,
            buffer: settings.buffer.map(|buffer| LineBuffer {
                lines: VecDeque::new(),
                bytes: 0,
                max_bytes: buffer.max_bytes,
                evicted: 0,
            }),
        });
        span.extensions_mut().insert(SpanLog { fields, invocation });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(log) = span.extensions_mut().get_mut::<SpanLog>() {
                values.record(&mut Typed(&mut log.fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = *metadata.level();
        let mut fields = Fields::default();
        let mut invocation = None;
        let mut trace_ids = None;
        let with_trace_ids = trace_ids_wanted();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(log) = extensions.get::<SpanLog>() {
                    fields.extend_from(&log.fields);
                    if log.invocation.is_some() {
                        invocation = Some(span.id());
                    }
                }
                if with_trace_ids {
                    // The innermost traced span's ids win.
                    if let Some(ids) = extensions.get::<TraceIds>() {
                        trace_ids = Some(*ids);
                    }
                }
            }
        }
        if let Some(ids) = trace_ids {
            fields.set(
                field::TRACE_ID,
                FieldValue::Str(TraceIds::hex(&ids.trace_id)),
            );
            fields.set(field::SPAN_ID, FieldValue::Str(TraceIds::hex(&ids.span_id)));
        }
        let invocation_span = invocation.as_ref().and_then(|id| ctx.span(id));
        let mut invocation_extensions = invocation_span.as_ref().map(|span| span.extensions_mut());
        let mut state = invocation_extensions
            .as_mut()
            .and_then(|extensions| extensions.get_mut::<SpanLog>())
            .and_then(|log| log.invocation.as_mut());

        let fate = self.fate(metadata, state.as_deref());
        if matches!(fate, Fate::Drop) {
            return;
        }
        let mut event_fields = Fields::default();
        event.record(&mut Typed(&mut event_fields));
        fields.extend_from(&event_fields);
        let line = self.render(
            level,
            Origin::of(metadata),
            event_fields.message.as_deref(),
            &fields,
        );
        match fate {
            Fate::Hold => {
                if let Some(buffer) = state.as_mut().and_then(|state| state.buffer.as_mut()) {
                    buffer.push(line);
                }
            }
            Fate::Write => {
                if level == Level::ERROR {
                    if let Some(buffer) = state.as_mut().and_then(|state| state.buffer.as_mut()) {
                        self.flush_buffer(metadata, buffer, &fields);
                    }
                }
                self.write(metadata, &line);
            }
            Fate::Drop => {}
        }
    }
}

impl<W> LogLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn fate(&self, metadata: &Metadata<'_>, invocation: Option<&InvocationLog>) -> Fate {
        let level = metadata.level();
        if self.settings.targets.would_enable(metadata.target(), level) {
            return Fate::Write;
        }
        let Some(invocation) = invocation else {
            return Fate::Drop;
        };
        if invocation.debug_sampled && *level <= LevelFilter::DEBUG {
            return Fate::Write;
        }
        match (&invocation.buffer, self.settings.buffer) {
            (Some(_), Some(buffer)) if *level <= buffer.level => Fate::Hold,
            _ => Fate::Drop,
        }
    }

    fn write(&self, metadata: &Metadata<'_>, line: &[u8]) {
        // One call per line, so concurrent writers never interleave within a line. A log
        // line that cannot be written has nowhere better to go.
        let _ = self.writer.make_writer_for(metadata).write_all(line);
    }

    fn flush_buffer(&self, metadata: &Metadata<'_>, buffer: &mut LineBuffer, fields: &Fields) {
        if buffer.evicted > 0 {
            let note = format!(
                "{} buffered debug lines were dropped because the buffer was full; \
                 raise its size to keep them",
                buffer.evicted
            );
            let origin = Origin {
                target: "lambda_kit::logging",
                ..Origin::of(metadata)
            };
            let line = self.render(Level::WARN, origin, Some(&note), fields);
            self.write(metadata, &line);
        }
        for line in buffer.lines.drain(..) {
            self.write(metadata, &line);
        }
        buffer.bytes = 0;
        buffer.evicted = 0;
    }

    fn render(
        &self,
        level: Level,
        origin: Origin<'_>,
        message: Option<&str>,
        fields: &Fields,
    ) -> Vec<u8> {
        let mut all = fields.clone();
        for (name, value) in &self.settings.static_fields.entries {
            if all.get(name).is_none() {
                all.set(name, value.clone());
            }
        }
        match (self.settings.format, self.settings.schema) {
            (LogFormat::Json, LogSchema::Lambda) => render_json(level, origin, message, &all),
            (LogFormat::Json, LogSchema::Powertools) => {
                render_powertools_json(level, origin, message, &all)
            }
            (LogFormat::Text, _) => render_text(level, message, &all),
        }
    }
}

impl LineBuffer {
    fn push(&mut self, line: Vec<u8>) {
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.bytes > self.max_bytes {
            let Some(oldest) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= oldest.len();
            self.evicted += 1;
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

fn timestamp() -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(SystemTime::now())
}

/// Where a line was logged.
#[derive(Clone, Copy)]
struct Origin<'a> {
    target: &'a str,
    module_path: Option<&'a str>,
    line: Option<u32>,
}

impl<'a> Origin<'a> {
    fn of(metadata: &'a Metadata<'a>) -> Self {
        Origin {
            target: metadata.target(),
            module_path: metadata.module_path(),
            line: metadata.line(),
        }
    }

    /// The module it was logged in (its target when the callsite has no module path).
    fn module(&self) -> &'a str {
        self.module_path.unwrap_or(self.target)
    }
}

/// Keys every JSON line writes itself, so a field of the same name is not written again.
fn is_reserved(name: &str) -> bool {
    matches!(name, "timestamp" | "level" | "message" | "target") || name.starts_with('_')
}

/// Appends `,"key":value` for each field that is not reserved, under the key `key_of`
/// gives its name (`None` leaves it out).
fn push_fields(
    line: &mut Vec<u8>,
    fields: &Fields,
    key_of: impl Fn(&'static str) -> Option<&'static str>,
) {
    for (name, value) in &fields.entries {
        let Some(key) = key_of(name).filter(|_| !is_reserved(name)) else {
            continue;
        };
        line.push(b',');
        push_json_str(line, key);
        line.push(b':');
        push_json_value(line, value);
    }
}

/// `{"timestamp","level","message"`: the start of every JSON line.
fn json_head(level: Level, message: Option<&str>) -> Vec<u8> {
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(b"{\"timestamp\":\"");
    line.extend_from_slice(timestamp().to_string().as_bytes());
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level_name(level).as_bytes());
    line.extend_from_slice(b"\",\"message\":");
    push_json_str(&mut line, message.unwrap_or_default());
    line
}

/// `{"timestamp","level","message", span and event fields..., "target", static fields}`.
fn render_json(
    level: Level,
    origin: Origin<'_>,
    message: Option<&str>,
    fields: &Fields,
) -> Vec<u8> {
    let mut line = json_head(level, message);
    push_fields(&mut line, fields, Some);
    line.extend_from_slice(b",\"target\":");
    push_json_str(&mut line, origin.target);
    line.extend_from_slice(b"}\n");
    line
}

/// The keys Powertools Logger gives facts that lambda-kit's spans name otherwise. The
/// message of a failure is left out: it goes into `exception` and `stack_trace`.
fn powertools_key(name: &'static str) -> Option<&'static str> {
    match name {
        field::REQUEST_ID => Some("function_request_id"),
        field::XRAY_TRACE_ID => Some("xray_trace_id"),
        field::ERROR_TYPE => Some("exception_name"),
        field::ERROR_MESSAGE => None,
        other => Some(other),
    }
}

/// A line with Powertools Logger's keys (see [`LogSchema::Powertools`]).
fn render_powertools_json(
    level: Level,
    origin: Origin<'_>,
    message: Option<&str>,
    fields: &Fields,
) -> Vec<u8> {
    let mut line = json_head(level, message);
    line.extend_from_slice(b",\"location\":");
    let location = format!("{}:{}", origin.module(), origin.line.unwrap_or_default());
    push_json_str(&mut line, &location);
    push_fields(&mut line, fields, powertools_key);
    if let Some(FieldValue::Str(error_type)) = fields.get(field::ERROR_TYPE) {
        let message = match fields.get(field::ERROR_MESSAGE) {
            Some(FieldValue::Str(text)) => text.as_str(),
            _ => "",
        };
        // Python's `exception` is the formatted traceback, ending `Type: message`; a Rust
        // error has no frames to show, so that last line is all of it.
        line.extend_from_slice(b",\"exception\":");
        push_json_str(&mut line, &format!("{error_type}: {message}"));
        line.extend_from_slice(b",\"stack_trace\":{\"type\":");
        push_json_str(&mut line, error_type);
        line.extend_from_slice(b",\"value\":");
        push_json_str(&mut line, message);
        line.extend_from_slice(b",\"module\":");
        push_json_str(&mut line, origin.module());
        line.extend_from_slice(b",\"frames\":[]}");
    }
    line.extend_from_slice(b"}\n");
    line
}

/// `timestamp<TAB>requestId<TAB>LEVEL<TAB>message key=value ...`, as managed runtimes
/// lay out text lines; `-` stands in for the request id outside an invocation.
fn render_text(level: Level, message: Option<&str>, fields: &Fields) -> Vec<u8> {
    let request_id = match fields.get(field::REQUEST_ID) {
        Some(FieldValue::Str(id)) => id.as_str(),
        _ => "-",
    };
    let mut line = format!(
        "{}\t{request_id}\t{}\t{}",
        timestamp(),
        level_name(level),
        message.unwrap_or_default()
    );
    for (name, value) in &fields.entries {
        if !CONTEXT_KEYS.contains(name) && !name.starts_with('_') {
            line.push_str(&format!(" {name}={value}"));
        }
    }
    // A text line must stay one line: embedded newlines would split it in CloudWatch.
    let mut line = line.replace('\n', "\\n");
    line.push('\n');
    line.into_bytes()
}
