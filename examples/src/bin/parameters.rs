//! Configuration and a secret, fetched once and cached across invocations.
//!
//! `setup` builds an SSM and a Secrets Manager provider from the environment, once per
//! execution environment. Each invocation reads the database URL from Secrets Manager
//! (cached for an hour: secrets change rarely and are priced per call) and the log level
//! from SSM Parameter Store (cached for the default 5 seconds, so a change shows within
//! seconds). A missing value fails the invocation with `Parameters.NotFound`, and the
//! function keeps serving.
//!
//! - `DATABASE_SECRET`: the secret's name (default `prod/db-url`).
//! - `LOG_LEVEL_PARAMETER`: the parameter's name (default `/app/log-level`).
//!
//! Against moto's server (`source scripts/test-servers.sh` starts one), after storing the
//! two values:
//!
//! ```sh
//! AWS_ENDPOINT_URL=$LAMBDA_KIT_TEST_MOTO_URL AWS_REGION=us-east-1 \
//! AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//!     cargo run -p examples --features parameters --bin parameters -- --event '{}'
//! ```
//!
//! The role needs `secretsmanager:GetSecretValue` and `ssm:GetParameter` on the two.

use std::time::Duration;

use lambda_kit::Context;
use lambda_kit_parameters::{ParameterError, SecretsManager, Ssm};
use serde::Serialize;

/// What every invocation shares: the providers (with their cache) and the names.
struct Config {
    ssm: Ssm,
    secrets: SecretsManager,
    database_secret: String,
    log_level_parameter: String,
}

async fn setup() -> Result<Config, ParameterError> {
    // One AWS configuration (region, credentials, endpoint) for both clients.
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    Ok(Config {
        ssm: Ssm::from_conf(&aws)?,
        secrets: SecretsManager::from_conf(&aws)?,
        database_secret: env("DATABASE_SECRET", "prod/db-url"),
        log_level_parameter: env("LOG_LEVEL_PARAMETER", "/app/log-level"),
    })
}

/// What the function answers: what it would connect to, without the credentials.
#[derive(Serialize)]
struct Status {
    database_host: String,
    log_level: String,
}

#[lambda_kit::handler(init = setup)]
async fn handler(
    _event: serde_json::Value,
    _ctx: Context,
    config: &Config,
) -> Result<Status, ParameterError> {
    let database_url = config
        .secrets
        .get(&config.database_secret)
        .max_age(Duration::from_secs(3600))
        .secret()
        .await?;
    let log_level = config.ssm.get(&config.log_level_parameter).text().await?;
    tracing::info!(%log_level, secret = ?database_url, "configuration read");
    Ok(Status {
        database_host: host_of(database_url.expose()),
        log_level,
    })
}

/// `host` of `scheme://user:password@host:port/path`.
fn host_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let after_credentials = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, rest)| rest);
    let host_port = after_credentials.split('/').next().unwrap_or_default();
    host_port.split(':').next().unwrap_or_default().to_owned()
}
