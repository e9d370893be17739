//! The text a selection is hashed as: lambda-kit's canonical JSON, or the JSON Powertools
//! for Python writes, so that keys can be shared with it.

use serde::Serialize;
use serde_json::Value;

use crate::canonical::canonical_json;
use crate::python_json::{dumps_sorted, exact_numbers};

/// How event data becomes the text that is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashedText {
    /// Compact JSON, keys sorted, raw UTF-8 ([`canonical_json`]).
    Canonical,
    /// Python's `json.dumps(data, sort_keys=True)`, with integers exact at any size.
    Python,
}

impl HashedText {
    /// Event data as JSON for selection. For Python's text the data goes through JSON
    /// text, so that integers beyond 64 bits (in a `Box<RawValue>` event, or a `u128`
    /// field) keep their digits.
    pub(crate) fn data<D: Serialize + ?Sized>(self, data: &D) -> serde_json::Result<Value> {
        match self {
            HashedText::Canonical => serde_json::to_value(data),
            HashedText::Python => parse(&serde_json::to_string(data)?),
        }
    }

    /// The text of a selected value.
    pub(crate) fn write(self, value: &Value) -> String {
        match self {
            HashedText::Canonical => canonical_json(value),
            HashedText::Python => dumps_sorted(value),
        }
    }
}

/// Parses JSON text as Python reads it (see [`exact_numbers`]).
pub(crate) fn parse(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(&exact_numbers(text))
}
