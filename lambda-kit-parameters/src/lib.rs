//! Parameters and secrets for AWS Lambda functions, fetched once and cached across
//! invocations: SSM Parameter Store, Secrets Manager, AppConfig and DynamoDB on the AWS
//! SDK for Rust, or SSM and Secrets Manager through the AWS Parameters and Secrets Lambda
//! Extension, with the semantics of Powertools for AWS Lambda's Parameters utility.
//!
//! | Provider | Feature | Reads |
//! |---|---|---|
//! | [`Ssm`] | `ssm` | one parameter (`GetParameter`), several by name (`GetParameters`, ten a call), all under a path (`GetParametersByPath`, recursive, paginated) |
//! | [`SecretsManager`] | `secrets` | string and binary secrets, by version stage or id (`GetSecretValue`) |
//! | [`AppConfig`] | `appconfig` | a configuration profile through the AppConfig Data API's session and poll tokens |
//! | [`DynamoDb`] | `dynamodb` | Powertools' table shape: `id` and `value`, or several values under one `id` with a sort key `sk` |
//! | [`ExtensionSsm`], [`ExtensionSecrets`] | `extension` | the same SSM and secret reads over the extension's HTTP interface on `localhost:2773` |
//!
//! Build a provider once in `init`; every invocation reads through its cache:
//!
//! ```no_run
//! # #[cfg(all(feature = "ssm", feature = "secrets"))] mod example {
//! use lambda_kit::{Context, Error};
//! use lambda_kit_parameters::{SecretsManager, Ssm};
//!
//! struct State {
//!     ssm: Ssm,
//!     secrets: SecretsManager,
//! }
//!
//! async fn setup() -> Result<State, Error> {
//!     let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//!     Ok(State { ssm: Ssm::from_conf(&aws)?, secrets: SecretsManager::from_conf(&aws)? })
//! }
//!
//! #[lambda_kit::handler(init = setup)]
//! async fn handler(_event: serde_json::Value, _ctx: Context, state: &State) -> Result<String, Error> {
//!     let db_url = state.secrets.get("prod/db-url").secret().await.map_err(Error::from_diagnostic)?;
//!     let level = state.ssm.get("/app/log-level").text().await.map_err(Error::from_diagnostic)?;
//!     Ok(format!("{level}: {} bytes of URL", db_url.expose().len()))
//! }
//! # }
//! ```
//!
//! - **Cache.** Shared by all invocations of the environment and safe to read from many
//!   at once (Lambda Managed Instances): when several find a value expired, one fetches
//!   and the others take its answer. Each value is served for its max age, 5 seconds by
//!   default ([`DEFAULT_MAX_AGE`]; [`MAX_AGE_ENV`] sets another), and a read can ask for
//!   another age ([`Get::max_age`]), a forced refresh ([`Get::force_fetch`]) or the cached
//!   value when the refresh fails ([`Get::serve_stale_on_error`]).
//! - **Transforms.** [`Get::text`], [`Get::json`] into any `DeserializeOwned` type,
//!   [`Get::base64`], [`Get::bytes`], and Powertools' `auto` ([`Get::auto`]: by the name's
//!   `.json` or `.binary` suffix).
//! - **Errors.** [`ParameterError`], one errorType per case (`Parameters.NotFound`,
//!   `Parameters.AccessDenied`, ...; see [`error_type`]). Errors name the parameter and
//!   never carry its value.
//! - **Secrets stay out of logs.** [`Secret`] prints `***`; [`Value`], [`Values`] and
//!   [`Transformed`] print kinds and lengths; transform errors say where decoding stopped,
//!   not what the text was.
//! - **Own stores.** Implement [`Provider`] and wrap it in [`Parameters`] for the same cache
//!   and transforms.
//!
//! SDK providers bound each call: 1 s to connect, 2 s per attempt, 3 s in all with
//! retries, unless the SDK client passed in sets its own timeouts.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod error;
mod parameters;
mod provider;
mod request;
mod secret;
mod settings;
mod transform;
mod value;
mod values;

#[cfg(feature = "appconfig")]
#[cfg_attr(docsrs, doc(cfg(feature = "appconfig")))]
pub mod appconfig;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub mod dynamodb;
#[cfg(feature = "extension")]
#[cfg_attr(docsrs, doc(cfg(feature = "extension")))]
pub mod extension;
#[cfg(any(
    feature = "ssm",
    feature = "secrets",
    feature = "appconfig",
    feature = "dynamodb"
))]
mod sdk;
#[cfg(feature = "secrets")]
#[cfg_attr(docsrs, doc(cfg(feature = "secrets")))]
pub mod secrets;
#[cfg(feature = "ssm")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssm")))]
pub mod ssm;

pub use error::{ParameterError, error_type};
pub use parameters::{Get, GetByName, GetMultiple, Parameters, ValuesFuture};
pub use provider::Provider;
pub use request::{SecretRequest, SsmRequest};
pub use secret::Secret;
pub use settings::{DEFAULT_MAX_AGE, MAX_AGE_ENV, SSM_DECRYPT_ENV};
pub use transform::Transformed;
pub use value::Value;
pub use values::{ByName, Values};

#[cfg(feature = "appconfig")]
pub use appconfig::AppConfig;
#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoDb;
#[cfg(feature = "extension")]
pub use extension::{ExtensionSecrets, ExtensionSsm};
#[cfg(feature = "secrets")]
pub use secrets::SecretsManager;
#[cfg(feature = "ssm")]
pub use ssm::Ssm;
