//! Collecting the fields of events and spans, and writing them as JSON or text.

use std::fmt::{self, Write as _};

use smallvec::SmallVec;
use tracing::field::{Field, Visit};

/// One field's value, kept typed so that JSON output keeps numbers and booleans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    /// Text (also `Debug` and `Display` values).
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float; non-finite values are written as JSON `null`.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

/// The fields of one event or span, in the order they were recorded; a later value of the
/// same name replaces the earlier one in place.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields {
    /// The event's message (its format string, formatted).
    pub(crate) message: Option<String>,
    /// Every other field.
    pub(crate) entries: Entries<FieldValue>,
}

impl Fields {
    /// Sets `name`, replacing an earlier value of the same name.
    pub(crate) fn set(&mut self, name: &'static str, value: FieldValue) {
        set_entry(&mut self.entries, name, value);
    }

    fn record(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            if let FieldValue::Str(text) = value {
                self.message = Some(text);
                return;
            }
        }
        self.set(field.name(), value);
    }
}

/// Named values in the order they were set. Inline up to eight: the invocation span has
/// six fields and most events fewer, so a line's fields need no heap allocation.
pub(crate) type Entries<V> = SmallVec<[(&'static str, V); 8]>;

/// Sets `name` in a list of named values: an earlier value of the same name is replaced in
/// place, so each name appears once, where it first appeared.
pub(crate) fn set_entry<V, A>(entries: &mut SmallVec<A>, name: &'static str, value: V)
where
    A: smallvec::Array<Item = (&'static str, V)>,
{
    match entries.iter_mut().find(|(key, _)| *key == name) {
        Some(entry) => entry.1 = value,
        None => entries.push((name, value)),
    }
}

/// The value of `name` in a list of named values.
pub(crate) fn get_entry<'a, V>(entries: &'a [(&'static str, V)], name: &str) -> Option<&'a V> {
    entries
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A collector of typed field values; [`Typed`] adapts it to `tracing`'s `Visit`.
pub(crate) trait RecordTyped {
    /// Records one field.
    fn record_typed(&mut self, field: &Field, value: FieldValue);

    /// Whether `field` is of interest; the value of an unwanted field is never copied.
    fn wants(&self, _field: &Field) -> bool {
        true
    }

    /// Records one text field. The default copies it into a [`FieldValue::Str`]; a
    /// collector that only reads the text overrides this and skips the copy.
    fn record_text(&mut self, field: &Field, value: &str) {
        self.record_typed(field, FieldValue::Str(value.to_owned()));
    }
}

impl RecordTyped for Fields {
    fn record_typed(&mut self, field: &Field, value: FieldValue) {
        self.record(field, value);
    }
}

/// Visits a span's or event's fields into a [`RecordTyped`] collector.
pub(crate) struct Typed<'a, T>(pub(crate) &'a mut T);

impl<T: RecordTyped> Visit for Typed<'_, T> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.0.wants(field) {
            return;
        }
        self.0.record_typed(field, FieldValue::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self.0.wants(field) {
            return;
        }
        self.0.record_typed(field, FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if !self.0.wants(field) {
            return;
        }
        self.0.record_typed(field, FieldValue::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if !self.0.wants(field) {
            return;
        }
        self.0.record_typed(field, FieldValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.0.wants(field) {
            return;
        }
        self.0.record_text(field, value);
    }

    /// An error is written with its `source()` chain: `outer: middle: inner`.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.0.wants(field) {
            return;
        }
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(error) = source {
            let _ = write!(text, ": {error}");
            source = error.source();
        }
        self.0.record_typed(field, FieldValue::Str(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.wants(field) {
            return;
        }
        self.0
            .record_typed(field, FieldValue::Str(format!("{value:?}")));
    }
}

impl From<FieldValue> for serde_json::Value {
    fn from(value: FieldValue) -> Self {
        match value {
            FieldValue::Str(text) => text.into(),
            FieldValue::I64(n) => n.into(),
            FieldValue::U64(n) => n.into(),
            FieldValue::F64(n) => n.into(),
            FieldValue::Bool(b) => b.into(),
        }
    }
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it.
///
/// Every log line and X-Ray document goes through here, and most of what they carry (ids,
/// ARNs, names, messages) needs no escaping: such text is checked a word at a time and
/// copied whole. Text that needs escaping is left to serde_json, so every escape is
/// serde_json's own; a property test below holds the two paths to the same bytes.
pub(crate) fn push_json_str(out: &mut Vec<u8>, text: &str) {
    if needs_escape(text.as_bytes()) {
        // Writing a `str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Whether `bytes` hold a byte JSON escapes: a control byte (below 0x20), `"` or `\\`.
///
/// Eight bytes at a time, the last few padded with a harmless byte, so that the short
/// texts of a log line (most under 32 bytes) take a few word operations each: per byte,
/// `(v - 0x01..01 * n) & !v & 0x80..80` is non-zero exactly when some byte of `v` is below
/// `n` (for `n` up to 0x80), and a byte equal to `c` is a zero byte of `v ^ 0x..cc..`. There
/// is no false "no"; a false "yes" would only send the text down serde_json's path.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, bound: u64| word.wrapping_sub(ONES * bound) & !word & HIGHS;
    let flagged = |word: u64| {
        below(word, 0x20)
            | below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        found |= flagged(u64::from_le_bytes(word));
    }
    let mut last = [b'a'; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    found |= flagged(u64::from_le_bytes(last));
    found != 0
}

/// Appends `number` as JSON (serde_json writes integers without allocating).
fn push_json_number(out: &mut Vec<u8>, number: impl serde::Serialize) {
    // Writing a number into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, &number);
}

/// Appends `value` as JSON.
pub(crate) fn push_json_value(out: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Str(text) => push_json_str(out, text),
        FieldValue::I64(n) => push_json_number(out, n),
        FieldValue::U64(n) => push_json_number(out, n),
        FieldValue::F64(n) if n.is_finite() => push_json_number(out, n),
        FieldValue::F64(_) => out.extend_from_slice(b"null"),
        FieldValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Str(text) => f.write_str(text),
            FieldValue::I64(n) => write!(f, "{n}"),
            FieldValue::U64(n) => write!(f, "{n}"),
            FieldValue::F64(n) => write!(f, "{n}"),
            FieldValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_replace_earlier_ones_in_place() {
        let mut fields = Fields::default();
        fields.set("a", FieldValue::U64(1));
        fields.set("b", FieldValue::U64(2));
        fields.set("a", FieldValue::U64(3));
        assert_eq!(
            fields.entries.as_slice(),
            [("a", FieldValue::U64(3)), ("b", FieldValue::U64(2))]
        );
    }

    proptest::proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(text in "(?s).{0,40}", ascii in "[ -~]{0,40}") {
            for text in [text, ascii] {
                let mut ours = b"x".to_vec();
                push_json_str(&mut ours, &text);
                let mut theirs = b"x".to_vec();
                serde_json::to_writer(&mut theirs, &text).expect("a string serializes");
                proptest::prop_assert_eq!(ours, theirs);
            }
        }
    }

    #[test]
    fn every_escaped_byte_is_found_at_every_position() {
        for byte in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..20 {
                let mut text = vec![b'a'; 20];
                text[at] = byte;
                let text = String::from_utf8(text).expect("ascii");
                assert!(needs_escape(text.as_bytes()), "{byte:#x} at {at}");
                let mut ours = Vec::new();
                push_json_str(&mut ours, &text);
                assert_eq!(ours, serde_json::to_vec(&text).expect("serializes"));
            }
        }
        for clean in [
            "",
            "a",
            "requestId",
            "arn:aws:lambda:us-east-1:1:function:f",
            "é ü 日本 \u{7f}",
        ] {
            assert!(!needs_escape(clean.as_bytes()), "{clean}");
        }
    }

    #[test]
    fn json_values_keep_their_types_and_escape_text() {
        let mut out = Vec::new();
        for value in [
            FieldValue::Str("a\"b\n".into()),
            FieldValue::I64(-3),
            FieldValue::F64(1.5),
            FieldValue::F64(f64::NAN),
            FieldValue::Bool(true),
        ] {
            push_json_value(&mut out, &value);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\"a\\\"b\\n\" -3 1.5 null true "
        );
    }
}
