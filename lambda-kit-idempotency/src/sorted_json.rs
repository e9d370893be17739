//! Writing JSON with every object's keys sorted: the walk both hashed texts share. The
//! canonical form and Python's `json.dumps(sort_keys=True)` differ only in what a
//! [`Style`] names: separators, how strings and numbers are spelled, and how a key is
//! read before it is sorted and written.

use serde_json::{Number, Value};

/// What one form of sorted JSON spells its own way.
pub(crate) struct Style {
    /// Between the items of an array or object (`,` or `, `).
    pub(crate) item_separator: &'static str,
    /// Between a key and its value (`:` or `: `).
    pub(crate) key_separator: &'static str,
    /// The key as it is sorted and written (Python's form removes an escape marker).
    pub(crate) key_text: fn(&str) -> &str,
    /// Writes a key.
    pub(crate) write_key: fn(&str, &mut String),
    /// Writes a string value.
    pub(crate) write_string: fn(&str, &mut String),
    /// Writes a number.
    pub(crate) write_number: fn(&Number, &mut String),
}

/// Writes `value` in `style`, object keys sorted by their UTF-8 bytes (which is also
/// their code point order) at every depth.
pub(crate) fn write_sorted(value: &Value, style: &Style, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => (style.write_number)(number, out),
        Value::String(text) => (style.write_string)(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(style.item_separator);
                }
                write_sorted(item, style, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&str, &Value)> = map
                .iter()
                .map(|(key, item)| ((style.key_text)(key), item))
                .collect();
            // serde_json's map is already sorted unless `preserve_order` is on somewhere in
            // the build; sorting here keeps the text independent of that feature.
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push_str(style.item_separator);
                }
                (style.write_key)(key, out);
                out.push_str(style.key_separator);
                write_sorted(item, style, out);
            }
            out.push('}');
        }
    }
}
