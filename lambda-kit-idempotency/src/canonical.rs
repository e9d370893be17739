//! Canonical JSON and the key hash.
//!
//! Two events that mean the same must hash the same, whatever order their object keys
//! came in. The canonical form is compact JSON with every object's keys sorted by their
//! UTF-8 bytes, strings escaped as `serde_json` escapes them and numbers written as
//! `serde_json` writes them. The hash is SHA-256 of that text, as 64 lowercase hex digits.

use serde_json::Value;

use crate::hash::HashFunction;
use crate::sorted_json::{Style, write_sorted};

/// Writes `value` as canonical JSON: no whitespace, object keys sorted.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_sorted(value, &CANONICAL, &mut out);
    out
}

/// SHA-256 of the canonical JSON of `value`, in lowercase hex.
pub fn hash_value(value: &Value) -> String {
    HashFunction::Sha256.hex_digest(canonical_json(value).as_bytes())
}

/// Compact, and every string and number as `serde_json` writes it.
const CANONICAL: Style = Style {
    item_separator: ",",
    key_separator: ":",
    key_text: |key| key,
    write_key: write_string,
    write_string,
    write_number: |number, out| out.push_str(&number.to_string()),
};

fn write_string(text: &str, out: &mut String) {
    // Serializing a str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth_and_whitespace_is_gone() {
        let value: Value =
            serde_json::from_str(r#"{ "b": [1, {"z": null, "a": true}], "a": "x\"y" }"#)
                .expect("test JSON");
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\"y","b":[1,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn the_hash_is_sha256_of_the_canonical_text() {
        // `printf '%s' '{"order_id":"o-1"}' | sha256sum`
        assert_eq!(
            hash_value(&json!({"order_id": "o-1"})),
            "21fbcc9a1180d3749842735ce7bfc5af1928fae94c44031deefd1dcd721d48a5"
        );
    }

    /// Any JSON value, nested a few levels, with keys that collide in prefix and case.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON numbers are finite", |n| n.is_finite())
                .prop_map(Value::from),
            "[a-zA-Z0-9 \\\"\u{e9}\u{1F600}]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(("[a-cA-C_]{0,3}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// Writes `value` as JSON text with every object's keys in the order `order` picks.
    fn write_shuffled(value: &Value, order: &mut impl FnMut(usize) -> usize, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                // A rotation by a picked amount, then a reversal on odd picks.
                let len = entries.len().max(1);
                let pick = order(len);
                entries.rotate_left(pick % len);
                if pick % 2 == 1 {
                    entries.reverse();
                }
                out.push_str("{ ");
                for (index, (key, item)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        out.push_str(" , ");
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push_str(" : ");
                    write_shuffled(item, order, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push_str("[ ");
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    write_shuffled(item, order, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    proptest::proptest! {
        /// Two texts of one value, with keys in different orders and other whitespace,
        /// give the same canonical text and hash. (Both texts spell each number the same
        /// way, as two deliveries of one event do.)
        #[test]
        fn key_order_and_whitespace_do_not_change_the_hash(
            value in json_value(),
            first_picks in proptest::collection::vec(0_usize..1000, 1..64),
            second_picks in proptest::collection::vec(0_usize..1000, 1..64),
        ) {
            let parse = |picks: &[usize]| -> Value {
                let mut next = 0;
                let mut order = |_len: usize| {
                    next += 1;
                    picks[next % picks.len()]
                };
                let mut text = String::new();
                write_shuffled(&value, &mut order, &mut text);
                serde_json::from_str(&text).expect("valid JSON")
            };
            let (first, second) = (parse(&first_picks), parse(&second_picks));
            proptest::prop_assert_eq!(canonical_json(&first), canonical_json(&second));
            proptest::prop_assert_eq!(hash_value(&first), hash_value(&second));
            proptest::prop_assert!(!canonical_json(&first).contains(" : "));
        }
    }
}
