//! Structured logs: a `tracing` layer that writes one line per event, JSON or text, as
//! Lambda's advanced logging controls expect.
//!
//! - Format: `AWS_LAMBDA_LOG_FORMAT` (`JSON`, any case, selects JSON; otherwise text).
//! - Level: `AWS_LAMBDA_LOG_LEVEL` wins (TRACE, DEBUG, INFO, WARN, ERROR, FATAL; FATAL is
//!   ERROR), then `RUST_LOG` directives (`info,my_crate=debug`), then
//!   `POWERTOOLS_LOG_LEVEL`, else INFO.
//! - JSON lines carry, at the top level:
//!   - `timestamp` (RFC 3339, UTC, milliseconds), `level`, `message`;
//!   - inside an invocation: `requestId`, `xrayTraceId`, `function_arn`, `cold_start`
//!     (and `tenantId` when there is one);
//!   - the fields of the event and of the spans around it, flattened;
//!   - `target`, then `service` (`POWERTOOLS_SERVICE_NAME`), `function_name` and
//!     `function_memory_size`.
//! - Key schema ([`LogSchema`], `LAMBDA_KIT_LOG_SCHEMA=powertools`): Powertools Logger's
//!   keys for the same facts instead (`function_request_id`, `xray_trace_id`, `location`,
//!   `exception_name`, `exception`, `stack_trace`, `sampling_rate`).
//! - Debug sampling: `POWERTOOLS_LOGGER_SAMPLE_RATE` (0.0 to 1.0) turns DEBUG on for that
//!   share of invocations.
//! - Debug buffering ([`Logging::debug_buffer`]): lines at or below a level are held per
//!   invocation (bounded in bytes) and written only if the invocation logs an ERROR or
//!   fails; otherwise they are dropped when it ends.
//!
//! Lines go to stderr, which Lambda captures like stdout; outside Lambda that keeps stdout
//! for the invocation's answer.

mod layer;

use std::str::FromStr;

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use self::layer::{LogLayer, Settings};
use crate::config::{Config, LogFormat};
use crate::telemetry::fields::{FieldValue, Fields};

/// The variable that picks the [`LogSchema`]: `powertools` (any case), else the default.
pub const LOG_SCHEMA_ENV: &str = "LAMBDA_KIT_LOG_SCHEMA";

/// Which names and shapes JSON lines give the facts they carry.
///
/// Both keep what Lambda's advanced logging controls read: `level` with Lambda's level
/// names (`WARN`, not Python's `WARNING`: Lambda files a level it does not know as INFO,
/// so a warning would be filtered away at WARN) and `timestamp` in RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogSchema {
    /// Lambda's own keys where Lambda has one (`requestId`, `xrayTraceId`, `errorType`,
    /// `errorMessage`, `tenantId`), Powertools' for the rest (`cold_start`,
    /// `function_arn`, `service`, `function_name`, `function_memory_size`), and `target`.
    #[default]
    Lambda,
    /// Powertools for AWS Lambda (Python) Logger's keys and value shapes, so that a
    /// CloudWatch Logs Insights query written for a Python function works on this one:
    /// `function_request_id`, `xray_trace_id` (the trace's `Root`), `location`
    /// (`module::path:line`), `sampling_rate` (when sampling is on), and for a failure
    /// `exception_name` (the errorType), `exception` (`errorType: errorMessage`) and
    /// `stack_trace` (`{"type", "value", "module", "frames"}`). No `target`.
    Powertools,
}

impl LogSchema {
    /// Reads [`LOG_SCHEMA_ENV`]'s value: `powertools` selects [`LogSchema::Powertools`].
    pub fn from_env_value(value: Option<&str>) -> Self {
        match value {
            Some(value) if value.trim().eq_ignore_ascii_case("powertools") => LogSchema::Powertools,
            _ => LogSchema::Lambda,
        }
    }
}

/// Holding back low-level lines per invocation until something goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugBuffer {
    /// The most verbose level held back (lines at this level or below it, down to the
    /// configured log level, are buffered).
    pub level: LevelFilter,
    /// The most bytes held per invocation; the oldest lines are dropped past it.
    pub max_bytes: usize,
}

impl Default for DebugBuffer {
    /// DEBUG and TRACE lines, at most 20 KiB per invocation.
    fn default() -> Self {
        DebugBuffer {
            level: LevelFilter::TRACE,
            max_bytes: 20 * 1024,
        }
    }
}

/// Builds the log layer; every setting starts from the environment.
///
/// ```no_run
/// use lambda_kit::Config;
/// use lambda_kit::logging::{LogSchema, Logging};
///
/// # fn main() -> Result<(), lambda_kit::ConfigError> {
/// // Before `Runtime::from_env()`, which then keeps this subscriber.
/// let config = Config::from_env()?;
/// Logging::from_env(&config).schema(LogSchema::Powertools).init();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Logging {
    format: LogFormat,
    schema: LogSchema,
    targets: Targets,
    sample_rate: f64,
    buffer: Option<DebugBuffer>,
    service: String,
    function_name: String,
    memory_size_mb: u32,
}

impl Logging {
    /// Settings from the process environment and `config`.
    pub fn from_env(config: &Config) -> Self {
        Self::from_lookup(config, |name| std::env::var(name).ok())
    }

    /// Settings from `config` and the variables `lookup` returns (tests pass a map).
    pub fn from_lookup(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let targets = level_filter(
            config.log_level(),
            lookup("RUST_LOG").as_deref(),
            lookup("POWERTOOLS_LOG_LEVEL").as_deref(),
        );
        let sample_rate = lookup("POWERTOOLS_LOGGER_SAMPLE_RATE")
            .and_then(|rate| rate.trim().parse::<f64>().ok())
            .filter(|rate| rate.is_finite())
            .map_or(0.0, |rate| rate.clamp(0.0, 1.0));
        Logging {
            format: config.log_format(),
            schema: LogSchema::from_env_value(lookup(LOG_SCHEMA_ENV).as_deref()),
            targets,
            sample_rate,
            buffer: None,
            service: config.service_name().to_owned(),
            function_name: config.function_name().to_owned(),
            memory_size_mb: config.memory_size_mb(),
        }
    }

    /// Sets the line format.
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the key schema of JSON lines (default: [`LOG_SCHEMA_ENV`], else
    /// [`LogSchema::Lambda`]).
    pub fn schema(mut self, schema: LogSchema) -> Self {
        self.schema = schema;
        self
    }

    /// Sets one level for every target.
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.targets = Targets::new().with_default(level);
        self
    }

    /// Sets per-target levels from `RUST_LOG`-style directives (`info,my_crate=debug`).
    pub fn directives(
        mut self,
        directives: &str,
    ) -> Result<Self, tracing_subscriber::filter::ParseError> {
        self.targets = Targets::from_str(directives)?;
        Ok(self)
    }

    /// Sets the share of invocations (0.0 to 1.0) that log at DEBUG whatever the level.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Holds back low-level lines per invocation; see [`DebugBuffer`].
    pub fn debug_buffer(mut self, buffer: DebugBuffer) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// Sets the `service` key (default: [`Config::service_name`]).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The `tracing` layer that writes the log lines, to stderr.
    pub fn tracing_layer<S>(self) -> impl tracing_subscriber::Layer<S> + Send + Sync
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.tracing_layer_with_writer(std::io::stderr)
    }

    /// The `tracing` layer that writes the log lines, to `writer` (tests capture lines
    /// this way).
    pub fn tracing_layer_with_writer<S, W>(
        self,
        writer: W,
    ) -> impl tracing_subscriber::Layer<S> + Send + Sync
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let headroom = match (self.sample_rate > 0.0, self.buffer) {
            (_, Some(buffer)) => buffer.level.max(if self.sample_rate > 0.0 {
                LevelFilter::DEBUG
            } else {
                LevelFilter::OFF
            }),
            (true, None) => LevelFilter::DEBUG,
            (false, None) => LevelFilter::OFF,
        };
        let mut static_fields = Fields::default();
        static_fields.set("service", FieldValue::Str(self.service));
        static_fields.set("function_name", FieldValue::Str(self.function_name));
        static_fields.set(
            "function_memory_size",
            FieldValue::U64(self.memory_size_mb.into()),
        );
        if self.schema == LogSchema::Powertools && self.sample_rate > 0.0 {
            static_fields.set("sampling_rate", FieldValue::F64(self.sample_rate));
        }
        let settings = Settings {
            format: self.format,
            schema: self.schema,
            targets: self.targets,
            headroom,
            sample_rate: self.sample_rate,
            buffer: self.buffer,
            static_fields,
        };
        let (layer, filter) = LogLayer::new(settings, writer);
        layer.with_filter(filter)
    }

    /// Installs the `tracing` layer as the global subscriber; `false` if one was installed already.
    pub fn init(self) -> bool {
        tracing_subscriber::registry()
            .with(self.tracing_layer())
            .try_init()
            .is_ok()
    }
}

/// The filter for Lambda's level, `RUST_LOG` and `POWERTOOLS_LOG_LEVEL`, in that order.
pub(crate) fn level_filter(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    powertools_level: Option<&str>,
) -> Targets {
    if let Some(level) = lambda_level.and_then(parse_lambda_level) {
        return Targets::new().with_default(level);
    }
    if let Some(targets) = rust_log.and_then(|directives| Targets::from_str(directives).ok()) {
        return targets;
    }
    let level = powertools_level
        .and_then(parse_lambda_level)
        .unwrap_or(LevelFilter::INFO);
    Targets::new().with_default(level)
}

fn parse_lambda_level(level: &str) -> Option<LevelFilter> {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARN" | "WARNING" => Some(LevelFilter::WARN),
        "ERROR" | "FATAL" | "CRITICAL" => Some(LevelFilter::ERROR),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_level_wins_over_rust_log() {
        let filter = level_filter(Some("warn"), Some("debug"), None);
        assert!(filter.would_enable("any", &Level::WARN));
        assert!(!filter.would_enable("any", &Level::INFO));
    }

    #[test]
    fn rust_log_directives_apply_without_a_lambda_level() {
        let filter = level_filter(None, Some("info,chatty=error"), Some("DEBUG"));
        assert!(filter.would_enable("app", &Level::INFO));
        assert!(!filter.would_enable("app", &Level::DEBUG));
        assert!(!filter.would_enable("chatty", &Level::WARN));
    }

    #[test]
    fn powertools_level_comes_last() {
        let filter = level_filter(None, None, Some("debug"));
        assert!(filter.would_enable("app", &Level::DEBUG));
    }

    #[test]
    fn default_is_info_and_fatal_is_error() {
        let filter = level_filter(Some("nonsense"), None, None);
        assert!(filter.would_enable("app", &Level::INFO));
        assert!(!filter.would_enable("app", &Level::DEBUG));
        assert!(level_filter(Some("FATAL"), None, None).would_enable("app", &Level::ERROR));
        assert!(!level_filter(Some("FATAL"), None, None).would_enable("app", &Level::WARN));
    }
}
