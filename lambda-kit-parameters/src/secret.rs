//! A value that must not be printed.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Holds a secret so that it cannot reach a log by accident: its `Debug` prints `***`, and
/// it has no `Display` and no `Serialize`. Read it with [`expose`](Secret::expose) where
/// it is used (building a connection string, signing a request).
///
/// It deserializes as the value it holds, so a JSON secret can decode straight into it:
///
/// ```
/// use lambda_kit_parameters::Secret;
///
/// #[derive(serde::Deserialize)]
/// struct Database {
///     user: String,
///     password: Secret<String>,
/// }
///
/// let db: Database = serde_json::from_str(r#"{"user":"app","password":"hunter2"}"#).unwrap();
/// assert_eq!(db.password.expose(), "hunter2");
/// assert_eq!(format!("{:?}", db.password), "***");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value, to use (never to log).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_even_nested() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(secret.into_inner(), "hunter2");
    }
}
