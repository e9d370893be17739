//! The text Powertools for Python hashes: `json.dumps(data, sort_keys=True)` of the event as
//! Python's `json.loads` reads it.
//!
//! Python writes `", "` and `": "` between items, escapes everything outside printable
//! ASCII (`\u00e9`, a surrogate pair for an emoji), writes floats as `repr` does (`1.5e-07`,
//! `1e+16`, `100.0`) and keeps integers exact at any size. Two of those facts need care
//! in Rust:
//!
//! - **Integers beyond 64 bits.** `serde_json` (without its crate-wide
//!   `arbitrary_precision` feature, which would change every `Value` of the build) turns
//!   them into floats. [`exact_numbers`] rewrites such a literal in the JSON text, before
//!   it is parsed, as a string that starts with [`BIG_INTEGER`] (a Unicode noncharacter,
//!   reserved for internal use) followed by its digits, and [`dumps_sorted`] writes that
//!   string back as the bare integer. A string of the event that itself starts with the
//!   marker gets a second one, which `dumps_sorted` removes, so no event is misread.
//!   Selecting such an integer with JMESPath is exact; comparing it or passing it to a
//!   JMESPath function treats it as text.
//! - **`-0`.** Python reads it as the integer `0`; `serde_json` as the float `-0.0`.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Number, Value};

use crate::sorted_json::{Style, write_sorted};

/// Starts a string that stands for an integer literal too large for 64 bits.
pub(crate) const BIG_INTEGER: char = '\u{FDD0}';

/// `BIG_INTEGER` as the JSON escape a text might spell it with (either hex case).
const BIG_INTEGER_ESCAPE: &[u8] = b"\\ufdd0";

/// Rewrites the integer literals of a JSON text that Python would read differently from
/// `serde_json` (see the module documentation). Borrows the text when nothing changes,
/// which is the usual case. Text that is not JSON passes through for the parser to
/// report.
pub(crate) fn exact_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // Up to `copied`, the text is in `out` (once a rewrite has started).
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let content = at + 1;
                let end = string_end(bytes, content);
                if starts_with_marker(&bytes[content..end]) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
                    out.push_str(&text[copied..content]);
                    out.push(BIG_INTEGER);
                    copied = content;
                }
                at = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, at);
                let literal = &text[at..end];
                if let Some(replacement) = integer_replacement(literal) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
                    out.push_str(&text[copied..at]);
                    out.push_str(&replacement);
                    copied = end;
                }
                at = end;
            }
            _ => at += 1,
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Where the string whose content starts at `from` ends: the index of its closing quote,
/// or the end of the text.
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// Where the number starting at `from` ends.
fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < bytes.len() && matches!(bytes[at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
        at += 1;
    }
    at
}

/// Whether a string's raw content (escapes not yet resolved) starts with the marker.
fn starts_with_marker(content: &[u8]) -> bool {
    let mut encoded = [0; 4];
    let marker = BIG_INTEGER.encode_utf8(&mut encoded).as_bytes();
    content.starts_with(marker)
        || content
            .get(..BIG_INTEGER_ESCAPE.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(BIG_INTEGER_ESCAPE))
}

/// What an integer literal becomes, if `serde_json` would not keep it as Python does.
fn integer_replacement(literal: &str) -> Option<String> {
    if literal
        .bytes()
        .any(|byte| matches!(byte, b'.' | b'e' | b'E'))
    {
        return None; // a float: both read it as the same double
    }
    if literal == "-0" {
        return Some("0".to_owned());
    }
    let valid = literal
        .strip_prefix('-')
        .unwrap_or(literal)
        .bytes()
        .all(|byte| byte.is_ascii_digit());
    if !valid || literal.parse::<i64>().is_ok() || literal.parse::<u64>().is_ok() {
        return None;
    }
    Some(format!("\"{BIG_INTEGER}{literal}\""))
}

/// Writes `value` as Python's `json.dumps(value, sort_keys=True)` does, reading the
/// strings [`exact_numbers`] made as what they stand for.
pub(crate) fn dumps_sorted(value: &Value) -> String {
    let mut out = String::new();
    write_sorted(value, &PYTHON, &mut out);
    out
}

/// `", "` and `": "`, `ensure_ascii` strings, `repr` floats, and the marked strings of
/// [`exact_numbers`] read back.
const PYTHON: Style = Style {
    item_separator: ", ",
    key_separator: ": ",
    key_text: unmarked_key,
    write_key: write_string,
    write_string: write_marked_string,
    write_number,
};

fn write_number(number: &Number, out: &mut String) {
    match number.as_f64() {
        Some(float) if number.is_f64() => write_float(float, out),
        _ => {
            let _ = write!(out, "{number}");
        }
    }
}

/// A string value: a big integer [`exact_numbers`] marked is written as its digits, and
/// an event string that itself started with the marker loses the second one it got.
fn write_marked_string(text: &str, out: &mut String) {
    match text.strip_prefix(BIG_INTEGER) {
        Some(own) if own.starts_with(BIG_INTEGER) => write_string(own, out),
        Some(digits) => out.push_str(digits),
        None => write_string(text, out),
    }
}

/// An object key as the event spelled it: a key is never an integer, so a marker at its
/// start can only be the escape of one the event had.
fn unmarked_key(key: &str) -> &str {
    key.strip_prefix(BIG_INTEGER).unwrap_or(key)
}

/// A string with `ensure_ascii`: short escapes for `"`, `\` and five controls, `\u` and
/// four lowercase hex digits for the other characters outside `' '..='~'`, a surrogate
/// pair beyond the Basic Multilingual Plane.
fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(character),
            other => {
                let mut units = [0u16; 2];
                for unit in other.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// The shortest digits that read back as `value` (finite, not negative), and where the
/// decimal point goes: the value is `0.DIGITS × 10^point`. Ryu picks, among the shortest
/// digit strings, the one nearest the exact value and, on a tie, the even one, which is
/// what Python's `repr` picks (Rust's own `{:e}` can round the other way on a tie).
fn shortest_digits(value: f64) -> (String, i32) {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value);
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut point = i32::try_from(whole.len()).unwrap_or(i32::MAX) + exponent;
    let mut digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    if leading == digits.len() {
        return ("0".to_owned(), 1);
    }
    digits.drain(..leading);
    point -= i32::try_from(leading).unwrap_or(0);
    digits.truncate(digits.trim_end_matches('0').len());
    (digits, point)
}

/// A float as Python's `repr` writes it: the shortest digits that read back as the same
/// double, in positional form while the decimal point sits from 4 places left of the
/// first digit to 16 right of it, else as `d.ddde±XX`; a whole number keeps `.0`.
fn write_float(value: f64, out: &mut String) {
    if !value.is_finite() {
        // What Python writes with its default `allow_nan`; a JSON Value never holds these.
        out.push_str(match value {
            v if v.is_nan() => "NaN",
            v if v > 0.0 => "Infinity",
            _ => "-Infinity",
        });
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    let (digits, point) = shortest_digits(value.abs());
    let count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if point <= -4 || point > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent = point - 1;
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point >= count {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - count) as usize));
        out.push_str(".0");
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(text: &str) -> String {
        let exact = exact_numbers(text);
        let value: Value = serde_json::from_str(&exact).expect("test JSON");
        dumps_sorted(&value)
    }

    #[test]
    fn separators_sorting_and_escapes() {
        assert_eq!(
            python(r#"{"b": [1, {"z": null, "a": true}], "a": "x\"y\\\n", "é": "é😀\u007f"}"#),
            r#"{"a": "x\"y\\\n", "b": [1, {"a": true, "z": null}], "\u00e9": "\u00e9\ud83d\ude00\u007f"}"#
        );
        assert_eq!(python("[]"), "[]");
        assert_eq!(python("{}"), "{}");
    }

    #[test]
    fn floats_as_python_repr() {
        for (json, repr) in [
            ("1.5e-7", "1.5e-07"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("100.0", "100.0"),
            ("1E2", "100.0"),
            ("-0.0", "-0.0"),
            ("0.0", "0.0"),
            ("123.456", "123.456"),
            ("9999999999999998.0", "9999999999999998.0"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
        ] {
            assert_eq!(python(json), repr, "{json}");
        }
    }

    #[test]
    fn integers_stay_exact_at_any_size() {
        assert_eq!(python("9007199254740993"), "9007199254740993");
        assert_eq!(python("18446744073709551615"), "18446744073709551615");
        assert_eq!(python("18446744073709551616"), "18446744073709551616");
        assert_eq!(
            python(r#"{"n": -123456789012345678901234567890}"#),
            r#"{"n": -123456789012345678901234567890}"#
        );
        assert_eq!(python("-0"), "0");
    }

    #[test]
    fn the_marker_in_an_event_string_is_kept_as_text() {
        let text = format!(r#"["{BIG_INTEGER}12", "\uFDD0x", {{"\ufdd0k": 1}}]"#);
        assert_eq!(python(&text), r#"["\ufdd012", "\ufdd0x", {"\ufdd0k": 1}]"#);
    }

    #[test]
    fn ordinary_text_is_borrowed() {
        assert!(matches!(
            exact_numbers(r#"{"a": [1, -2, 3.5e10, "18446744073709551616"]}"#),
            Cow::Borrowed(_)
        ));
    }

    /// JSON texts of every kind of value, spelled in the ways events spell them.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = "[a-zA-Z0-9 \"\\\u{1}\n\u{7f}\u{e9}\u{ffff}\u{FDD0}\u{1F600}\u{10FFFF}]{0,6}"
            .prop_map(|text| serde_json::to_string(&text).unwrap_or_default());
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("-0".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (any::<u128>(), any::<bool>())
                .prop_map(|(n, negative)| format!("{}{n}", if negative { "-" } else { "" })),
            any::<f64>()
                .prop_filter("finite", |n| n.is_finite())
                .prop_map(|n| format!("{n:?}")),
            any::<f64>()
                .prop_filter("finite", |n| n.is_finite())
                .prop_map(|n| format!("{n:E}")),
            (-30_i32..30).prop_map(|exponent| format!("1e{exponent}")),
            string.clone(),
        ];
        leaf.prop_recursive(3, 32, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec(
                    (
                        "[a-cA-C_\u{e9}\u{FDD0}\u{1F600}]{0,3}"
                            .prop_map(|key| serde_json::to_string(&key).unwrap_or_default()),
                        inner
                    ),
                    0..5
                )
                .prop_map(|entries| {
                    let entries: Vec<String> = entries
                        .into_iter()
                        .map(|(key, item)| format!("{key}:{item}"))
                        .collect();
                    format!("{{{}}}", entries.join(","))
                }),
            ]
        })
    }

    /// 2,000 generated texts, each written by `json.dumps(json.loads(text), sort_keys=True)`
    /// in Python itself and by [`dumps_sorted`]: the two must be the same text.
    #[test]
    fn matches_python_itself() {
        use proptest::strategy::{Strategy, ValueTree};
        use std::io::Write as _;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = json_text();
        let texts: Vec<String> = (0..2_000)
            .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
            .collect();
        let mut interpreter = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys\n\
                 for line in sys.stdin:\n    \
                 print(json.dumps(json.loads(line), sort_keys=True))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut stdin = interpreter.stdin.take().expect("piped");
        let input = texts.join("\n") + "\n";
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = interpreter.wait_with_output().expect("python3 finishes");
        writer.join().expect("writer").expect("written");
        assert!(output.status.success(), "python3 failed");
        let expected = String::from_utf8(output.stdout).expect("ASCII");
        let expected: Vec<&str> = expected.lines().collect();
        assert_eq!(expected.len(), texts.len());
        for (text, expected) in texts.iter().zip(expected) {
            assert_eq!(python(text), expected, "for {text}");
        }
    }
}
