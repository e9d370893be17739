//! The log layer: renders each event as one line (JSON or text) and writes it with one call.
//!
//! Per invocation (the runtime's `invocation` span) it keeps two decisions: whether DEBUG is
//! sampled on, and, with debug buffering, the lines held back until the invocation logs an
//! ERROR (they are then written before it) or ends (they are then dropped).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use smallvec::SmallVec;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::{Extensions, LookupSpan, SpanRef};

use super::{DebugBuffer, LogSchema};
use crate::config::LogFormat;
use crate::telemetry::fields::{
    FieldValue, Fields, RecordTyped, Typed, get_entry, push_json_str, push_json_value, set_entry,
};
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
    /// The static fields as a JSON line writes them (`,"service":...`), made once: a line
    /// whose own fields use none of their names copies this instead of writing each.
    static_json: Vec<u8>,
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
    /// Behind a lock of its own, so that a line is held back while the spans' extensions
    /// are only borrowed, not locked for writing.
    buffer: Option<Mutex<LineBuffer>>,
}

/// The fields one line writes, borrowed from the spans around it and from the event: each
/// name once, with the innermost value, where the name first appeared.
type LineFields<'a> = SmallVec<[(&'static str, &'a FieldValue); 16]>;

/// Records the fields a span gives the lines logged inside it: not those whose names
/// start with `_`, which are for other observers (the X-Ray trace header, event facts) and
/// which no line writes.
struct SpanFields<'a>(&'a mut Fields);

impl RecordTyped for SpanFields<'_> {
    fn record_typed(&mut self, field: &tracing::field::Field, value: FieldValue) {
        self.0.record_typed(field, value);
    }

    fn wants(&self, field: &tracing::field::Field) -> bool {
        !field.name().starts_with('_')
    }
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
        let mut static_json = Vec::new();
        {
            let statics: LineFields<'_> = settings
                .static_fields
                .entries
                .iter()
                .map(|(name, value)| (*name, value))
                .collect();
            match settings.schema {
                LogSchema::Lambda => push_fields(&mut static_json, &statics, Some),
                LogSchema::Powertools => push_fields(&mut static_json, &statics, powertools_key),
            }
        }
        let settings = Arc::new(settings);
        let filter = LogFilter {
            settings: Arc::clone(&settings),
        };
        let layer = LogLayer {
            settings,
            writer,
            static_json,
        };
        (layer, filter)
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
        let mut fields = Fields::default();
        attributes.record(&mut Typed(&mut SpanFields(&mut fields)));
        let settings = &self.settings;
        let invocation = is_invocation_span(attributes.metadata()).then(|| InvocationLog {
            debug_sampled: settings.sample_rate > 0.0
                && crate::random::fraction() < settings.sample_rate,
            buffer: settings.buffer.map(|buffer| {
                Mutex::new(LineBuffer {
                    lines: VecDeque::new(),
                    bytes: 0,
                    max_bytes: buffer.max_bytes,
                    evicted: 0,
                })
            }),
        });
        span.extensions_mut().insert(SpanLog { fields, invocation });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(log) = span.extensions_mut().get_mut::<SpanLog>() {
                values.record(&mut Typed(&mut SpanFields(&mut log.fields)));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = *metadata.level();
        // The spans around the event, outermost first. Their extensions stay borrowed
        // while the line is rendered, so that their fields are read in place, not copied.
        // Collected innermost first (as `scope()` gives them, without a buffer of its own),
        // then read from the root; a line is rarely inside more than a few spans.
        let spans: SmallVec<[SpanRef<'_, S>; 4]> = ctx
            .event_scope(event)
            .map(|scope| scope.collect())
            .unwrap_or_default();
        let extensions: SmallVec<[Extensions<'_>; 4]> =
            spans.iter().rev().map(SpanRef::extensions).collect();
        let span_logs = || extensions.iter().filter_map(|ext| ext.get::<SpanLog>());
        // The innermost invocation's state.
        let invocation = span_logs()
            .filter_map(|log| log.invocation.as_ref())
            .next_back();

        let fate = self.fate(metadata, invocation);
        if matches!(fate, Fate::Drop) {
            return;
        }
        let trace_ids = if trace_ids_wanted() {
            // The innermost traced span's ids win.
            let ids = extensions
                .iter()
                .filter_map(|ext| ext.get::<TraceIds>())
                .next_back();
            ids.map(|ids| {
                [
                    FieldValue::Str(TraceIds::hex(&ids.trace_id)),
                    FieldValue::Str(TraceIds::hex(&ids.span_id)),
                ]
            })
        } else {
            None
        };
        let mut event_fields = Fields::default();
        event.record(&mut Typed(&mut event_fields));
        // The spans' fields from the root in, the trace ids, then the event's: each name
        // once, with the innermost value.
        let mut fields = LineFields::new();
        for log in span_logs() {
            for (name, value) in &log.fields.entries {
                set_entry(&mut fields, name, value);
            }
        }
        if let Some([trace_id, span_id]) = &trace_ids {
            set_entry(&mut fields, field::TRACE_ID, trace_id);
            set_entry(&mut fields, field::SPAN_ID, span_id);
        }
        for (name, value) in &event_fields.entries {
            set_entry(&mut fields, name, value);
        }
        let line = self.render(
            level,
            Origin::of(metadata),
            event_fields.message.as_deref(),
            &mut fields,
        );
        let buffer = invocation.and_then(|state| state.buffer.as_ref());
        match fate {
            Fate::Hold => {
                if let Some(buffer) = buffer {
                    lock(buffer).push(line);
                }
            }
            Fate::Write => {
                if level == Level::ERROR {
                    if let Some(buffer) = buffer {
                        self.flush_buffer(metadata, &mut lock(buffer), &mut fields);
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

    fn flush_buffer<'a>(
        &'a self,
        metadata: &Metadata<'_>,
        buffer: &mut LineBuffer,
        fields: &mut LineFields<'a>,
    ) {
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

    fn render<'a>(
        &'a self,
        level: Level,
        origin: Origin<'_>,
        message: Option<&str>,
        fields: &mut LineFields<'a>,
    ) -> Vec<u8> {
        // The static fields go last, and only where the spans and the event did not set them:
        // as the ready-made JSON when they set none of them, one by one otherwise.
        let own = fields.len();
        let statics = &self.settings.static_fields.entries;
        let shadowed = statics
            .iter()
            .any(|(name, _)| get_entry(fields, name).is_some());
        let static_json = match self.settings.format {
            LogFormat::Json if !shadowed => &self.static_json[..],
            _ => {
                for (name, value) in statics {
                    if get_entry(&fields[..own], name).is_none() {
                        fields.push((name, value));
                    }
                }
                &[]
            }
        };
        let line = match (self.settings.format, self.settings.schema) {
            (LogFormat::Json, LogSchema::Lambda) => {
                render_json(level, origin, message, fields, static_json)
            }
            (LogFormat::Json, LogSchema::Powertools) => {
                render_powertools_json(level, origin, message, fields, static_json)
            }
            (LogFormat::Text, _) => render_text(level, message, fields),
        };
        fields.truncate(own);
        line
    }
}

/// Locks a line buffer: one left by a panic holds whole lines only, so it is used as it is.
fn lock(buffer: &Mutex<LineBuffer>) -> std::sync::MutexGuard<'_, LineBuffer> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
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
    fields: &LineFields<'_>,
    key_of: impl Fn(&'static str) -> Option<&'static str>,
) {
    for &(name, value) in fields {
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
    // Room for a typical line, so that writing it never regrows the buffer.
    let mut line = Vec::with_capacity(512);
    line.extend_from_slice(b"{\"timestamp\":\"");
    crate::utc::push_rfc3339_millis(&mut line, SystemTime::now());
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level_name(level).as_bytes());
    line.extend_from_slice(b"\",\"message\":");
    push_json_str(&mut line, message.unwrap_or_default());
    line
}

/// `{"timestamp","level","message", span and event fields..., static fields, "target"}`;
/// `static_json` is written right after the fields.
fn render_json(
    level: Level,
    origin: Origin<'_>,
    message: Option<&str>,
    fields: &LineFields<'_>,
    static_json: &[u8],
) -> Vec<u8> {
    let mut line = json_head(level, message);
    push_fields(&mut line, fields, Some);
    line.extend_from_slice(static_json);
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
    fields: &LineFields<'_>,
    static_json: &[u8],
) -> Vec<u8> {
    let mut line = json_head(level, message);
    line.extend_from_slice(b",\"location\":");
    let location = format!("{}:{}", origin.module(), origin.line.unwrap_or_default());
    push_json_str(&mut line, &location);
    push_fields(&mut line, fields, powertools_key);
    line.extend_from_slice(static_json);
    if let Some(FieldValue::Str(error_type)) = get_entry(fields, field::ERROR_TYPE) {
        let message = match get_entry(fields, field::ERROR_MESSAGE) {
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
fn render_text(level: Level, message: Option<&str>, fields: &LineFields<'_>) -> Vec<u8> {
    let request_id = match get_entry(fields, field::REQUEST_ID) {
        Some(FieldValue::Str(id)) => id.as_str(),
        _ => "-",
    };
    let mut line = format!(
        "{}\t{request_id}\t{}\t{}",
        timestamp(),
        level_name(level),
        message.unwrap_or_default()
    );
    for (name, value) in fields {
        if !CONTEXT_KEYS.contains(name) && !name.starts_with('_') {
            line.push_str(&format!(" {name}={value}"));
        }
    }
    // A text line must stay one line: embedded newlines would split it in CloudWatch.
    let mut line = line.replace('\n', "\\n");
    line.push('\n');
    line.into_bytes()
}
