//! Transforms from a fetched [`Value`] into what the function uses: text, bytes, base64,
//! JSON into any `DeserializeOwned` type, and Powertools' `auto` (by the name's suffix).
//!
//! Failures name the parameter and say where decoding stopped, never what the text was.

use std::fmt;

use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::error::ParameterError;
use crate::value::Value;

/// The value as text. Binary values must be UTF-8.
pub(crate) fn text(name: &str, value: &Value) -> Result<String, ParameterError> {
    match value {
        Value::Text(text) => Ok(text.to_string()),
        Value::Binary(bytes) => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|error| {
                let at = error.valid_up_to();
                ParameterError::transform(name, "UTF-8 text", format!("invalid UTF-8 at byte {at}"))
            }),
    }
}

/// A text value decoded from base64 (standard alphabet, padding optional, surrounding
/// whitespace ignored). A binary value is already bytes and comes back as it is.
pub(crate) fn base64(name: &str, value: &Value) -> Result<Vec<u8>, ParameterError> {
    let text = match value {
        Value::Text(text) => text.trim(),
        Value::Binary(bytes) => return Ok(bytes.to_vec()),
    };
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|error| {
            let detail = match error {
                base64::DecodeError::InvalidByte(offset, _) => {
                    format!("invalid character at offset {offset}")
                }
                base64::DecodeError::InvalidLength(length) => {
                    format!("{length} characters is not a base64 length")
                }
                base64::DecodeError::InvalidLastSymbol(offset, _) => {
                    format!("invalid last character at offset {offset}")
                }
                base64::DecodeError::InvalidPadding => "invalid padding".to_owned(),
            };
            ParameterError::transform(name, "base64", detail)
        })
}

/// The value decoded from JSON into `T`.
pub(crate) fn json<T: DeserializeOwned>(name: &str, value: &Value) -> Result<T, ParameterError> {
    let expected = || format!("JSON for {}", std::any::type_name::<T>());
    let mut deserializer = serde_json::Deserializer::from_slice(value.as_bytes());
    let decoded: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let detail = json_failure(&error.path().to_string(), error.inner());
        ParameterError::transform(name, expected(), detail)
    })?;
    deserializer
        .end()
        .map_err(|error| ParameterError::transform(name, expected(), json_failure("", &error)))?;
    Ok(decoded)
}

/// Where and how JSON decoding failed. serde's own message is left out: for a wrong type
/// it quotes the value it found ("invalid type: string \"hunter2\""), which may be secret.
fn json_failure(path: &str, error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Eof => "JSON cut short",
        serde_json::error::Category::Data => "a value of the wrong type or a missing field",
        serde_json::error::Category::Io => "unreadable",
    };
    let at = format!("line {} column {}", error.line(), error.column());
    if path == "." || path.is_empty() {
        format!("{what} at {at}")
    } else {
        format!("{what} at `{path}` ({at})")
    }
}

/// What Powertools' `auto` transform makes of a value.
#[derive(Clone, PartialEq)]
pub enum Transformed {
    /// The name ends in `.json`: the value decoded as JSON.
    Json(serde_json::Value),
    /// The name ends in `.binary`: the value decoded from base64.
    Binary(Vec<u8>),
    /// Any other name: the value as it is (text, or bytes for a binary value).
    Raw(Value),
}

impl fmt::Debug for Transformed {
    /// The kind only: the content may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transformed::Json(_) => f.write_str("Json(..)"),
            Transformed::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
            Transformed::Raw(value) => write!(f, "Raw({value:?})"),
        }
    }
}

/// Powertools' `auto`: the transform the name's last `.suffix` names (`json` or `binary`),
/// or none.
pub(crate) fn auto(name: &str, value: &Value) -> Result<Transformed, ParameterError> {
    match name.rsplit_once('.').map(|(_, suffix)| suffix) {
        Some("json") => json(name, value).map(Transformed::Json),
        Some("binary") => base64(name, value).map(Transformed::Binary),
        _ => Ok(Transformed::Raw(value.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Settings {
        db: Db,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Db {
        port: u16,
    }

    #[test]
    fn json_decodes_into_the_asked_type() {
        let value = Value::from(r#"{"db":{"port":5432}}"#);
        let settings: Settings = json("/app/settings", &value).expect("decodes");
        assert_eq!(
            settings,
            Settings {
                db: Db { port: 5432 }
            }
        );
    }

    #[test]
    fn a_wrong_type_names_the_path_but_not_the_value() {
        let value = Value::from(r#"{"db":{"port":"hunter2"}}"#);
        let error = json::<Settings>("/app/settings", &value).expect_err("does not decode");
        let message = error.to_string();
        assert!(message.contains("/app/settings"), "{message}");
        assert!(message.contains("`db.port`"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(error.error_type(), "Parameters.TransformFailed");
    }

    #[test]
    fn trailing_text_after_the_json_fails() {
        let value = Value::from(r#"{"db":{"port":1}} extra"#);
        let error = json::<Settings>("s", &value)
            .expect_err("does not decode")
            .to_string();
        assert!(error.contains("not valid JSON at line 1"), "{error}");
        assert!(!error.contains("extra"), "{error}");
    }

    #[test]
    fn base64_accepts_padding_or_none_and_reports_offsets() {
        assert_eq!(base64("k", &Value::from("aGk=")).expect("decodes"), b"hi");
        assert_eq!(base64("k", &Value::from("aGk")).expect("decodes"), b"hi");
        assert_eq!(
            base64("k", &Value::from(" aGk=\n")).expect("decodes"),
            b"hi"
        );
        let error = base64("k", &Value::from("a*Gk"))
            .expect_err("does not decode")
            .to_string();
        assert!(error.contains("offset 1"), "{error}");
        let binary = Value::Binary(vec![1, 2].into());
        assert_eq!(base64("k", &binary).expect("decodes"), vec![1, 2]);
    }

    #[test]
    fn text_of_binary_must_be_utf8() {
        assert_eq!(
            text("k", &Value::Binary(b"ok".to_vec().into())).expect("decodes"),
            "ok"
        );
        let error =
            text("k", &Value::Binary(vec![b'o', 0xff].into())).expect_err("does not decode");
        assert!(error.to_string().contains("byte 1"), "{error}");
    }

    #[test]
    fn auto_follows_the_suffix() {
        let json_value = auto("/app/config.json", &Value::from("[1]")).expect("decodes");
        assert_eq!(json_value, Transformed::Json(serde_json::json!([1])));
        let binary = auto("/app/key.binary", &Value::from("aGk=")).expect("decodes");
        assert_eq!(binary, Transformed::Binary(b"hi".to_vec()));
        let raw = auto("/app/url", &Value::from("[1]")).expect("decodes");
        assert_eq!(raw, Transformed::Raw(Value::from("[1]")));
        // Only the last suffix counts, as in Powertools.
        let raw = auto("/app/config.json.bak", &Value::from("x")).expect("decodes");
        assert!(matches!(raw, Transformed::Raw(_)));
    }
}
