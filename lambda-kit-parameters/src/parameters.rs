//! The front users hold: a provider with its cache, and the reads built on them.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::cache::{Cache, Freshness};
use crate::error::ParameterError;
use crate::provider::Provider;
use crate::request::{SecretRequest, SsmRequest};
use crate::secret::Secret;
use crate::settings;
use crate::transform::{self, Transformed};
use crate::value::Value;
use crate::values::{ByName, Values};

/// A provider with a cache shared by every invocation of the environment: build it once
/// in `init`, keep it in the state, read from it in the handler.
///
/// ```no_run
/// # #[cfg(feature = "ssm")]
/// # async fn example() -> Result<(), lambda_kit_parameters::ParameterError> {
/// use lambda_kit_parameters::Ssm;
///
/// let ssm = Ssm::from_env().await?; // once, in init
/// let url = ssm.get("/app/db-url").decrypt(true).text().await?; // per invocation
/// # Ok(()) }
/// ```
///
/// Values are fetched again once older than the max age (default
/// [`DEFAULT_MAX_AGE`](crate::DEFAULT_MAX_AGE), or
/// [`MAX_AGE_ENV`](crate::MAX_AGE_ENV) seconds); a read can ask for another age, a forced
/// refresh, or the cached value when the refresh fails.
#[derive(Debug)]
pub struct Parameters<P: Provider> {
    provider: P,
    max_age: Duration,
    values: Cache<P::Request, Value>,
    multiple: Cache<P::Request, Values>,
}

impl<P: Provider> Parameters<P> {
    /// The provider with a cache whose default max age comes from
    /// [`MAX_AGE_ENV`](crate::MAX_AGE_ENV) (fails if that is not a whole number of
    /// seconds), else [`DEFAULT_MAX_AGE`](crate::DEFAULT_MAX_AGE).
    pub fn new(provider: P) -> Result<Self, ParameterError> {
        Ok(Parameters {
            provider,
            max_age: settings::max_age_from_env()?,
            values: Cache::default(),
            multiple: Cache::default(),
        })
    }

    /// Sets the default max age of the values read (a read may still ask for another).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The default max age.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The provider, for what only it offers (such as its request count).
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// Forgets every cached value: the next read of each fetches.
    pub fn clear_cache(&self) {
        self.values.clear();
        self.multiple.clear();
    }

    /// A read of one value; finish it with a transform (`.text()`, `.json()`, ...).
    pub fn get(&self, name: impl Into<P::Request>) -> Get<'_, P> {
        Get {
            parameters: self,
            request: name.into(),
            freshness: self.freshness(),
        }
    }

    /// A read of every value under one name (an SSM path, a DynamoDB partition); `.await`
    /// it for the [`Values`], keyed by what follows the name.
    pub fn get_multiple(&self, name: impl Into<P::Request>) -> GetMultiple<'_, P> {
        GetMultiple {
            parameters: self,
            request: name.into(),
            freshness: self.freshness(),
        }
    }

    /// A read of several values by name, each cached on its own; `.await` it for the
    /// [`Values`] (it fails if one fails), or
    /// [`collect_failures`](GetByName::collect_failures) to keep the others.
    pub fn get_by_name<I, N>(&self, names: I) -> GetByName<'_, P>
    where
        I: IntoIterator<Item = N>,
        N: Into<P::Request>,
    {
        GetByName {
            parameters: self,
            requests: names.into_iter().map(Into::into).collect(),
            freshness: self.freshness(),
        }
    }

    fn freshness(&self) -> Freshness {
        Freshness {
            max_age: self.max_age,
            force: false,
            stale_on_error: false,
        }
    }
}

/// How old a value a read accepts; shared by the three kinds of read.
macro_rules! freshness_options {
    () => {
        /// Accepts a cached value at most this old (instead of the provider's max age).
        pub fn max_age(mut self, max_age: Duration) -> Self {
            self.freshness.max_age = max_age;
            self
        }

        /// Fetches even if the cached value is young enough. Readers of the same key that
        /// arrive while the fetch runs take its answer rather than fetching again.
        pub fn force_fetch(mut self) -> Self {
            self.freshness.force = true;
            self
        }

        /// When the fetch fails for a transient reason (the store unreachable, slow,
        /// throttled or failing), serves the cached value however old, with a warning in
        /// the log, instead of the error. A value that is gone (not found) or forbidden is
        /// not served stale.
        pub fn serve_stale_on_error(mut self) -> Self {
            self.freshness.stale_on_error = true;
            self
        }
    };
}

/// A read of one value, built by [`Parameters::get`]; it runs when finished with a
/// transform.
#[derive(Debug)]
#[must_use = "a read does nothing until finished with a transform such as `.text().await`"]
pub struct Get<'a, P: Provider> {
    parameters: &'a Parameters<P>,
    request: P::Request,
    freshness: Freshness,
}

impl<P: Provider> Get<'_, P> {
    freshness_options!();

    /// The value as the store holds it.
    pub async fn value(self) -> Result<Value, ParameterError> {
        self.read().await
    }

    /// The value as text.
    pub async fn text(self) -> Result<String, ParameterError> {
        transform::text(self.name(), &self.read().await?)
    }

    /// The value as text that must not be logged.
    pub async fn secret(self) -> Result<Secret<String>, ParameterError> {
        self.text().await.map(Secret::new)
    }

    /// The value's bytes (a text value's UTF-8, or a binary value).
    pub async fn bytes(self) -> Result<Vec<u8>, ParameterError> {
        Ok(self.read().await?.as_bytes().to_vec())
    }

    /// The value decoded from base64 (a binary value comes back as it is).
    pub async fn base64(self) -> Result<Vec<u8>, ParameterError> {
        transform::base64(self.name(), &self.read().await?)
    }

    /// The value decoded from JSON into `T` (wrap fields, or `T` itself, in [`Secret`] to
    /// keep them out of logs).
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, ParameterError> {
        transform::json(self.name(), &self.read().await?)
    }

    /// The value transformed by its name's suffix, as Powertools' `auto`: `.json` decodes
    /// JSON, `.binary` decodes base64, anything else is left as it is.
    pub async fn auto(self) -> Result<Transformed, ParameterError> {
        transform::auto(self.name(), &self.read().await?)
    }

    fn name(&self) -> &str {
        P::name(&self.request)
    }

    /// The cached value, or the one fetched for this read.
    async fn read(&self) -> Result<Value, ParameterError> {
        let parameters = self.parameters;
        parameters
            .values
            .get(&self.request, self.name(), self.freshness, || {
                parameters.provider.fetch(&self.request)
            })
            .await
    }
}

impl<P: Provider<Request = SsmRequest>> Get<'_, P> {
    /// Whether a `SecureString` comes back decrypted (default:
    /// [`SSM_DECRYPT_ENV`](crate::SSM_DECRYPT_ENV), else `false`).
    pub fn decrypt(mut self, decrypt: bool) -> Self {
        self.request.decrypt = Some(decrypt);
        self
    }
}

impl<P: Provider<Request = SecretRequest>> Get<'_, P> {
    /// Reads the version with this staging label, such as `AWSPREVIOUS` (default:
    /// `AWSCURRENT`).
    pub fn version_stage(mut self, stage: impl Into<String>) -> Self {
        self.request.version_stage = Some(stage.into());
        self
    }

    /// Reads the version with this id.
    pub fn version_id(mut self, id: impl Into<String>) -> Self {
        self.request.version_id = Some(id.into());
        self
    }
}

/// The future of a read of several values.
pub type ValuesFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Values, ParameterError>> + Send + 'a>>;

/// A read of every value under one name, built by [`Parameters::get_multiple`]; `.await`
/// it.
#[derive(Debug)]
#[must_use = "a read does nothing until awaited"]
pub struct GetMultiple<'a, P: Provider> {
    parameters: &'a Parameters<P>,
    request: P::Request,
    freshness: Freshness,
}

impl<P: Provider> GetMultiple<'_, P> {
    freshness_options!();
}

impl<P: Provider<Request = SsmRequest>> GetMultiple<'_, P> {
    /// Whether `SecureString` values come back decrypted (default:
    /// [`SSM_DECRYPT_ENV`](crate::SSM_DECRYPT_ENV), else `false`).
    pub fn decrypt(mut self, decrypt: bool) -> Self {
        self.request.decrypt = Some(decrypt);
        self
    }

    /// Whether the whole subtree under the path is read (the default, as Powertools'
    /// `get_parameters`), or only its direct children.
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.request.recursive = recursive;
        self
    }
}

impl<'a, P: Provider> IntoFuture for GetMultiple<'a, P> {
    type Output = Result<Values, ParameterError>;
    type IntoFuture = ValuesFuture<'a>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let GetMultiple {
                parameters,
                request,
                freshness,
            } = self;
            let name = P::name(&request);
            parameters
                .multiple
                .get(&request, name, freshness, || {
                    parameters.provider.fetch_multiple(&request)
                })
                .await
        })
    }
}

/// A read of several values by name, built by [`Parameters::get_by_name`]. `.await` it
/// for all the values (the first failure fails it), or finish it with
/// [`collect_failures`](Self::collect_failures).
#[derive(Debug)]
#[must_use = "a read does nothing until awaited"]
pub struct GetByName<'a, P: Provider> {
    parameters: &'a Parameters<P>,
    requests: Vec<P::Request>,
    freshness: Freshness,
}

impl<P: Provider> GetByName<'_, P> {
    freshness_options!();

    /// Reads every name; those that fail are reported in [`ByName::failed`] without
    /// failing the others. Cached values are served without a call, and the rest are
    /// fetched together (SSM: `GetParameters`, ten names a call) and cached one by one. A
    /// batch does not wait for single reads of its names that are in flight, nor they for
    /// it: it is one call either way.
    pub async fn collect_failures(self) -> ByName {
        let GetByName {
            parameters,
            requests,
            freshness,
        } = self;
        let mut found = ByName::default();
        let mut missing = Vec::new();
        for request in requests {
            let cached = if freshness.force {
                None
            } else {
                parameters.values.fresh(&request, freshness.max_age)
            };
            match cached {
                Some(value) => found.values.insert(P::name(&request).to_owned(), value),
                None => missing.push(request),
            }
        }
        if missing.is_empty() {
            return found;
        }
        let results = parameters.provider.fetch_each(&missing).await;
        for (request, result) in missing.iter().zip(results) {
            let name = P::name(request).to_owned();
            match result {
                Ok(value) => {
                    parameters.values.insert(request, value.clone());
                    found.values.insert(name, value);
                }
                Err(error) => {
                    found.failed.insert(name, error);
                }
            }
        }
        found
    }
}

impl<P: Provider<Request = SsmRequest>> GetByName<'_, P> {
    /// Whether `SecureString` values come back decrypted, for every name.
    pub fn decrypt(mut self, decrypt: bool) -> Self {
        for request in &mut self.requests {
            request.decrypt = Some(decrypt);
        }
        self
    }
}

impl<'a, P: Provider> IntoFuture for GetByName<'a, P> {
    type Output = Result<Values, ParameterError>;
    type IntoFuture = ValuesFuture<'a>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let ByName { values, failed } = self.collect_failures().await;
            match failed.into_iter().next() {
                Some((_, error)) => Err(error),
                None => Ok(values),
            }
        })
    }
}
