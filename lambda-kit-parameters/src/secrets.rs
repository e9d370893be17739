//! Secrets Manager on the AWS SDK: string and binary secrets, by version stage or id.

use aws_sdk_secretsmanager::Client;

use crate::error::ParameterError;
use crate::parameters::Parameters;
use crate::provider::Provider;
use crate::request::SecretRequest;
use crate::sdk::{self, RoundTrips};
use crate::value::Value;

/// Secrets Manager secrets with a shared cache.
///
/// ```no_run
/// # async fn example() -> Result<(), lambda_kit_parameters::ParameterError> {
/// use lambda_kit_parameters::{SecretsManager, Secret};
///
/// #[derive(serde::Deserialize)]
/// struct Database {
///     host: String,
///     password: Secret<String>,
/// }
///
/// let secrets = SecretsManager::from_env().await?;
/// let db: Database = secrets.get("prod/db").json().await?;
/// let previous = secrets.get("prod/api-key").version_stage("AWSPREVIOUS").secret().await?;
/// # let _ = (db, previous); Ok(()) }
/// ```
///
/// The role needs `secretsmanager:GetSecretValue` on the secrets read (and `kms:Decrypt`
/// on a customer-managed key). Secrets change rarely and are priced per call: a longer
/// max age ([`Parameters::with_max_age`]) is usual.
pub type SecretsManager = Parameters<SecretsProvider>;

/// Fetches from Secrets Manager; wrapped in [`SecretsManager`] for the cache.
#[derive(Debug)]
pub struct SecretsProvider {
    client: Client,
    round_trips: RoundTrips,
}

impl SecretsProvider {
    /// Fetches through `client` (its timeouts are kept where set).
    pub fn new(client: &Client) -> Self {
        let round_trips = RoundTrips::default();
        SecretsProvider {
            client: sdk::instrumented!(Client, client, round_trips),
            round_trips,
        }
    }

    /// How many HTTP requests this provider has sent.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }
}

impl Provider for SecretsProvider {
    type Request = SecretRequest;
    const KIND: &'static str = "Secrets Manager";

    fn name(request: &SecretRequest) -> &str {
        &request.id
    }

    async fn fetch(&self, request: &SecretRequest) -> Result<Value, ParameterError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&request.id)
            .set_version_stage(request.version_stage.clone())
            .set_version_id(request.version_id.clone())
            .send()
            .await
            .map_err(|error| sdk::classify(&request.id, "GetSecretValue", error))?;
        if let Some(text) = output.secret_string() {
            return Ok(Value::from(text));
        }
        match output.secret_binary() {
            Some(blob) => Ok(Value::Binary(blob.as_ref().into())),
            None => Err(ParameterError::NotFound {
                name: request.id.clone(),
            }),
        }
    }
}

sdk::sdk_constructors!(
    SecretsProvider,
    Client,
    "Secrets Manager",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    |client| SecretsProvider::new(client)
);
