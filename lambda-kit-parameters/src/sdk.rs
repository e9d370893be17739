//! What the four providers on the AWS SDK share: the timeouts a Lambda function needs,
//! a request counter, and the reading of SDK errors as [`ParameterError`]s.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::error::ParameterError;

/// How long connecting may take, when the client passed in does not say.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one HTTP request may take, when the client passed in does not say.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a read may take in all, retries included, when the client passed in does not
/// say: the SDK sets no bound of its own, and a stalled endpoint would otherwise hold the
/// invocation until Lambda ends it.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// The client's own timeouts where it has them, the bounds above where it has not.
pub(crate) fn timeouts(configured: Option<&TimeoutConfig>) -> TimeoutConfig {
    let pick = |own: Option<Duration>, default: Duration| own.unwrap_or(default);
    let builder = TimeoutConfig::builder()
        .connect_timeout(pick(
            configured.and_then(TimeoutConfig::connect_timeout),
            CONNECT_TIMEOUT,
        ))
        .operation_attempt_timeout(pick(
            configured.and_then(TimeoutConfig::operation_attempt_timeout),
            ATTEMPT_TIMEOUT,
        ))
        .operation_timeout(pick(
            configured.and_then(TimeoutConfig::operation_timeout),
            OPERATION_TIMEOUT,
        ));
    match configured.and_then(TimeoutConfig::read_timeout) {
        Some(read) => builder.read_timeout(read).build(),
        None => builder.build(),
    }
}

/// `$client` (an SDK client) rebuilt with [`timeouts`] and with `$round_trips` counting
/// its requests. A macro because every SDK crate has its own `Client` and `Config` types,
/// with the same methods but no trait in common.
macro_rules! instrumented {
    ($client_type:ty, $client:expr, $round_trips:expr) => {{
        let config = $client.config();
        let config = config
            .to_builder()
            .timeout_config($crate::sdk::timeouts(config.timeout_config()))
            .interceptor($round_trips.interceptor())
            .build();
        <$client_type>::from_conf(config)
    }};
}
pub(crate) use instrumented;

/// `from_env`, `from_conf` and `from_client` for `Parameters<$provider>`; `|client| ..`
/// builds the provider from a `&$client_type` (in a function that returns
/// `Result<_, ParameterError>`). `$endpoint_variable` is the service's own endpoint
/// variable, for the docs.
#[cfg(any(feature = "ssm", feature = "secrets"))]
macro_rules! sdk_constructors {
    (
        $provider:ty,
        $client_type:ty,
        $service:literal,
        $endpoint_variable:literal,
        |$client:ident| $build:expr
    ) => {
        impl $crate::parameters::Parameters<$provider> {
            #[doc = concat!(
                        $service, " with a client configured from the environment: region and ",
                        "credentials as every AWS SDK reads them, and `", $endpoint_variable,
                        "` or `AWS_ENDPOINT_URL` for another endpoint."
                    )]
            pub async fn from_env() -> Result<Self, $crate::error::ParameterError> {
                Self::from_conf(&$crate::sdk::load_config().await)
            }

            #[doc = concat!($service, " with a client from `config` (share one across providers).")]
            pub fn from_conf(
                config: &aws_config::SdkConfig,
            ) -> Result<Self, $crate::error::ParameterError> {
                Self::from_client(&<$client_type>::new(config))
            }

            #[doc = concat!($service, " through `client`.")]
            pub fn from_client(
                $client: &$client_type,
            ) -> Result<Self, $crate::error::ParameterError> {
                $crate::parameters::Parameters::new($build)
            }
        }
    };
}
#[cfg(any(feature = "ssm", feature = "secrets"))]
pub(crate) use sdk_constructors;

/// Counts the HTTP requests a client sends (retries included): the providers'
/// `round_trips()`, for tests and for the function's own metrics.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoundTrips(Arc<AtomicU64>);

impl RoundTrips {
    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// The interceptor that counts for this counter.
    pub(crate) fn interceptor(&self) -> CountRequests {
        CountRequests(self.clone())
    }
}

/// Counts each HTTP request the client is about to send.
#[derive(Debug)]
pub(crate) struct CountRequests(RoundTrips);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        (self.0).0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Error codes that mean the value is not there.
const NOT_FOUND: &[&str] = &[
    "ParameterNotFound",
    "ParameterVersionNotFound",
    "ParameterVersionLabelNotFound",
    "ResourceNotFoundException",
];
const ACCESS_DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
];
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];
const DECRYPTION_FAILED: &[&str] = &["DecryptionFailure", "InvalidKeyId"];

/// Reads an SDK error about parameter `name` as a [`ParameterError`].
pub(crate) fn classify<E, R>(name: &str, operation: &str, error: SdkError<E, R>) -> ParameterError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let Some(service) = error.as_service_error() else {
        // Not an answer: the request could not be sent, timed out, or the answer was not
        // readable.
        let message = format!("{operation}: {}", DisplayErrorContext(&error));
        return ParameterError::unavailable(name, message, error);
    };
    let code = service.code().unwrap_or("Unknown").to_owned();
    let message = service.message().unwrap_or_default().to_owned();
    let name = name.to_owned();
    let is = |codes: &[&str]| codes.contains(&code.as_str());
    if is(NOT_FOUND) {
        ParameterError::NotFound { name }
    } else if is(ACCESS_DENIED) {
        ParameterError::AccessDenied { name, message }
    } else if is(THROTTLED) {
        ParameterError::Throttled { name }
    } else if is(DECRYPTION_FAILED) {
        ParameterError::DecryptionFailed { name, message }
    } else {
        ParameterError::Service {
            name,
            code,
            message,
        }
    }
}

/// The AWS configuration from the environment (region, credentials, endpoint overrides),
/// as every AWS SDK reads it.
pub(crate) async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

#[cfg(all(test, feature = "ssm"))]
mod tests {
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn answered(code: &str) -> ParameterError {
        let metadata = ErrorMetadata::builder().code(code).message("said").build();
        let response = Response::new(
            StatusCode::try_from(400).expect("a status"),
            SdkBody::empty(),
        );
        let error = SdkError::service_error(GetParameterError::generic(metadata), response);
        classify("/app/p", "GetParameter", error)
    }

    #[test]
    fn each_code_is_read_as_its_kind() {
        for code in NOT_FOUND {
            assert!(
                matches!(answered(code), ParameterError::NotFound { .. }),
                "{code}"
            );
        }
        for code in ACCESS_DENIED {
            assert!(
                matches!(answered(code), ParameterError::AccessDenied { .. }),
                "{code}"
            );
        }
        for code in THROTTLED {
            assert!(
                matches!(answered(code), ParameterError::Throttled { .. }),
                "{code}"
            );
        }
        for code in DECRYPTION_FAILED {
            let error = answered(code);
            assert!(
                matches!(error, ParameterError::DecryptionFailed { .. }),
                "{code}"
            );
            assert_eq!(error.error_type(), "Parameters.DecryptionFailed");
        }
        let other = answered("ValidationException");
        assert!(
            matches!(&other, ParameterError::Service { code, .. } if code == "ValidationException")
        );
        assert_eq!(other.name(), Some("/app/p"));
    }

    #[test]
    fn timeouts_fall_back_to_the_bounds_only_where_the_client_has_none() {
        let own = TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(9))
            .read_timeout(Duration::from_secs(4))
            .build();
        let merged = timeouts(Some(&own));
        assert_eq!(merged.operation_timeout(), Some(Duration::from_secs(9)));
        assert_eq!(merged.read_timeout(), Some(Duration::from_secs(4)));
        assert_eq!(merged.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(merged.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(timeouts(None).operation_timeout(), Some(OPERATION_TIMEOUT));
    }
}
