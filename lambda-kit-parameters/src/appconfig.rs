//! AppConfig through the AppConfig Data API: a session per configuration profile, a new
//! poll token after every read, and the poll interval the service asks for.
//!
//! - `StartConfigurationSession` once per profile gives the first token;
//!   `GetLatestConfiguration` with it gives the configuration and the next token (tokens
//!   are single-use) and the interval before the next poll.
//! - An empty configuration in the answer means "unchanged since your last poll": the
//!   value read before is kept.
//! - Before the interval has passed, a read is served the last value with no call (the
//!   service would refuse the poll), even when forced.
//! - A token the service no longer takes (expired after 24 hours, say) starts a new
//!   session once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_appconfigdata::Client;

use crate::error::ParameterError;
use crate::parameters::Parameters;
use crate::provider::Provider;
use crate::sdk::{self, RoundTrips};
use crate::value::Value;

/// AppConfig configurations of one application and environment, by configuration
/// profile, with a shared cache.
///
/// ```no_run
/// # async fn example() -> Result<(), lambda_kit_parameters::ParameterError> {
/// #[derive(serde::Deserialize)]
/// struct Features {
///     new_checkout: bool,
/// }
///
/// let appconfig = lambda_kit_parameters::AppConfig::from_env("shop", "prod").await?;
/// let features: Features = appconfig.get("features").json().await?;
/// # let _ = features; Ok(()) }
/// ```
///
/// The role needs `appconfig:StartConfigurationSession` and
/// `appconfig:GetLatestConfiguration`.
pub type AppConfig = Parameters<AppConfigProvider>;

/// Fetches from AppConfig; wrapped in [`AppConfig`] for the cache.
#[derive(Debug)]
pub struct AppConfigProvider {
    client: Client,
    application: String,
    environment: String,
    minimum_poll_interval: Option<i32>,
    sessions: Mutex<HashMap<String, Session>>,
    round_trips: RoundTrips,
}

/// Where one profile's polling stands.
#[derive(Debug, Default)]
struct Session {
    /// The token for the next poll (`None` before the first session).
    token: Option<String>,
    /// No poll before this.
    next_poll: Option<Instant>,
    /// The configuration last received.
    last: Option<Value>,
}

impl AppConfigProvider {
    /// Reads `application`'s configurations in `environment` (names or ids) through
    /// `client` (its timeouts are kept where set).
    pub fn new(
        client: &Client,
        application: impl Into<String>,
        environment: impl Into<String>,
    ) -> Self {
        let round_trips = RoundTrips::default();
        AppConfigProvider {
            client: sdk::instrumented!(Client, client, round_trips),
            application: application.into(),
            environment: environment.into(),
            minimum_poll_interval: None,
            sessions: Mutex::new(HashMap::new()),
            round_trips,
        }
    }

    /// Asks the service to answer polls no more often than this (15 s to 24 h; sent as
    /// `RequiredMinimumPollIntervalInSeconds` when a session starts).
    #[must_use]
    pub fn minimum_poll_interval(mut self, interval: Duration) -> Self {
        self.minimum_poll_interval = Some(i32::try_from(interval.as_secs()).unwrap_or(i32::MAX));
        self
    }

    /// How many HTTP requests this provider has sent.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn start_session(&self, profile: &str) -> Result<String, ParameterError> {
        let output = self
            .client
            .start_configuration_session()
            .application_identifier(&self.application)
            .environment_identifier(&self.environment)
            .configuration_profile_identifier(profile)
            .set_required_minimum_poll_interval_in_seconds(self.minimum_poll_interval)
            .send()
            .await
            .map_err(|error| sdk::classify(profile, "StartConfigurationSession", error))?;
        output
            .initial_configuration_token()
            .map(str::to_owned)
            .ok_or_else(|| ParameterError::Service {
                name: profile.to_owned(),
                code: "MissingToken".to_owned(),
                message: "StartConfigurationSession answered without a token".to_owned(),
            })
    }

    /// One `GetLatestConfiguration`: the configuration (`None` if unchanged), the next
    /// token and the interval before the next poll.
    async fn poll(
        &self,
        profile: &str,
        token: &str,
    ) -> Result<(Option<Vec<u8>>, Option<String>, Duration), ParameterError> {
        let output = self
            .client
            .get_latest_configuration()
            .configuration_token(token)
            .send()
            .await
            .map_err(|error| sdk::classify(profile, "GetLatestConfiguration", error))?;
        let interval = u64::try_from(output.next_poll_interval_in_seconds()).unwrap_or(0);
        let configuration = output
            .configuration()
            .map(|blob| blob.as_ref().to_vec())
            .filter(|bytes| !bytes.is_empty());
        let next = output.next_poll_configuration_token().map(str::to_owned);
        Ok((configuration, next, Duration::from_secs(interval)))
    }
}

impl Provider for AppConfigProvider {
    type Request = String;
    const KIND: &'static str = "AppConfig";

    fn name(profile: &String) -> &str {
        profile
    }

    async fn fetch(&self, profile: &String) -> Result<Value, ParameterError> {
        // The cache lets one reader per profile fetch at a time, so the session is not
        // used by two polls at once.
        let (token, last) = {
            let sessions = self.sessions();
            let session = sessions.get(profile);
            let last = session.and_then(|session| session.last.clone());
            if let (Some(last), Some(next_poll)) =
                (&last, session.and_then(|session| session.next_poll))
            {
                if Instant::now() < next_poll {
                    return Ok(last.clone());
                }
            }
            (session.and_then(|session| session.token.clone()), last)
        };
        let answer = match token {
            Some(token) => match self.poll(profile, &token).await {
                // The token is no longer good (expired, or used by a process that shared
                // the state): a new session, once.
                Err(ParameterError::Service { code, .. }) if code == "BadRequestException" => {
                    let token = self.start_session(profile).await?;
                    self.poll(profile, &token).await?
                }
                answer => answer?,
            },
            None => {
                let token = self.start_session(profile).await?;
                self.poll(profile, &token).await?
            }
        };
        let (configuration, next_token, interval) = answer;
        let value = match configuration {
            Some(bytes) => Value::from_bytes(bytes),
            None => last.unwrap_or_else(|| Value::from("")),
        };
        let mut sessions = self.sessions();
        let session = sessions.entry(profile.clone()).or_default();
        session.token = next_token;
        session.next_poll = Some(Instant::now() + interval);
        session.last = Some(value.clone());
        Ok(value)
    }
}

impl Parameters<AppConfigProvider> {
    /// `application`'s configurations in `environment`, with a client configured from the
    /// environment (region, credentials, `AWS_ENDPOINT_URL_APPCONFIGDATA` or
    /// `AWS_ENDPOINT_URL`).
    pub async fn from_env(
        application: impl Into<String>,
        environment: impl Into<String>,
    ) -> Result<Self, ParameterError> {
        let config = sdk::load_config().await;
        let client = Client::new(&config);
        Parameters::new(AppConfigProvider::new(&client, application, environment))
    }
}
