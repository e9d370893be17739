//! What a provider fetched, before any transform.

use std::fmt;
use std::sync::Arc;

/// A parameter's value as the store holds it: text (SSM parameters, `SecretString`,
/// DynamoDB strings, text configurations) or bytes (`SecretBinary`, binary
/// configurations). Cheap to clone: the cache hands out shared copies.
///
/// Its `Debug` prints the kind and length only, never the content, since the value may be
/// a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A text value.
    Text(Arc<str>),
    /// A binary value.
    Binary(Arc<[u8]>),
}

impl Value {
    /// The value's bytes (a text value's UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::Text(text) => text.as_bytes(),
            Value::Binary(bytes) => bytes,
        }
    }

    /// The text, if the value is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            Value::Binary(_) => None,
        }
    }

    /// A value from bytes: text when they are UTF-8 (a configuration's type is its
    /// content, not the transport's), bytes otherwise.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Value::from(text),
            Err(error) => Value::Binary(error.into_bytes().into()),
        }
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text.into())
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.into())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => write!(f, "Text({} bytes)", text.len()),
            Value::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_length_not_the_content() {
        assert_eq!(format!("{:?}", Value::from("hunter2")), "Text(7 bytes)");
        let binary = Value::from_bytes(vec![0xff, 0x00]);
        assert_eq!(format!("{binary:?}"), "Binary(2 bytes)");
        assert_eq!(Value::from_bytes(b"ok".to_vec()).as_text(), Some("ok"));
    }
}
