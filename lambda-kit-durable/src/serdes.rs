//! How results are written into checkpoints and read back.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::DurableError;

/// How a step's result is written into its checkpoint and read back.
pub trait Serdes<T>: Send + Sync {
    /// The text a result is checkpointed as.
    fn serialize(&self, value: &T) -> Result<String, String>;
    /// A result read back from its checkpoint.
    fn deserialize(&self, text: &str) -> Result<T, String>;
}

/// JSON, with serde: the default [`Serdes`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerdes;

impl<T: Serialize + DeserializeOwned> Serdes<T> for JsonSerdes {
    fn serialize(&self, value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|error| error.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }
}

/// A step's recorded result, read back by `serdes` (no result reads as JSON `null`).
pub(crate) fn read_result<T>(
    name: &str,
    serdes: &dyn Serdes<T>,
    result: Option<&str>,
) -> Result<T, DurableError> {
    serdes
        .deserialize(result.unwrap_or("null"))
        .map_err(|message| serdes_error(name, &message))
}

/// `value` as `serdes` writes it into the checkpoint of `name`.
pub(crate) fn write_result<T>(
    name: &str,
    serdes: &dyn Serdes<T>,
    value: &T,
) -> Result<String, DurableError> {
    serdes
        .serialize(value)
        .map_err(|message| serdes_error(name, &message))
}

/// `value` written by `serdes`, and the value read back from what was written: what a
/// replay will see, so the first run sees the same.
pub(crate) fn round_trip<T>(
    name: &str,
    serdes: &dyn Serdes<T>,
    value: &T,
) -> Result<(String, T), DurableError> {
    let payload = write_result(name, serdes, value)?;
    let value = read_result(name, serdes, Some(&payload))?;
    Ok((payload, value))
}

/// A (de)serialization failure of what `name` checkpoints.
pub(crate) fn serdes_error(name: &str, message: &str) -> DurableError {
    DurableError::Serialization {
        name: name.to_owned(),
        message: message.to_owned(),
    }
}
