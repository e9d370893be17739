//! Building an [`Idempotency`]: the key and validation selections, lifetimes, the cache,
//! and what to do when an event has no key.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::LocalCache;
use crate::idempotency::{Idempotency, Settings};
use crate::select::Selection;
use crate::store::Store;

/// How long a completed record answers replays unless told otherwise: one hour, as in
/// Powertools.
pub const DEFAULT_EXPIRES_AFTER: Duration = Duration::from_secs(60 * 60);

/// How many completed records the local cache keeps unless told otherwise.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// The environment variable that turns idempotency off (`true`, `1`, `yes`, `on`), for
/// local runs and tests, as in Powertools.
pub const DISABLED_ENV: &str = "POWERTOOLS_IDEMPOTENCY_DISABLED";

/// What happens when the key selection finds nothing in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Run the handler without idempotency and log a warning (Powertools' default).
    #[default]
    Skip,
    /// Fail with [`IdempotencyError::KeyMissing`](crate::IdempotencyError::KeyMissing);
    /// the handler does not run.
    Error,
}

/// A JMESPath expression given to the builder did not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid JMESPath expression `{expression}`: {source}")]
pub struct ConfigError {
    expression: String,
    // Boxed: the parser's error is large, and `build` returns this on its error path only.
    #[source]
    source: Box<jmespath::JmespathError>,
}

/// Builds an [`Idempotency`]; start with [`Idempotency::builder`].
#[must_use]
pub struct IdempotencyBuilder {
    store: Arc<dyn Store>,
    key: Selection,
    validation: Option<Selection>,
    expires_after: Duration,
    missing_key: MissingKey,
    cache_capacity: usize,
    function_name: Option<String>,
    scope: Option<String>,
    disabled: Option<bool>,
    error: Option<ConfigError>,
}

impl IdempotencyBuilder {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        IdempotencyBuilder {
            store,
            key: Selection::Whole,
            validation: None,
            expires_after: DEFAULT_EXPIRES_AFTER,
            missing_key: MissingKey::Skip,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            function_name: None,
            scope: None,
            disabled: None,
            error: None,
        }
    }

    /// Hashes what this JMESPath expression selects instead of the whole event, such as
    /// `order_id` or `powertools_json(body).[customer, order_id]`. A bad expression is
    /// reported by [`build`](Self::build).
    pub fn key_jmespath(mut self, expression: &str) -> Self {
        if let Some(selection) = self.compile(expression) {
            self.key = selection;
        }
        self
    }

    /// Hashes what a closure returns; `None` means the event has no key.
    pub fn key_fn<F>(mut self, select: F) -> Self
    where
        F: Fn(&serde_json::Value) -> Option<serde_json::Value> + Send + Sync + 'static,
    {
        self.key = Selection::closure(select);
        self
    }

    /// Also stores the hash of what this expression selects; a replay whose hash differs
    /// fails with [`IdempotencyError::Validation`](crate::IdempotencyError::Validation).
    pub fn validation_jmespath(mut self, expression: &str) -> Self {
        if let Some(selection) = self.compile(expression) {
            self.validation = Some(selection);
        }
        self
    }

    /// Payload validation with a closure (see [`validation_jmespath`](Self::validation_jmespath)).
    pub fn validation_fn<F>(mut self, select: F) -> Self
    where
        F: Fn(&serde_json::Value) -> Option<serde_json::Value> + Send + Sync + 'static,
    {
        self.validation = Some(Selection::closure(select));
        self
    }

    /// How long a completed record answers replays (default one hour).
    pub fn expires_after(mut self, expires_after: Duration) -> Self {
        self.expires_after = expires_after;
        self
    }

    /// What to do when the key selection finds nothing (default: skip, with a warning).
    pub fn missing_key(mut self, missing_key: MissingKey) -> Self {
        self.missing_key = missing_key;
        self
    }

    /// How many completed records to keep in the local cache (default 256; 0 turns the
    /// cache off).
    pub fn local_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The function name that starts every record key (default: `AWS_LAMBDA_FUNCTION_NAME`,
    /// else `function`).
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = Some(name.into());
        self
    }

    /// A name that keeps this use's keys apart from other uses in the same function, such
    /// as `charge` for per-record idempotency in a batch handler.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Turns idempotency off or on whatever `POWERTOOLS_IDEMPOTENCY_DISABLED` says.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Finishes the configuration.
    pub fn build(self) -> Result<Idempotency, ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let function_name = self.function_name.unwrap_or_else(|| {
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "function".to_owned())
        });
        let key_prefix = match self.scope {
            Some(scope) => format!("{function_name}.{scope}#"),
            None => format!("{function_name}#"),
        };
        let disabled = self.disabled.unwrap_or_else(disabled_by_env);
        let cache = NonZeroUsize::new(self.cache_capacity).map(LocalCache::new);
        Ok(Idempotency::from_settings(Settings {
            store: self.store,
            key: self.key,
            validation: self.validation,
            expires_after: self.expires_after,
            missing_key: self.missing_key,
            cache,
            key_prefix,
            disabled,
        }))
    }

    /// Compiles an expression, keeping the first error for `build`.
    fn compile(&mut self, expression: &str) -> Option<Selection> {
        match Selection::jmespath(expression) {
            Ok(selection) => Some(selection),
            Err(source) => {
                self.error.get_or_insert(ConfigError {
                    expression: expression.to_owned(),
                    source: Box::new(source),
                });
                None
            }
        }
    }
}

fn disabled_by_env() -> bool {
    is_truthy(std::env::var(DISABLED_ENV).ok().as_deref())
}

/// Whether a flag variable's value means yes, as Powertools reads its flags.
fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::is_truthy;

    #[test]
    fn flag_values() {
        for yes in ["true", "TRUE", "1", "yes", "on", " y "] {
            assert!(is_truthy(Some(yes)), "{yes}");
        }
        for no in ["false", "0", "", "no", "disabled"] {
            assert!(!is_truthy(Some(no)), "{no}");
        }
        assert!(!is_truthy(None));
    }
}
