//! What the execution environment says about the function, read once per environment.
//!
//! Lambda sets these variables before it starts `bootstrap`; outside Lambda most are
//! missing and get defaults that make local runs work. A variable that is present but
//! unreadable (a memory size of `"lots"`) is a [`ConfigError`]: the runtime reports it
//! to `/runtime/init/error` rather than guessing.

use std::time::Duration;

/// Lambda's default function timeout, used for local invocations when
/// `AWS_LAMBDA_FUNCTION_TIMEOUT` is not set.
const DEFAULT_LOCAL_TIMEOUT: Duration = Duration::from_secs(3);

/// The most invocations one environment may run at once: the top of Lambda Managed
/// Instances' range for `PerExecutionEnvironmentMaxConcurrency` (1 to 1600).
const MAX_CONCURRENCY_LIMIT: u32 = 1600;

/// `AWS_LAMBDA_MAX_CONCURRENCY`: Lambda documents absent, unreadable and below 1 alike as
/// "one at a time". A number above the documented range is refused rather than obeyed:
/// it would start that many workers, each with its own connection.
fn max_concurrency(value: Option<String>) -> Result<u32, ConfigError> {
    let Some(value) = value else {
        return Ok(1);
    };
    let trimmed = value.trim();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(1);
    }
    match digits.parse::<u32>() {
        Ok(0) => Ok(1),
        Ok(n) if n <= MAX_CONCURRENCY_LIMIT => Ok(n),
        // Above the range, or too many digits for any count.
        _ => Err(ConfigError {
            name: "AWS_LAMBDA_MAX_CONCURRENCY",
            value,
            expected: "a whole number from 1 to 1600, the range Lambda Managed Instances allow",
        }),
    }
}

/// The function's configuration, as the environment variables describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    function_name: String,
    function_version: String,
    memory_size_mb: u32,
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    region: String,
    initialization_type: Option<String>,
    max_concurrency: u32,
    log_format: LogFormat,
    log_level: Option<String>,
    runtime_api: Option<String>,
    local_timeout: Duration,
    service_name: String,
}

/// Powertools' service name when `POWERTOOLS_SERVICE_NAME` is not set.
const UNDEFINED_SERVICE: &str = "service_undefined";

/// How log lines are written, from `AWS_LAMBDA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain text lines (Lambda's `Text` format, and the default outside Lambda).
    Text,
    /// One JSON object per line (Lambda's `JSON` format).
    Json,
}

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is {value:?}, expected {expected}")]
pub struct ConfigError {
    /// The variable's name.
    pub name: &'static str,
    /// The value that was found.
    pub value: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's value.
    ///
    /// This is what [`Config::from_env`] does with the real environment; tests pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(default_function_name);
        let memory_size_mb = match get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            None => 128,
            Some(value) => value.trim().parse().map_err(|_| ConfigError {
                name: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                value,
                expected: "a whole number of megabytes such as 128",
            })?,
        };
        let local_timeout = match get("AWS_LAMBDA_FUNCTION_TIMEOUT") {
            None => DEFAULT_LOCAL_TIMEOUT,
            Some(value) => value
                .trim()
                .parse()
                .ok()
                .filter(|seconds| *seconds > 0)
                .map(Duration::from_secs)
                .ok_or(ConfigError {
                    name: "AWS_LAMBDA_FUNCTION_TIMEOUT",
                    value,
                    expected: "a whole number of seconds above zero",
                })?,
        };
        Ok(Config {
            function_name,
            function_version: get("AWS_LAMBDA_FUNCTION_VERSION")
                .unwrap_or_else(|| "$LATEST".into()),
            memory_size_mb,
            log_group_name: get("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream_name: get("AWS_LAMBDA_LOG_STREAM_NAME"),
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            initialization_type: get("AWS_LAMBDA_INITIALIZATION_TYPE"),
            max_concurrency: max_concurrency(get("AWS_LAMBDA_MAX_CONCURRENCY"))?,
            log_format: match get("AWS_LAMBDA_LOG_FORMAT") {
                Some(format) if format.eq_ignore_ascii_case("json") => LogFormat::Json,
                _ => LogFormat::Text,
            },
            log_level: get("AWS_LAMBDA_LOG_LEVEL"),
            runtime_api: get("AWS_LAMBDA_RUNTIME_API"),
            local_timeout,
            service_name: get("POWERTOOLS_SERVICE_NAME")
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| UNDEFINED_SERVICE.into()),
        })
    }

    /// A configuration with every default, as outside Lambda with no variables set.
    pub fn local_defaults() -> Self {
        Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults always parse"))
    }

    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`; outside Lambda, the executable's name).
    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// The service the function belongs to, for logs, traces and metrics
    /// (`POWERTOOLS_SERVICE_NAME`, else `service_undefined`, as Powertools has it).
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The version being executed, such as `$LATEST` or `3`.
    pub fn function_version(&self) -> &str {
        &self.function_version
    }

    /// The memory configured for the function, in megabytes (128 when unknown).
    pub fn memory_size_mb(&self) -> u32 {
        self.memory_size_mb
    }

    /// The CloudWatch Logs group the function logs to, when Lambda says.
    pub fn log_group_name(&self) -> Option<&str> {
        self.log_group_name.as_deref()
    }

    /// The CloudWatch Logs stream of this execution environment, when Lambda says.
    pub fn log_stream_name(&self) -> Option<&str> {
        self.log_stream_name.as_deref()
    }

    /// The AWS region (`AWS_REGION`, then `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// How this environment was started (`on-demand`, `provisioned-concurrency`, `snap-start`,
    /// `lambda-managed-instances`), when Lambda says.
    pub fn initialization_type(&self) -> Option<&str> {
        self.initialization_type.as_deref()
    }

    /// How many invocations this environment may run at once (1 unless on Managed Instances).
    pub fn max_concurrency(&self) -> u32 {
        self.max_concurrency
    }

    /// The log line format Lambda asks for.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }

    /// The application log level Lambda asks for (`AWS_LAMBDA_LOG_LEVEL`), as written.
    pub fn log_level(&self) -> Option<&str> {
        self.log_level.as_deref()
    }

    /// The Runtime API address (`AWS_LAMBDA_RUNTIME_API`); `None` outside Lambda.
    pub fn runtime_api(&self) -> Option<&str> {
        self.runtime_api.as_deref()
    }

    /// The timeout given to local invocations (`AWS_LAMBDA_FUNCTION_TIMEOUT`, default 3 s).
    pub fn local_timeout(&self) -> Duration {
        self.local_timeout
    }
}

fn default_function_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|path| {
            std::path::Path::new(&path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "function".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn lambda_variables_are_read() {
        let config = config(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[7]abc"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ])
        .expect("valid config");
        assert_eq!(config.function_name(), "orders");
        assert_eq!(config.function_version(), "7");
        assert_eq!(config.memory_size_mb(), 1024);
        assert_eq!(config.log_group_name(), Some("/aws/lambda/orders"));
        assert_eq!(config.log_stream_name(), Some("2026/11/22/[7]abc"));
        assert_eq!(config.region(), "eu-west-1");
        assert_eq!(config.log_format(), LogFormat::Json);
        assert_eq!(config.max_concurrency(), 8);
        assert_eq!(config.runtime_api(), Some("127.0.0.1:9001"));
    }

    #[test]
    fn missing_variables_get_defaults() {
        let config = config(&[]).expect("defaults");
        assert_eq!(config.function_version(), "$LATEST");
        assert_eq!(config.memory_size_mb(), 128);
        assert_eq!(config.region(), "us-east-1");
        assert_eq!(config.log_format(), LogFormat::Text);
        assert_eq!(config.max_concurrency(), 1);
        assert_eq!(config.runtime_api(), None);
        assert_eq!(config.local_timeout(), Duration::from_secs(3));
        assert!(!config.function_name().is_empty());
    }

    #[test]
    fn unusable_concurrency_means_one() {
        for value in ["0", "-3", "many"] {
            let config = config(&[("AWS_LAMBDA_MAX_CONCURRENCY", value)]).expect("valid");
            assert_eq!(config.max_concurrency(), 1, "for {value:?}");
        }
    }

    #[test]
    fn concurrency_above_lambdas_range_is_an_error() {
        for value in ["1601", "100000", "99999999999999999999"] {
            let error = config(&[("AWS_LAMBDA_MAX_CONCURRENCY", value)]).expect_err(value);
            assert_eq!(error.name, "AWS_LAMBDA_MAX_CONCURRENCY");
        }
        let config = config(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1600")]).expect("valid");
        assert_eq!(config.max_concurrency(), 1600);
    }

    #[test]
    fn unreadable_memory_size_is_an_error_naming_the_variable() {
        let error = config(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots")]).expect_err("an error");
        assert_eq!(error.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
        assert!(error.to_string().contains("\"lots\""), "{error}");
    }

    #[test]
    fn zero_timeout_is_an_error() {
        let error = config(&[("AWS_LAMBDA_FUNCTION_TIMEOUT", "0")]).expect_err("an error");
        assert_eq!(error.name, "AWS_LAMBDA_FUNCTION_TIMEOUT");
    }
}
