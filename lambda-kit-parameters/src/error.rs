//! The one error type of parameters, and the errorTypes Lambda reports for it.
//!
//! Every variant names the parameter (or the environment variable) it is about and never
//! its value: an error may end in a log line, a span or an invocation's error body, and a
//! value may be a secret. For the same reason a transform failure reports where in the
//! value decoding stopped (a serde path, a line and column, a byte offset), not the
//! offending text.

use std::borrow::Cow;
use std::error::Error as StdError;

use lambda_kit::Diagnostic;

/// Why a parameter could not be read.
///
/// The errorType Lambda reports for each variant is in [`error_type`]: a handler that
/// returns `Result<_, ParameterError>` gets it through [`Diagnostic`]; one that returns
/// `lambda_kit::Error` keeps it with `.map_err(lambda_kit::Error::from_diagnostic)?` (a
/// bare `?` reports the errorType `ParameterError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParameterError {
    /// The store has no value under this name (or not the version asked for).
    #[error("parameter {name} not found")]
    NotFound {
        /// The parameter's name (or secret id, or configuration profile).
        name: String,
    },
    /// The function's role may not read it (or the key that encrypts it).
    #[error("access to parameter {name} denied: {message}")]
    AccessDenied {
        /// The parameter's name.
        name: String,
        /// What the service said.
        message: String,
    },
    /// The service refused the call for its rate; a later call may succeed.
    #[error("reading parameter {name} was throttled")]
    Throttled {
        /// The parameter's name.
        name: String,
    },
    /// The value is stored encrypted and could not be decrypted (KMS).
    #[error("parameter {name} could not be decrypted: {message}")]
    DecryptionFailed {
        /// The parameter's name.
        name: String,
        /// What the service said.
        message: String,
    },
    /// The value was read but is not what the transform expects (not JSON of the asked
    /// type, not base64, not UTF-8).
    #[error("parameter {name} is not {expected}: {detail}")]
    TransformFailed {
        /// The parameter's name.
        name: String,
        /// What the transform expected, such as `JSON for my_app::Settings` or `base64`.
        expected: String,
        /// Where decoding stopped (a serde path, a line and column, an offset), without
        /// the value's text.
        detail: String,
    },
    /// The service could not be reached in time: connection refused or reset, or a
    /// timeout. The function may serve a cached value instead (see
    /// [`Get::serve_stale_on_error`](crate::Get::serve_stale_on_error)).
    #[error("parameter {name} could not be read: {message}")]
    Unavailable {
        /// The parameter's name.
        name: String,
        /// What failed, in words.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    },
    /// The service answered with another error.
    #[error("reading parameter {name} failed: {code}: {message}")]
    Service {
        /// The parameter's name.
        name: String,
        /// The service's error code, such as `ValidationException`.
        code: String,
        /// What the service said.
        message: String,
    },
    /// The provider cannot do this (such as reading a whole path through the extension,
    /// whose HTTP interface reads one parameter at a time).
    #[error("{what} is not supported by the {provider} provider")]
    Unsupported {
        /// What was asked for.
        what: String,
        /// The provider.
        provider: &'static str,
    },
    /// An environment variable the provider reads has a value it cannot use.
    #[error("{variable}={value:?} cannot be used: {reason}")]
    ConfigInvalid {
        /// The variable.
        variable: &'static str,
        /// Its value (configuration, not a secret).
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },
}

/// The errorTypes of [`ParameterError`], as Lambda reports them.
pub mod error_type {
    /// [`ParameterError::NotFound`](super::ParameterError::NotFound).
    pub const NOT_FOUND: &str = "Parameters.NotFound";
    /// [`ParameterError::AccessDenied`](super::ParameterError::AccessDenied).
    pub const ACCESS_DENIED: &str = "Parameters.AccessDenied";
    /// [`ParameterError::Throttled`](super::ParameterError::Throttled).
    pub const THROTTLED: &str = "Parameters.Throttled";
    /// [`ParameterError::DecryptionFailed`](super::ParameterError::DecryptionFailed).
    pub const DECRYPTION_FAILED: &str = "Parameters.DecryptionFailed";
    /// [`ParameterError::TransformFailed`](super::ParameterError::TransformFailed).
    pub const TRANSFORM_FAILED: &str = "Parameters.TransformFailed";
    /// [`ParameterError::Unavailable`](super::ParameterError::Unavailable).
    pub const UNAVAILABLE: &str = "Parameters.Unavailable";
    /// [`ParameterError::Service`](super::ParameterError::Service).
    pub const SERVICE: &str = "Parameters.ServiceError";
    /// [`ParameterError::Unsupported`](super::ParameterError::Unsupported).
    pub const UNSUPPORTED: &str = "Parameters.Unsupported";
    /// [`ParameterError::ConfigInvalid`](super::ParameterError::ConfigInvalid).
    pub const CONFIG_INVALID: &str = "Parameters.ConfigInvalid";
}

impl ParameterError {
    /// The errorType Lambda reports, such as `Parameters.NotFound`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ParameterError::NotFound { .. } => error_type::NOT_FOUND,
            ParameterError::AccessDenied { .. } => error_type::ACCESS_DENIED,
            ParameterError::Throttled { .. } => error_type::THROTTLED,
            ParameterError::DecryptionFailed { .. } => error_type::DECRYPTION_FAILED,
            ParameterError::TransformFailed { .. } => error_type::TRANSFORM_FAILED,
            ParameterError::Unavailable { .. } => error_type::UNAVAILABLE,
            ParameterError::Service { .. } => error_type::SERVICE,
            ParameterError::Unsupported { .. } => error_type::UNSUPPORTED,
            ParameterError::ConfigInvalid { .. } => error_type::CONFIG_INVALID,
        }
    }

    /// The parameter the error is about (`None` for a configuration error).
    pub fn name(&self) -> Option<&str> {
        match self {
            ParameterError::NotFound { name }
            | ParameterError::AccessDenied { name, .. }
            | ParameterError::Throttled { name }
            | ParameterError::DecryptionFailed { name, .. }
            | ParameterError::TransformFailed { name, .. }
            | ParameterError::Unavailable { name, .. }
            | ParameterError::Service { name, .. } => Some(name),
            ParameterError::Unsupported { .. } | ParameterError::ConfigInvalid { .. } => None,
        }
    }

    /// Whether a stale cached value may stand in for a fresh one: the store could not be
    /// asked (unreachable, throttled, failing), as opposed to answering that the value is
    /// gone or forbidden.
    pub fn is_transient(&self) -> bool {
        match self {
            ParameterError::Unavailable { .. } | ParameterError::Throttled { .. } => true,
            ParameterError::Service { code, .. } => {
                code.starts_with("Internal") || code == "ServiceUnavailable"
            }
            _ => false,
        }
    }

    /// An [`Unavailable`](ParameterError::Unavailable) error with its cause.
    #[cfg_attr(
        not(any(
            feature = "ssm",
            feature = "secrets",
            feature = "appconfig",
            feature = "dynamodb",
            feature = "extension"
        )),
        allow(dead_code)
    )]
    pub(crate) fn unavailable(
        name: &str,
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        ParameterError::Unavailable {
            name: name.to_owned(),
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The same failure about another parameter (one call read several): the kind and
    /// words are kept, the source is not (it cannot be shared).
    #[cfg_attr(not(feature = "ssm"), allow(dead_code))]
    pub(crate) fn for_name(&self, other: &str) -> Self {
        let name = other.to_owned();
        match self {
            ParameterError::NotFound { .. } => ParameterError::NotFound { name },
            ParameterError::AccessDenied { message, .. } => ParameterError::AccessDenied {
                name,
                message: message.clone(),
            },
            ParameterError::Throttled { .. } => ParameterError::Throttled { name },
            ParameterError::DecryptionFailed { message, .. } => ParameterError::DecryptionFailed {
                name,
                message: message.clone(),
            },
            ParameterError::TransformFailed {
                expected, detail, ..
            } => ParameterError::transform(other, expected.clone(), detail.clone()),
            ParameterError::Unavailable { message, .. } => ParameterError::Unavailable {
                name,
                message: message.clone(),
                source: None,
            },
            ParameterError::Service { code, message, .. } => ParameterError::Service {
                name,
                code: code.clone(),
                message: message.clone(),
            },
            ParameterError::Unsupported { what, provider } => ParameterError::Unsupported {
                what: what.clone(),
                provider,
            },
            ParameterError::ConfigInvalid {
                variable,
                value,
                reason,
            } => ParameterError::ConfigInvalid {
                variable,
                value: value.clone(),
                reason,
            },
        }
    }

    /// A [`TransformFailed`](ParameterError::TransformFailed) error.
    pub(crate) fn transform(
        name: &str,
        expected: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        ParameterError::TransformFailed {
            name: name.to_owned(),
            expected: expected.into(),
            detail: detail.into(),
        }
    }
}

impl Diagnostic for ParameterError {
    fn error_type(&self) -> Cow<'_, str> {
        Cow::Borrowed(ParameterError::error_type(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_names_its_parameter_and_error_type() {
        let error = ParameterError::NotFound {
            name: "/app/db".into(),
        };
        assert_eq!(error.to_string(), "parameter /app/db not found");
        assert_eq!(error.name(), Some("/app/db"));
        let lambda = lambda_kit::Error::from_diagnostic(error);
        assert_eq!(lambda.error_type(), "Parameters.NotFound");
    }

    #[test]
    fn only_failures_to_ask_are_transient() {
        let unavailable = ParameterError::unavailable("a", "timed out", "timeout");
        assert!(unavailable.is_transient());
        assert!(ParameterError::Throttled { name: "a".into() }.is_transient());
        assert!(!ParameterError::NotFound { name: "a".into() }.is_transient());
        let internal = ParameterError::Service {
            name: "a".into(),
            code: "InternalServerError".into(),
            message: String::new(),
        };
        assert!(internal.is_transient());
    }
}
