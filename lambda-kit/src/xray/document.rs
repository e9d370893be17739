//! Subsegment documents and the daemon's datagram format.
//!
//! A datagram is the header line `{"format": "json", "version": 1}`, a newline, and one
//! document. The daemon reads 64 KiB at most, so a document that does not fit loses its
//! metadata, then its error details; one that still does not fit is not sent.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

/// What precedes every document.
const DATAGRAM_HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";
/// The most bytes one datagram may carry.
pub const MAX_DATAGRAM_BYTES: usize = 64 * 1024;
/// X-Ray's limit on names.
const MAX_NAME_CHARS: usize = 200;

/// One subsegment, sent on its own (`"type": "subsegment"`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Subsegment {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) trace_id: String,
    pub(crate) parent_id: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) start_time: f64,
    pub(crate) end_time: f64,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) annotations: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) fault: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
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

fn is_false(value: &bool) -> bool {
    !value
}

impl Subsegment {
    /// A subsegment starting now.
    pub(crate) fn start(name: &str, trace_id: &str, parent_id: &str) -> Self {
        Subsegment {
            name: sanitize_name(name),
            id: crate::random::hex(16),
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            kind: "subsegment",
            start_time: epoch_seconds(),
            end_time: 0.0,
            annotations: Map::new(),
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

    /// Adds an annotation; keys other than `[A-Za-z0-9_]` and non-scalar values are
    /// dropped, since X-Ray could not index them.
    pub(crate) fn annotate(&mut self, key: &str, value: Value) {
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let value_ok = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
        if key_ok && value_ok {
            self.annotations.insert(key.to_owned(), value);
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

fn encode(document: &Subsegment) -> Option<Vec<u8>> {
    let mut datagram = DATAGRAM_HEADER.to_vec();
    serde_json::to_writer(&mut datagram, document).ok()?;
    (datagram.len() <= MAX_DATAGRAM_BYTES).then_some(datagram)
}

/// Keeps X-Ray's allowed characters (letters, digits, white space, `_ . : / % & # = + \ - @`)
/// and at most 200 of them.
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

    fn subsegment() -> Subsegment {
        Subsegment::start(
            "## handler",
            "1-5759e988-bd862e3fe1be46a994272793",
            "53995c3f42cd8ad8",
        )
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
        doc.name = "n".repeat(70_000); // only possible by bypassing `start`
        assert!(doc.datagram().is_none());
    }

    #[test]
    fn invalid_annotations_are_dropped_and_names_sanitized() {
        let mut doc = Subsegment::start("fetch (user)!", "t", "p");
        doc.annotate("ok_key", Value::from("v"));
        doc.annotate("bad-key", Value::from(1));
        doc.annotate("nested", serde_json::json!({"a": 1}));
        assert_eq!(doc.annotations.len(), 1);
        assert_eq!(doc.name, "fetch user");
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
