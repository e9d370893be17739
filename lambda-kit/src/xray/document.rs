//! Subsegment documents and the daemon's datagram format.
//!
//! A datagram is the header line `{"format": "json", "version": 1}`, a newline, and one
//! document. The daemon reads 64 KiB at most, so a document that does not fit loses its
//! metadata, then its error details; one that still does not fit is not sent.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::telemetry::fields::push_json_str;
use crate::telemetry::trace_header::{SegmentId, TraceId};

/// What precedes every document.
const DATAGRAM_HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";
/// The most bytes one datagram may carry.
pub const MAX_DATAGRAM_BYTES: usize = 64 * 1024;
/// X-Ray's limit on names.
const MAX_NAME_CHARS: usize = 200;

/// One subsegment, sent on its own (`"type": "subsegment"`).
#[derive(Debug, Clone)]
pub(crate) struct Subsegment {
    pub(crate) name: SubsegmentName,
    pub(crate) id: SegmentId,
    pub(crate) trace_id: TraceId,
    pub(crate) parent_id: SegmentId,
    pub(crate) start_time: f64,
    pub(crate) end_time: f64,
    /// Indexed annotations, each key once, in the order they were first set (inline up to
    /// four: the invocation's subsegment has two).
    pub(crate) annotations: SmallVec<[(Cow<'static, str>, Value); 4]>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) fault: bool,
    pub(crate) error: bool,
    pub(crate) cause: Option<Cause>,
}

/// Why a subsegment failed.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cause {
    pub(crate) working_directory: String,
    pub(crate) exceptions: Vec<Exception>,
}

/// One recorded exception.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Exception {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) message: String,
}

/// A name X-Ray accepts (see [`SubsegmentName::new`]), shared by the subsegments that
/// carry it: every invocation's subsegment has the same one.
#[derive(Debug, Clone)]
pub(crate) struct SubsegmentName(Arc<str>);

impl SubsegmentName {
    /// `name` with only X-Ray's allowed characters (letters, digits, white space,
    /// `_ . : / % & # = + \ - @`), at most 200 of them; `subsegment` if none is left.
    pub(crate) fn new(name: &str) -> Self {
        SubsegmentName(sanitize_name(name).into())
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Subsegment {
    /// A subsegment starting now.
    pub(crate) fn start(name: SubsegmentName, trace_id: TraceId, parent_id: SegmentId) -> Self {
        Subsegment {
            name,
            id: SegmentId::random(),
            trace_id,
            parent_id,
            start_time: epoch_seconds(),
            end_time: 0.0,
            annotations: SmallVec::new(),
            metadata: Map::new(),
            fault: false,
            error: false,
            cause: None,
        }
    }

    /// Records an exception, marking the subsegment as a fault (server-side) or an error
    /// (client-side, like a 4xx).
    pub(crate) fn fail(&mut self, kind: &str, message: &str, client_error: bool) {
        if client_error {
            self.error = true;
        } else {
            self.fault = true;
        }
        let exception = Exception {
            id: crate::random::hex(16),
            kind: kind.to_owned(),
            message: message.to_owned(),
        };
        match &mut self.cause {
            Some(cause) => cause.exceptions.push(exception),
            None => {
                self.cause = Some(Cause {
                    working_directory: std::env::current_dir()
                        .map(|dir| dir.display().to_string())
                        .unwrap_or_default(),
                    exceptions: vec![exception],
                })
            }
        }
    }

    /// Adds an annotation, replacing one of the same key; keys other than `[A-Za-z0-9_]`
    /// and non-scalar values are dropped, since X-Ray could not index them.
    pub(crate) fn annotate(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
        let key = key.into();
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let value_ok = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
        if !(key_ok && value_ok) {
            return;
        }
        match self.annotations.iter_mut().find(|(known, _)| *known == key) {
            Some(entry) => entry.1 = value,
            None => self.annotations.push((key, value)),
        }
    }

    /// Adds metadata under the `default` namespace.
    pub(crate) fn add_metadata(&mut self, key: &str, value: Value) {
        let namespace = self
            .metadata
            .entry("default")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(entries) = namespace {
            entries.insert(key.to_owned(), value);
        }
    }

    /// Ends the subsegment now.
    pub(crate) fn end(&mut self) {
        self.end_time = epoch_seconds().max(self.start_time);
    }

    /// The datagram for this subsegment, trimmed to fit; `None` if it cannot fit.
    pub(crate) fn datagram(mut self) -> Option<Vec<u8>> {
        if let Some(datagram) = encode(&self) {
            return Some(datagram);
        }
        self.metadata.clear();
        if let Some(datagram) = encode(&self) {
            return Some(datagram);
        }
        if let Some(cause) = &mut self.cause {
            for exception in &mut cause.exceptions {
                exception.message.truncate(1024);
            }
            cause.exceptions.truncate(1);
        }
        self.annotations.clear();
        encode(&self)
    }
}

/// The datagram of `document`, if it fits.
///
/// Written field by field rather than through a `Serialize` derive: one document goes out
/// per traced invocation, and its fixed fields are plain text and numbers. Annotation and
/// metadata values, and the rare `cause`, are serde_json's.
fn encode(document: &Subsegment) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(DATAGRAM_HEADER.len() + 320);
    out.extend_from_slice(DATAGRAM_HEADER);
    out.extend_from_slice(b"{\"name\":");
    push_json_str(&mut out, document.name.as_str());
    // The ids are hex digits and dashes (made here, or checked when the trace header was
    // parsed): nothing in them needs escaping.
    for (key, id) in [
        (&b",\"id\":\""[..], document.id.as_str()),
        (b",\"trace_id\":\"", document.trace_id.as_str()),
        (b",\"parent_id\":\"", document.parent_id.as_str()),
    ] {
        debug_assert!(
            id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
            "{id}"
        );
        out.extend_from_slice(key);
        out.extend_from_slice(id.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"type\":\"subsegment\",\"start_time\":");
    serde_json::to_writer(&mut out, &document.start_time).ok()?;
    out.extend_from_slice(b",\"end_time\":");
    serde_json::to_writer(&mut out, &document.end_time).ok()?;
    if !document.annotations.is_empty() {
        out.extend_from_slice(b",\"annotations\":");
        let mut separator = b'{';
        for (key, value) in &document.annotations {
            out.push(separator);
            separator = b',';
            push_json_str(&mut out, key);
            out.push(b':');
            serde_json::to_writer(&mut out, value).ok()?;
        }
        out.push(b'}');
    }
    if !document.metadata.is_empty() {
        out.extend_from_slice(b",\"metadata\":");
        serde_json::to_writer(&mut out, &document.metadata).ok()?;
    }
    if document.fault {
        out.extend_from_slice(b",\"fault\":true");
    }
    if document.error {
        out.extend_from_slice(b",\"error\":true");
    }
    if let Some(cause) = &document.cause {
        out.extend_from_slice(b",\"cause\":");
        serde_json::to_writer(&mut out, cause).ok()?;
    }
    out.push(b'}');
    (out.len() <= MAX_DATAGRAM_BYTES).then_some(out)
}

/// See [`SubsegmentName::new`].
fn sanitize_name(name: &str) -> String {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/%&#=+\\-@".contains(c);
    let clean: String = name
        .chars()
        .filter(|c| allowed(*c))
        .take(MAX_NAME_CHARS)
        .collect();
    if clean.is_empty() {
        "subsegment".into()
    } else {
        clean
    }
}

/// Now, in epoch seconds with microseconds, as X-Ray wants times.
fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| (elapsed.as_micros() as f64) / 1_000_000.0)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TraceId, SegmentId) {
        (
            TraceId::parse("1-5759e988-bd862e3fe1be46a994272793").expect("a trace id"),
            SegmentId::parse("53995c3f42cd8ad8").expect("a segment id"),
        )
    }

    fn subsegment() -> Subsegment {
        let (trace_id, parent_id) = ids();
        Subsegment::start(SubsegmentName::new("## handler"), trace_id, parent_id)
    }

    #[test]
    fn datagrams_start_with_the_daemon_header() {
        let mut doc = subsegment();
        doc.end();
        let datagram = doc.datagram().expect("fits");
        let (header, body) = datagram.split_at(DATAGRAM_HEADER.len());
        assert_eq!(header, DATAGRAM_HEADER);
        let json: Value = serde_json::from_slice(body).expect("JSON");
        assert_eq!(json["type"], "subsegment");
        assert_eq!(json["id"].as_str().expect("id").len(), 16);
        assert!(json["end_time"].as_f64() >= json["start_time"].as_f64());
        assert!(json.get("fault").is_none() && json.get("annotations").is_none());
    }

    #[test]
    fn a_full_document_has_the_daemon_s_shape() {
        let (trace_id, parent_id) = ids();
        let mut doc = Subsegment::start(
            SubsegmentName::new("## \"quoted\" name"),
            trace_id,
            parent_id,
        );
        doc.annotate("ColdStart", Value::Bool(true));
        doc.annotate(String::from("order"), Value::from(7));
        doc.annotate("ColdStart", Value::Bool(false));
        doc.add_metadata("note", Value::from("line\nbreak"));
        doc.fail("Payment.Declined", "card \"4242\" declined", true);
        doc.fail("Runtime.Panic", "boom", false);
        doc.end();
        let datagram = doc.clone().datagram().expect("fits");
        let json: Value = serde_json::from_slice(&datagram[DATAGRAM_HEADER.len()..]).expect("JSON");
        let cause = doc.cause.as_ref().expect("a cause");
        assert_eq!(
            json,
            serde_json::json!({
                "name": "## quoted name",
                "id": doc.id.as_str(),
                "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
                "parent_id": "53995c3f42cd8ad8",
                "type": "subsegment",
                "start_time": doc.start_time,
                "end_time": doc.end_time,
                "annotations": {"ColdStart": false, "order": 7},
                "metadata": {"default": {"note": "line\nbreak"}},
                "fault": true,
                "error": true,
                "cause": {
                    "working_directory": cause.working_directory,
                    "exceptions": [
                        {"id": cause.exceptions[0].id, "type": "Payment.Declined", "message": "card \"4242\" declined"},
                        {"id": cause.exceptions[1].id, "type": "Runtime.Panic", "message": "boom"},
                    ],
                },
            })
        );
    }

    #[test]
    fn oversized_metadata_is_dropped_to_fit() {
        let mut doc = subsegment();
        doc.annotate("order", Value::from(7));
        doc.add_metadata("payload", Value::String("x".repeat(100_000)));
        doc.end();
        let datagram = doc.datagram().expect("fits without metadata");
        assert!(datagram.len() <= MAX_DATAGRAM_BYTES);
        let json: Value = serde_json::from_slice(&datagram[DATAGRAM_HEADER.len()..]).expect("JSON");
        assert!(json.get("metadata").is_none());
        assert_eq!(json["annotations"]["order"], 7);
    }

    #[test]
    fn a_document_that_cannot_fit_is_not_sent() {
        let mut doc = subsegment();
        doc.name = SubsegmentName("n".repeat(70_000).into()); // only possible by bypassing `new`
        assert!(doc.datagram().is_none());
    }

    #[test]
    fn invalid_annotations_are_dropped_and_names_sanitized() {
        let (trace_id, parent_id) = ids();
        let mut doc = Subsegment::start(SubsegmentName::new("fetch (user)!"), trace_id, parent_id);
        doc.annotate("ok_key", Value::from("v"));
        doc.annotate("bad-key", Value::from(1));
        doc.annotate("nested", serde_json::json!({"a": 1}));
        assert_eq!(doc.annotations.len(), 1);
        assert_eq!(doc.name.as_str(), "fetch user");
    }

    #[test]
    fn failures_set_fault_or_error() {
        let mut doc = subsegment();
        doc.fail("Payment.Declined", "declined", true);
        assert!(doc.error && !doc.fault);
        doc.fail("Runtime.Panic", "boom", false);
        assert!(doc.fault);
        assert_eq!(doc.cause.as_ref().map(|c| c.exceptions.len()), Some(2));
    }
}
