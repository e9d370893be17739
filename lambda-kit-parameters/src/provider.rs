//! What a store of parameters implements: fetch one value, and optionally several.
//! [`Parameters`](crate::Parameters) adds the cache and the transforms on top.

use std::fmt;
use std::hash::Hash;

use crate::error::ParameterError;
use crate::value::Value;
use crate::values::Values;

/// A store of values: SSM Parameter Store, Secrets Manager, AppConfig, a DynamoDB table,
/// the Parameters and Secrets extension, or a store of the function's own.
///
/// A provider only fetches; [`Parameters`](crate::Parameters) caches what it fetches, so
/// `fetch` is called only when the cache has no young enough value.
///
/// ```
/// use lambda_kit_parameters::{ParameterError, Parameters, Provider, Value};
///
/// /// Values from environment variables, for a local run.
/// struct FromEnv;
///
/// impl Provider for FromEnv {
///     type Request = String;
///     const KIND: &'static str = "environment";
///
///     fn name(request: &String) -> &str {
///         request
///     }
///
///     async fn fetch(&self, name: &String) -> Result<Value, ParameterError> {
///         std::env::var(name)
///             .map(Value::from)
///             .map_err(|_| ParameterError::NotFound { name: name.clone() })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), ParameterError> {
/// let parameters = Parameters::new(FromEnv)?;
/// let missing = parameters.get("NO_SUCH_VARIABLE").text().await;
/// assert!(matches!(missing, Err(ParameterError::NotFound { .. })));
/// # Ok(()) }
/// ```
pub trait Provider: Send + Sync + 'static {
    /// What names one value, with whatever else changes the answer (a version, whether to
    /// decrypt): the cache key.
    type Request: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static;

    /// The provider's name in errors, such as `SSM`.
    const KIND: &'static str;

    /// The name in `request`, for errors and logs.
    fn name(request: &Self::Request) -> &str;

    /// Fetches one value.
    fn fetch(
        &self,
        request: &Self::Request,
    ) -> impl Future<Output = Result<Value, ParameterError>> + Send;

    /// Fetches several values, one result per request in the same order. By default one
    /// [`fetch`](Self::fetch) after the other; providers whose API reads several at once
    /// (SSM's `GetParameters`) batch them.
    fn fetch_each(
        &self,
        requests: &[Self::Request],
    ) -> impl Future<Output = Vec<Result<Value, ParameterError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(requests.len());
            for request in requests {
                results.push(self.fetch(request).await);
            }
            results
        }
    }

    /// Fetches every value under one name (an SSM path, a DynamoDB partition), keyed by
    /// what follows that name. By default the provider cannot.
    fn fetch_multiple(
        &self,
        request: &Self::Request,
    ) -> impl Future<Output = Result<Values, ParameterError>> + Send {
        let _ = request;
        async {
            Err(ParameterError::Unsupported {
                what: "reading several values under one name".to_owned(),
                provider: Self::KIND,
            })
        }
    }
}
