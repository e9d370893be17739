//! SSM Parameter Store on the AWS SDK: one parameter, several by name (ten a call), all
//! under a path.

use std::collections::HashMap;

use aws_sdk_ssm::Client;

use crate::error::ParameterError;
use crate::parameters::Parameters;
use crate::provider::Provider;
use crate::request::SsmRequest;
use crate::sdk::{self, RoundTrips};
use crate::settings::{self, SSM_DECRYPT_ENV};
use crate::value::Value;
use crate::values::Values;

/// SSM Parameter Store values with a shared cache.
///
/// ```no_run
/// # async fn example() -> Result<(), lambda_kit_parameters::ParameterError> {
/// let ssm = lambda_kit_parameters::Ssm::from_env().await?;
/// let password = ssm.get("/app/db-password").decrypt(true).secret().await?;
/// let limits = ssm.get_by_name(["/app/rate", "/app/burst"]).await?;
/// let all = ssm.get_multiple("/app").recursive(true).await?; // keys relative to /app
/// # let _ = (password, limits, all); Ok(()) }
/// ```
///
/// The role needs `ssm:GetParameter`, `ssm:GetParameters` and `ssm:GetParametersByPath`
/// on the parameters read, and `kms:Decrypt` on the key of decrypted ones.
pub type Ssm = Parameters<SsmProvider>;

/// Fetches from SSM Parameter Store; wrapped in [`Ssm`] for the cache.
#[derive(Debug)]
pub struct SsmProvider {
    client: Client,
    decrypt: bool,
    round_trips: RoundTrips,
}

/// The most names `GetParameters` takes in one call.
pub const GET_PARAMETERS_MAX_NAMES: usize = 10;

impl SsmProvider {
    /// Fetches through `client` (its timeouts are kept where set; see the crate docs for
    /// the bounds otherwise). `SecureString` values come back decrypted by default when
    /// [`SSM_DECRYPT_ENV`] is true.
    pub fn new(client: &Client) -> Result<Self, ParameterError> {
        let round_trips = RoundTrips::default();
        Ok(SsmProvider {
            client: sdk::instrumented!(Client, client, round_trips),
            decrypt: settings::flag_from_env(SSM_DECRYPT_ENV, false)?,
            round_trips,
        })
    }

    /// How many HTTP requests this provider has sent.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    fn decrypt(&self, request: &SsmRequest) -> bool {
        request.decrypt.unwrap_or(self.decrypt)
    }

    /// One `GetParameters` call for up to ten names, one result per name.
    async fn fetch_batch(
        &self,
        batch: &[&SsmRequest],
        decrypt: bool,
    ) -> Vec<Result<Value, ParameterError>> {
        let names: Vec<String> = batch.iter().map(|request| request.name.clone()).collect();
        let answer = self
            .client
            .get_parameters()
            .set_names(Some(names))
            .with_decryption(decrypt)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) => {
                let error = sdk::classify(&batch[0].name, "GetParameters", error);
                return batch
                    .iter()
                    .map(|request| Err(error.for_name(&request.name)))
                    .collect();
            }
        };
        // Found parameters come back by name (plus `:version` or `:label` when the name
        // asked for one); the names that are not there, as `InvalidParameters`.
        let mut found: HashMap<String, Value> = HashMap::new();
        for parameter in output.parameters() {
            let name = parameter.name().unwrap_or_default();
            let asked = format!("{name}{}", parameter.selector().unwrap_or_default());
            let value = Value::from(parameter.value().unwrap_or_default());
            if let Some(arn) = parameter.arn() {
                found.insert(arn.to_owned(), value.clone());
            }
            found.insert(asked, value);
        }
        batch
            .iter()
            .map(|request| {
                found
                    .get(&request.name)
                    .cloned()
                    .ok_or_else(|| ParameterError::NotFound {
                        name: request.name.clone(),
                    })
            })
            .collect()
    }
}

impl Provider for SsmProvider {
    type Request = SsmRequest;
    const KIND: &'static str = "SSM";

    fn name(request: &SsmRequest) -> &str {
        &request.name
    }

    async fn fetch(&self, request: &SsmRequest) -> Result<Value, ParameterError> {
        let output = self
            .client
            .get_parameter()
            .name(&request.name)
            .with_decryption(self.decrypt(request))
            .send()
            .await
            .map_err(|error| sdk::classify(&request.name, "GetParameter", error))?;
        let value = output.parameter().and_then(|parameter| parameter.value());
        value
            .map(Value::from)
            .ok_or_else(|| ParameterError::NotFound {
                name: request.name.clone(),
            })
    }

    /// `GetParameters`, ten names a call, decrypted and plain names in separate calls.
    async fn fetch_each(&self, requests: &[SsmRequest]) -> Vec<Result<Value, ParameterError>> {
        // Each request is in exactly one group and each batch answers once per name, so
        // sorting the answers by request index gives one answer per request, in order.
        let mut answered = Vec::with_capacity(requests.len());
        for decrypt in [false, true] {
            let indices: Vec<usize> = (0..requests.len())
                .filter(|&index| self.decrypt(&requests[index]) == decrypt)
                .collect();
            for chunk in indices.chunks(GET_PARAMETERS_MAX_NAMES) {
                let batch: Vec<&SsmRequest> = chunk.iter().map(|&index| &requests[index]).collect();
                let answers = self.fetch_batch(&batch, decrypt).await;
                answered.extend(chunk.iter().copied().zip(answers));
            }
        }
        answered.sort_unstable_by_key(|(index, _)| *index);
        answered.into_iter().map(|(_, answer)| answer).collect()
    }

    /// `GetParametersByPath`, every page; names relative to the path, as Powertools
    /// returns them.
    async fn fetch_multiple(&self, request: &SsmRequest) -> Result<Values, ParameterError> {
        let path = &request.name;
        let mut pages = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(request.recursive)
            .with_decryption(self.decrypt(request))
            .into_paginator()
            .send();
        let mut values = Values::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| sdk::classify(path, "GetParametersByPath", error))?;
            for parameter in page.parameters() {
                let full = parameter.name().unwrap_or_default();
                let relative = full.strip_prefix(path.as_str()).unwrap_or(full);
                let value = Value::from(parameter.value().unwrap_or_default());
                values.insert(relative.trim_start_matches('/').to_owned(), value);
            }
        }
        Ok(values)
    }
}

sdk::sdk_constructors!(
    SsmProvider,
    Client,
    "SSM",
    "AWS_ENDPOINT_URL_SSM",
    |client| SsmProvider::new(client)?
);
