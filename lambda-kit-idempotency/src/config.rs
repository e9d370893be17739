//! Building an [`Idempotency`]: the key and validation selections, lifetimes, the cache,
//! and what to do when an event has no key.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::LocalCache;
use crate::hash::HashFunction;
use crate::idempotency::Idempotency;
use crate::select::Selection;
use crate::settings::{MissingKey, Settings};
use crate::store::Store;
use crate::text::HashedText;

/// How long a completed record answers replays unless told otherwise: one hour, as in
/// Powertools.
pub const DEFAULT_EXPIRES_AFTER: Duration = Duration::from_secs(60 * 60);

/// How many completed records the local cache keeps unless told otherwise.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// The environment variable that turns idempotency off (`true`, `1`, `yes`, `on`), for
/// local runs and tests, as in Powertools.
pub const DISABLED_ENV: &str = "POWERTOOLS_IDEMPOTENCY_DISABLED";

/// What `AWS_LAMBDA_FUNCTION_NAME` stands for in keys when it is not set: `function` for
/// lambda-kit's keys, and `test-func`, as Powertools for Python has it, for
/// Powertools-compatible ones.
const DEFAULT_FUNCTION_NAME: &str = "function";
const POWERTOOLS_DEFAULT_FUNCTION_NAME: &str = "test-func";

/// The builder was given a configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A JMESPath expression did not compile.
    #[error("invalid JMESPath expression `{expression}`: {source}")]
    Expression {
        /// The expression as given.
        expression: String,
        /// What the parser said. (Boxed: it is large, and only `build`'s error path
        /// carries it.)
        #[source]
        source: Box<jmespath::JmespathError>,
    },
    /// [`scope`](IdempotencyBuilder::scope) was combined with a key prefix of another
    /// kind: with [`key_prefix`](IdempotencyBuilder::key_prefix), which is the whole
    /// prefix, or with
    /// [`powertools_compatible`](IdempotencyBuilder::powertools_compatible), whose handler
    /// name plays the part of the scope.
    #[error("`scope` cannot be combined with {other}: {other} already names the keys")]
    ScopeWithPrefix {
        /// `key_prefix` or `powertools_compatible`.
        other: &'static str,
    },
}

/// A selection as the builder was given it: expressions compile in `build`, once it is
/// known which `powertools_json` they call.
enum PendingSelection {
    Ready(Selection),
    Expression(String),
}

/// Builds an [`Idempotency`]; start with [`Idempotency::builder`].
#[must_use]
pub struct IdempotencyBuilder {
    store: Arc<dyn Store>,
    key: PendingSelection,
    validation: Option<PendingSelection>,
    expires_after: Duration,
    missing_key: MissingKey,
    cache_capacity: usize,
    function_name: Option<String>,
    scope: Option<String>,
    key_prefix: Option<String>,
    powertools_handler: Option<String>,
    hash_function: Option<HashFunction>,
    disabled: Option<bool>,
}

impl std::fmt::Debug for IdempotencyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyBuilder")
            .field("expires_after", &self.expires_after)
            .field("missing_key", &self.missing_key)
            .field("powertools_handler", &self.powertools_handler)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    /// Starts a configuration on `store`.
    pub fn builder(store: impl Store) -> IdempotencyBuilder {
        IdempotencyBuilder::new(Arc::new(store))
    }
}

impl IdempotencyBuilder {
    fn new(store: Arc<dyn Store>) -> Self {
        IdempotencyBuilder {
            store,
            key: PendingSelection::Ready(Selection::Whole),
            validation: None,
            expires_after: DEFAULT_EXPIRES_AFTER,
            missing_key: MissingKey::Skip,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            function_name: None,
            scope: None,
            key_prefix: None,
            powertools_handler: None,
            hash_function: None,
            disabled: None,
        }
    }

    /// Hashes what this JMESPath expression selects instead of the whole event, such as
    /// `order_id` or `powertools_json(body).[customer, order_id]`. A bad expression is
    /// reported by [`build`](Self::build).
    pub fn key_jmespath(mut self, expression: &str) -> Self {
        self.key = PendingSelection::Expression(expression.to_owned());
        self
    }

    /// Hashes what a closure returns; `None` means the event has no key.
    pub fn key_fn<F>(mut self, select: F) -> Self
    where
        F: Fn(&serde_json::Value) -> Option<serde_json::Value> + Send + Sync + 'static,
    {
        self.key = PendingSelection::Ready(Selection::closure(select));
        self
    }

    /// Also stores the hash of what this expression selects; a replay whose hash differs
    /// fails with [`IdempotencyError::Validation`](crate::IdempotencyError::Validation).
    pub fn validation_jmespath(mut self, expression: &str) -> Self {
        self.validation = Some(PendingSelection::Expression(expression.to_owned()));
        self
    }

    /// Payload validation with a closure (see [`validation_jmespath`](Self::validation_jmespath)).
    pub fn validation_fn<F>(mut self, select: F) -> Self
    where
        F: Fn(&serde_json::Value) -> Option<serde_json::Value> + Send + Sync + 'static,
    {
        self.validation = Some(PendingSelection::Ready(Selection::closure(select)));
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

    /// The whole key prefix, before `#`, as Powertools' `key_prefix` option sets it:
    /// keys become `<prefix>#<hash>`. It replaces the function name (and the handler name
    /// of [`powertools_compatible`](Self::powertools_compatible)).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    /// Keys and validation hashes that Powertools for AWS Lambda (Python) computes for the
    /// same event, so that a Rust function and a Python one share a table: each answers
    /// the other's completed events, waits for its in-progress ones and refuses a changed
    /// payload under validation.
    ///
    /// `handler` is the Python handler's `module.qualname`, such as `app.lambda_handler`
    /// for `lambda_handler` in `app.py`: the key is
    /// `<AWS_LAMBDA_FUNCTION_NAME>.<handler>#<hash>` (`test-func` when the variable is not
    /// set, as in Powertools), or `<prefix>#<hash>` with [`key_prefix`](Self::key_prefix).
    /// The hash is MD5 (change it with [`hash_function`](Self::hash_function) to match
    /// `IdempotencyConfig(hash_function=...)`) of the text Python's
    /// `json.dumps(data, sort_keys=True)` writes, with integers of any size kept exact
    /// when the event carries their digits (a `Box<RawValue>` event, or an integer type
    /// that holds them: `serde_json::Value` turns integers beyond 64 bits into floats when
    /// the event is read). A validation selection that finds nothing is hashed as `null`,
    /// as Python does.
    ///
    /// ```
    /// use lambda_kit_idempotency::{Idempotency, MemoryStore};
    ///
    /// let idempotency = Idempotency::builder(MemoryStore::new())
    ///     .powertools_compatible("app.lambda_handler")
    ///     .key_jmespath("powertools_json(body).[customer, order_id]")
    ///     .build()?;
    /// # let _ = idempotency;
    /// # Ok::<(), lambda_kit_idempotency::ConfigError>(())
    /// ```
    pub fn powertools_compatible(mut self, handler: impl Into<String>) -> Self {
        self.powertools_handler = Some(handler.into());
        self
    }

    /// The hash of keys and validation (default SHA-256, or MD5 with
    /// [`powertools_compatible`](Self::powertools_compatible)).
    pub fn hash_function(mut self, hash: HashFunction) -> Self {
        self.hash_function = Some(hash);
        self
    }

    /// Turns idempotency off or on whatever `POWERTOOLS_IDEMPOTENCY_DISABLED` says.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Finishes the configuration.
    pub fn build(self) -> Result<Idempotency, ConfigError> {
        let text = match self.powertools_handler {
            Some(_) => HashedText::Python,
            None => HashedText::Canonical,
        };
        let key = compile(self.key, text)?;
        let validation = self
            .validation
            .map(|selection| compile(selection, text))
            .transpose()?;
        let key_prefix = key_prefix(
            self.key_prefix,
            self.powertools_handler,
            self.scope,
            self.function_name,
        )?;
        let hash = self.hash_function.unwrap_or(match text {
            HashedText::Python => HashFunction::Md5,
            HashedText::Canonical => HashFunction::Sha256,
        });
        let disabled = self.disabled.unwrap_or_else(disabled_by_env);
        let cache = NonZeroUsize::new(self.cache_capacity).map(LocalCache::new);
        Ok(Idempotency::from_settings(Settings {
            store: self.store,
            key,
            validation,
            text,
            hash,
            expires_after: self.expires_after,
            missing_key: self.missing_key,
            cache,
            key_prefix,
            disabled,
        }))
    }
}

fn compile(selection: PendingSelection, text: HashedText) -> Result<Selection, ConfigError> {
    match selection {
        PendingSelection::Ready(selection) => Ok(selection),
        PendingSelection::Expression(expression) => Selection::jmespath_for(&expression, text)
            .map_err(|source| ConfigError::Expression {
                expression,
                source: Box::new(source),
            }),
    }
}

/// The start of every record key, up to and including `#`.
fn key_prefix(
    explicit: Option<String>,
    powertools_handler: Option<String>,
    scope: Option<String>,
    function_name: Option<String>,
) -> Result<String, ConfigError> {
    let function_name = |default: &str| {
        function_name.unwrap_or_else(|| {
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| default.to_owned())
        })
    };
    let prefix = match (explicit, powertools_handler, scope) {
        (Some(_), _, Some(_)) => {
            return Err(ConfigError::ScopeWithPrefix {
                other: "key_prefix",
            });
        }
        (None, Some(_), Some(_)) => {
            return Err(ConfigError::ScopeWithPrefix {
                other: "powertools_compatible",
            });
        }
        (Some(prefix), _, None) => prefix,
        (None, Some(handler), None) => {
            format!(
                "{}.{handler}",
                function_name(POWERTOOLS_DEFAULT_FUNCTION_NAME)
            )
        }
        (None, None, Some(scope)) => format!("{}.{scope}", function_name(DEFAULT_FUNCTION_NAME)),
        (None, None, None) => function_name(DEFAULT_FUNCTION_NAME),
    };
    Ok(format!("{prefix}#"))
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
    use super::*;

    fn prefix(
        explicit: Option<&str>,
        handler: Option<&str>,
        scope: Option<&str>,
    ) -> Result<String, ConfigError> {
        key_prefix(
            explicit.map(str::to_owned),
            handler.map(str::to_owned),
            scope.map(str::to_owned),
            Some("orders".to_owned()),
        )
    }

    #[test]
    fn key_prefixes() {
        assert_eq!(prefix(None, None, None).ok().as_deref(), Some("orders#"));
        assert_eq!(
            prefix(None, None, Some("charge")).ok().as_deref(),
            Some("orders.charge#")
        );
        assert_eq!(
            prefix(None, Some("app.lambda_handler"), None)
                .ok()
                .as_deref(),
            Some("orders.app.lambda_handler#")
        );
        assert_eq!(
            prefix(Some("shared"), Some("app.lambda_handler"), None)
                .ok()
                .as_deref(),
            Some("shared#")
        );
        for (explicit, handler) in [(Some("shared"), None), (None, Some("app.handler"))] {
            let error = prefix(explicit, handler, Some("charge")).expect_err("scope conflicts");
            assert!(
                matches!(error, ConfigError::ScopeWithPrefix { .. }),
                "{error}"
            );
        }
    }

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
