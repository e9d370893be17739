//! The environment variables every provider reads, as Powertools names them.

use std::time::Duration;

use crate::error::ParameterError;

/// How long a cached value is served before it is fetched again, unless a read says
/// otherwise: 5 seconds, as Powertools for AWS Lambda (TypeScript) caches by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5);

/// Sets the default max age, in whole seconds, for every provider built from the
/// environment (Powertools' variable).
pub const MAX_AGE_ENV: &str = "POWERTOOLS_PARAMETERS_MAX_AGE";

/// Whether SSM reads decrypt `SecureString` values by default (`true` or `false`;
/// Powertools' variable). Default: `false`.
pub const SSM_DECRYPT_ENV: &str = "POWERTOOLS_PARAMETERS_SSM_DECRYPT";

/// The default max age: [`MAX_AGE_ENV`] if set, else [`DEFAULT_MAX_AGE`].
pub(crate) fn max_age_from_env() -> Result<Duration, ParameterError> {
    match std::env::var(MAX_AGE_ENV) {
        Ok(value) => parse_max_age(&value),
        Err(_) => Ok(DEFAULT_MAX_AGE),
    }
}

fn parse_max_age(value: &str) -> Result<Duration, ParameterError> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| ParameterError::ConfigInvalid {
            variable: MAX_AGE_ENV,
            value: value.to_owned(),
            reason: "expected a whole number of seconds",
        })
}

/// Reads a yes/no variable as Powertools does (`true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off`, `y`/`n`, `t`/`f`, any case); `default` when it is not set.
#[cfg_attr(not(any(feature = "ssm", feature = "extension")), allow(dead_code))]
pub(crate) fn flag_from_env(variable: &'static str, default: bool) -> Result<bool, ParameterError> {
    let Ok(value) = std::env::var(variable) else {
        return Ok(default);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
        _ => Err(ParameterError::ConfigInvalid {
            variable,
            value,
            reason: "expected true or false",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_whole_seconds() {
        assert_eq!(
            parse_max_age("300").expect("a valid max age"),
            Duration::from_secs(300)
        );
        assert_eq!(
            parse_max_age(" 0 ").expect("a valid max age"),
            Duration::ZERO
        );
        let error = parse_max_age("5m").expect_err("not whole seconds");
        assert_eq!(error.error_type(), "Parameters.ConfigInvalid");
        assert!(
            error
                .to_string()
                .contains("POWERTOOLS_PARAMETERS_MAX_AGE=\"5m\"")
        );
    }
}
