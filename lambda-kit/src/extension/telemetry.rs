//! Typed Telemetry API events: every documented `platform.*` record, function and
//! extension log lines, and a fallback for anything else.
//!
//! Each element of a batch is read on its own: an event of a type this version does not
//! know, or a known type whose record does not have the documented shape, comes back as
//! [`TelemetryRecord::Unknown`] or [`TelemetryRecord::Unreadable`] with its raw JSON, and
//! the rest of the batch is still read.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One Telemetry API event.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryEvent {
    /// When it happened, as Lambda wrote it (ISO 8601; see [`TelemetryEvent::timestamp`]).
    pub time: String,
    /// What happened.
    pub record: TelemetryRecord,
}

impl TelemetryEvent {
    /// [`time`](Self::time) as a point in time, if it is RFC 3339.
    pub fn timestamp(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339_weak(self.time.trim_end_matches('Z')).ok()
    }

    /// The `type` of the event, as Lambda names it (`platform.report`, `function`, ...).
    pub fn kind(&self) -> &str {
        match &self.record {
            TelemetryRecord::InitStart(_) => "platform.initStart",
            TelemetryRecord::InitRuntimeDone(_) => "platform.initRuntimeDone",
            TelemetryRecord::InitReport(_) => "platform.initReport",
            TelemetryRecord::Start(_) => "platform.start",
            TelemetryRecord::RuntimeDone(_) => "platform.runtimeDone",
            TelemetryRecord::Report(_) => "platform.report",
            TelemetryRecord::RestoreStart(_) => "platform.restoreStart",
            TelemetryRecord::RestoreRuntimeDone(_) => "platform.restoreRuntimeDone",
            TelemetryRecord::RestoreReport(_) => "platform.restoreReport",
            TelemetryRecord::Extension(_) => "platform.extension",
            TelemetryRecord::TelemetrySubscription(_) => "platform.telemetrySubscription",
            TelemetryRecord::LogsDropped(_) => "platform.logsDropped",
            TelemetryRecord::Function(_) => "function",
            TelemetryRecord::ExtensionLog(_) => "extension",
            TelemetryRecord::Unknown { kind, .. } | TelemetryRecord::Unreadable { kind, .. } => {
                kind
            }
        }
    }
}

/// The record of a Telemetry API event, by its `type`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TelemetryRecord {
    /// `platform.initStart`: init began.
    InitStart(InitStart),
    /// `platform.initRuntimeDone`: the runtime finished init.
    InitRuntimeDone(PhaseDone),
    /// `platform.initReport`: init's report.
    InitReport(PhaseReport),
    /// `platform.start`: an invocation began.
    Start(Start),
    /// `platform.runtimeDone`: the runtime answered an invocation.
    RuntimeDone(RuntimeDone),
    /// `platform.report`: an invocation's report (what the REPORT log line says).
    Report(Report),
    /// `platform.restoreStart`: a SnapStart restore began.
    RestoreStart(RestoreStart),
    /// `platform.restoreRuntimeDone`: the runtime's after-restore work ended.
    RestoreRuntimeDone(PhaseDone),
    /// `platform.restoreReport`: the restore's report.
    RestoreReport(PhaseReport),
    /// `platform.extension`: an extension registered.
    Extension(ExtensionState),
    /// `platform.telemetrySubscription`: an extension subscribed.
    TelemetrySubscription(Subscription),
    /// `platform.logsDropped`: Lambda dropped records because a listener was too slow.
    LogsDropped(LogsDropped),
    /// `function`: a line the function wrote.
    Function(LogLine),
    /// `extension`: a line an extension wrote.
    ExtensionLog(LogLine),
    /// An event of a type this version does not know.
    Unknown {
        /// Its `type`.
        kind: String,
        /// Its `record`, as it came.
        record: Value,
    },
    /// An event of a known type whose record is not the documented shape.
    Unreadable {
        /// Its `type`.
        kind: String,
        /// Its `record`, as it came.
        record: Value,
        /// What did not match.
        reason: String,
    },
}

/// A span in a platform record (`responseLatency`, `runtimeOverhead`, ...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlatformSpan {
    /// Its name.
    pub name: String,
    /// When it started (ISO 8601).
    pub start: String,
    /// How long it took.
    pub duration_ms: f64,
}

/// The trace of an invocation, in a platform record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TraceContext {
    /// The span id, when there is one.
    pub span_id: Option<String>,
    /// `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header.
    pub value: String,
}

/// `platform.initStart`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InitStart {
    /// The function's name.
    pub function_name: String,
    /// Its version.
    pub function_version: String,
    /// `on-demand`, `provisioned-concurrency`, `snap-start` or `lambda-managed-instances`.
    pub initialization_type: String,
    /// `init` (or `invoke`, for an init retried at the first invocation).
    pub phase: String,
    /// The runtime's version, when Lambda manages it.
    pub runtime_version: Option<String>,
    /// The runtime version's ARN.
    pub runtime_version_arn: Option<String>,
    /// The environment's instance id, where Lambda gives one.
    pub instance_id: Option<String>,
    /// The instance's memory, where Lambda gives it (a number or a string).
    pub instance_max_memory: Option<Value>,
}

/// `platform.initRuntimeDone` and `platform.restoreRuntimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PhaseDone {
    /// The initialization type (not on restore records).
    pub initialization_type: Option<String>,
    /// The phase (not on restore records).
    pub phase: Option<String>,
    /// `success`, `failure`, `error` or `timeout`.
    pub status: String,
    /// The error's type, when it failed.
    pub error_type: Option<String>,
    /// Its spans.
    #[serde(default)]
    pub spans: Vec<PlatformSpan>,
}

/// The metrics of a phase report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PhaseMetrics {
    /// How long the phase took.
    pub duration_ms: f64,
}

/// `platform.initReport` and `platform.restoreReport`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PhaseReport {
    /// The initialization type (not on restore records).
    pub initialization_type: Option<String>,
    /// The phase (not on restore records).
    pub phase: Option<String>,
    /// `success`, `failure`, `error` or `timeout`.
    pub status: String,
    /// The error's type, when it failed.
    pub error_type: Option<String>,
    /// Its metrics.
    pub metrics: Option<PhaseMetrics>,
    /// Its spans.
    #[serde(default)]
    pub spans: Vec<PlatformSpan>,
}

/// `platform.start`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Start {
    /// The invocation's request id.
    pub request_id: String,
    /// The function version.
    pub version: Option<String>,
    /// The invocation's trace.
    pub tracing: Option<TraceContext>,
    /// The tenant, for a tenant-isolated function.
    pub tenant_id: Option<String>,
    /// The function's ARN (Lambda Managed Instances).
    pub function_arn: Option<String>,
}

/// The metrics of `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuntimeDoneMetrics {
    /// How long the runtime took.
    pub duration_ms: f64,
    /// The bytes of the response.
    pub produced_bytes: Option<u64>,
}

/// `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuntimeDone {
    /// The invocation's request id.
    pub request_id: String,
    /// `success`, `failure`, `error` or `timeout`.
    pub status: String,
    /// The error's type, when it failed.
    pub error_type: Option<String>,
    /// Its metrics.
    pub metrics: Option<RuntimeDoneMetrics>,
    /// Its spans (`responseLatency`, `responseDuration`, `runtimeOverhead`).
    #[serde(default)]
    pub spans: Vec<PlatformSpan>,
    /// The invocation's trace.
    pub tracing: Option<TraceContext>,
}

/// The metrics of `platform.report`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReportMetrics {
    /// How long the invocation took.
    pub duration_ms: f64,
    /// What was billed (not on Lambda Managed Instances).
    pub billed_duration_ms: Option<f64>,
    /// The configured memory.
    #[serde(rename = "memorySizeMB")]
    pub memory_size_mb: Option<u64>,
    /// The peak memory used.
    #[serde(rename = "maxMemoryUsedMB")]
    pub max_memory_used_mb: Option<u64>,
    /// The init before it, on a cold start.
    pub init_duration_ms: Option<f64>,
    /// The restore before it, under SnapStart.
    pub restore_duration_ms: Option<f64>,
}

/// `platform.report`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// `success`, `failure`, `error` or `timeout`.
    pub status: String,
    /// The error's type, when it failed.
    pub error_type: Option<String>,
    /// Its metrics.
    pub metrics: ReportMetrics,
    /// Its spans.
    #[serde(default)]
    pub spans: Vec<PlatformSpan>,
    /// The invocation's trace.
    pub tracing: Option<TraceContext>,
}

/// `platform.restoreStart`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RestoreStart {
    /// The function's name.
    pub function_name: String,
    /// Its version.
    pub function_version: String,
    /// The environment's instance id.
    pub instance_id: Option<String>,
    /// The instance's memory (a number or a string).
    pub instance_max_memory: Option<Value>,
    /// The runtime's version.
    pub runtime_version: Option<String>,
    /// The runtime version's ARN.
    pub runtime_version_arn: Option<String>,
}

/// `platform.extension`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExtensionState {
    /// The extension's name.
    pub name: String,
    /// `Ready`.
    pub state: String,
    /// The events it registered for.
    #[serde(default)]
    pub events: Vec<String>,
    /// The error's type, when it failed.
    pub error_type: Option<String>,
}

/// `platform.telemetrySubscription`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Subscription {
    /// The subscriber's name.
    pub name: String,
    /// `Subscribed`.
    pub state: String,
    /// The types it subscribed to.
    #[serde(default)]
    pub types: Vec<String>,
}

/// `platform.logsDropped`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogsDropped {
    /// How many bytes.
    pub dropped_bytes: u64,
    /// How many records.
    pub dropped_records: u64,
    /// Why.
    pub reason: String,
}

/// A log line of the function or an extension.
#[derive(Debug, Clone, PartialEq)]
pub enum LogLine {
    /// The text log format: the line as written.
    Text(String),
    /// The JSON log format: the line's object (`timestamp`, `level`, `requestId`,
    /// `message`, ...).
    Json(serde_json::Map<String, Value>),
}

/// Reads a batch (a JSON array) element by element; `None` if it is not an array.
pub(crate) fn parse_batch(body: &[u8]) -> Option<Vec<TelemetryEvent>> {
    let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    Some(events.into_iter().map(parse_event).collect())
}

/// Reads one event; never fails (see the module docs).
pub fn parse_event(event: Value) -> TelemetryEvent {
    let (time, kind, record) = match event {
        Value::Object(mut object) => (
            object.remove("time"),
            object.remove("type"),
            object.remove("record").unwrap_or(Value::Null),
        ),
        other => (None, None, other),
    };
    let time = match time {
        Some(Value::String(time)) => time,
        _ => String::new(),
    };
    let kind = match kind {
        Some(Value::String(kind)) => kind,
        _ => String::new(),
    };
    let record = typed(kind, record);
    TelemetryEvent { time, record }
}

fn typed(kind: String, record: Value) -> TelemetryRecord {
    fn read<T: DeserializeOwned>(
        kind: String,
        record: Value,
        wrap: fn(T) -> TelemetryRecord,
    ) -> TelemetryRecord {
        match T::deserialize(&record) {
            Ok(read) => wrap(read),
            Err(error) => TelemetryRecord::Unreadable {
                kind,
                record,
                reason: error.to_string(),
            },
        }
    }
    match kind.as_str() {
        "platform.initStart" => read(kind, record, TelemetryRecord::InitStart),
        "platform.initRuntimeDone" => read(kind, record, TelemetryRecord::InitRuntimeDone),
        "platform.initReport" => read(kind, record, TelemetryRecord::InitReport),
        "platform.start" => read(kind, record, TelemetryRecord::Start),
        "platform.runtimeDone" => read(kind, record, TelemetryRecord::RuntimeDone),
        "platform.report" => read(kind, record, TelemetryRecord::Report),
        "platform.restoreStart" => read(kind, record, TelemetryRecord::RestoreStart),
        "platform.restoreRuntimeDone" => read(kind, record, TelemetryRecord::RestoreRuntimeDone),
        "platform.restoreReport" => read(kind, record, TelemetryRecord::RestoreReport),
        "platform.extension" => read(kind, record, TelemetryRecord::Extension),
        "platform.telemetrySubscription" => {
            read(kind, record, TelemetryRecord::TelemetrySubscription)
        }
        "platform.logsDropped" => read(kind, record, TelemetryRecord::LogsDropped),
        "function" | "extension" => {
            let line = match record {
                Value::String(text) => LogLine::Text(text),
                Value::Object(object) => LogLine::Json(object),
                other => {
                    return TelemetryRecord::Unreadable {
                        kind,
                        record: other,
                        reason: "a log record is a string or an object".into(),
                    };
                }
            };
            if kind == "function" {
                TelemetryRecord::Function(line)
            } else {
                TelemetryRecord::ExtensionLog(line)
            }
        }
        _ => TelemetryRecord::Unknown { kind, record },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_is_read_element_by_element() {
        let batch = json!([
            {"time": "2026-12-01T10:00:00.000Z", "type": "platform.report", "record": {
                "requestId": "r1", "status": "success",
                "metrics": {"durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128, "maxMemoryUsedMB": 30, "initDurationMs": 12.25}
            }},
            {"time": "2026-12-01T10:00:00.001Z", "type": "platform.somethingNew", "record": {"x": 1}},
            {"time": "2026-12-01T10:00:00.002Z", "type": "platform.start", "record": {"noRequestId": true}},
            {"time": "2026-12-01T10:00:00.003Z", "type": "function", "record": "hello\n"},
            {"time": "2026-12-01T10:00:00.004Z", "type": "function", "record": {"level": "INFO", "message": "hi"}},
            {"time": "12:01:23:521Z", "type": "platform.restoreStart", "record": {"functionName": "f", "functionVersion": "1", "instanceMaxMemory": "3008"}},
            "not an object"
        ]);
        let events = parse_batch(batch.to_string().as_bytes()).expect("an array");
        assert_eq!(events.len(), 7);
        let TelemetryRecord::Report(report) = &events[0].record else {
            panic!("{:?}", events[0])
        };
        assert_eq!(report.metrics.init_duration_ms, Some(12.25));
        assert_eq!(report.metrics.max_memory_used_mb, Some(30));
        assert!(events[0].timestamp().is_some());
        assert!(
            matches!(&events[1].record, TelemetryRecord::Unknown { kind, .. } if kind == "platform.somethingNew")
        );
        assert!(
            matches!(&events[2].record, TelemetryRecord::Unreadable { kind, .. } if kind == "platform.start")
        );
        assert_eq!(
            events[3].record,
            TelemetryRecord::Function(LogLine::Text("hello\n".into()))
        );
        assert!(
            matches!(&events[4].record, TelemetryRecord::Function(LogLine::Json(line)) if line["message"] == "hi")
        );
        assert!(matches!(
            &events[5].record,
            TelemetryRecord::RestoreStart(_)
        ));
        assert_eq!(
            events[5].timestamp(),
            None,
            "a timestamp that is not RFC 3339 is kept as text"
        );
        assert_eq!(events[6].kind(), "");
        assert!(parse_batch(b"{}").is_none());
    }

    proptest::proptest! {
        /// Any JSON value as an event is read, never a panic.
        #[test]
        fn any_event_is_read(kind in "[a-zA-Z.]{0,30}", text in ".*") {
            let _ = parse_event(json!({"type": kind, "record": {"requestId": text}}));
            let _ = parse_event(json!(text));
        }
    }
}
