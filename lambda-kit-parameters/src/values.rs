//! Several values read at once: by name, under a path, in a partition.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;

use crate::error::ParameterError;
use crate::transform::{self, Transformed};
use crate::value::Value;

/// Values by name, with the same transforms as a single read. Its `Debug` lists the names
/// only.
#[derive(Clone, Default, PartialEq)]
pub struct Values(BTreeMap<String, Value>);

impl Values {
    /// The value named `name`, untransformed.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The value named `name` as text.
    pub fn text(&self, name: &str) -> Result<String, ParameterError> {
        transform::text(name, self.require(name)?)
    }

    /// The value named `name` decoded from JSON.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, ParameterError> {
        transform::json(name, self.require(name)?)
    }

    /// The value named `name` decoded from base64.
    pub fn base64(&self, name: &str) -> Result<Vec<u8>, ParameterError> {
        transform::base64(name, self.require(name)?)
    }

    /// The value named `name`, transformed by its suffix (Powertools' `auto`).
    pub fn auto(&self, name: &str) -> Result<Transformed, ParameterError> {
        transform::auto(name, self.require(name)?)
    }

    /// Every value as text, by name.
    pub fn texts(&self) -> Result<BTreeMap<String, String>, ParameterError> {
        self.0
            .iter()
            .map(|(name, value)| Ok((name.clone(), transform::text(name, value)?)))
            .collect()
    }

    /// Every value transformed by its name's suffix (Powertools' `auto`), by name.
    pub fn auto_all(&self) -> Result<BTreeMap<String, Transformed>, ParameterError> {
        self.0
            .iter()
            .map(|(name, value)| Ok((name.clone(), transform::auto(name, value)?)))
            .collect()
    }

    /// The names and values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The map itself.
    pub fn into_map(self) -> BTreeMap<String, Value> {
        self.0
    }

    pub(crate) fn insert(&mut self, name: String, value: Value) {
        self.0.insert(name, value);
    }

    fn require(&self, name: &str) -> Result<&Value, ParameterError> {
        self.0.get(name).ok_or_else(|| ParameterError::NotFound {
            name: name.to_owned(),
        })
    }
}

impl FromIterator<(String, Value)> for Values {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Values(iter.into_iter().collect())
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What a read by name found: the values, and for each name that failed, why. The
/// answer of [`GetByName::collect_failures`](crate::GetByName::collect_failures).
#[derive(Debug, Default)]
pub struct ByName {
    /// The values that were read.
    pub values: Values,
    /// The names that could not be read, with their errors.
    pub failed: BTreeMap<String, ParameterError>,
}
