//! Collecting the fields of events and spans, and writing them as JSON or text.

use std::fmt::{self, Write as _};

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
    pub(crate) entries: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    /// Sets `name`, replacing an earlier value of the same name.
    pub(crate) fn set(&mut self, name: &'static str, value: FieldValue) {
        match self.entries.iter_mut().find(|(key, _)| *key == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Adds every field of `other` (its values win).
    pub(crate) fn extend_from(&mut self, other: &Fields) {
        for (name, value) in &other.entries {
            self.set(name, value.clone());
        }
    }

    /// The value of `name`, if recorded.
    pub(crate) fn get(&self, name: &str) -> Option<&FieldValue> {
        self.entries
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
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

/// A collector of typed field values; [`Typed`] adapts it to `tracing`'s `Visit`.
pub(crate) trait RecordTyped {
    /// Records one field.
    fn record_typed(&mut self, field: &Field, value: FieldValue);

    /// Whether `field` is of interest; the value of an unwanted field is never copied.
    fn wants(&self, _field: &Field) -> bool {
        true
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
        self.0
            .record_typed(field, FieldValue::Str(value.to_owned()));
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

/// Appends `text` as a JSON string.
pub(crate) fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Appends `value` as JSON.
pub(crate) fn push_json_value(out: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Str(text) => push_json_str(out, text),
        FieldValue::I64(n) => out.extend_from_slice(n.to_string().as_bytes()),
        FieldValue::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
        FieldValue::F64(n) if n.is_finite() => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
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
            fields.entries,
            vec![("a", FieldValue::U64(3)), ("b", FieldValue::U64(2))]
        );
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
