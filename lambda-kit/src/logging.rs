//! Logging set-up: a `tracing` subscriber on stderr, JSON or text as Lambda asks.
//!
//! Level: `AWS_LAMBDA_LOG_LEVEL` wins (TRACE, DEBUG, INFO, WARN, ERROR, FATAL; FATAL maps
//! to ERROR), then `RUST_LOG` directives (`info,my_crate=debug`), then INFO. Installing is
//! skipped when the program already set a global subscriber.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat};

/// Installs the default subscriber for `config`, unless one is installed already.
pub(crate) fn init_default(config: &Config) {
    let filter = level_filter(
        config.log_level(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let registry = tracing_subscriber::registry();
    let installed = match config.log_format() {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .with_filter(filter),
            )
            .try_init(),
    };
    // An error means the program installed its own subscriber first, which it may.
    drop(installed);
}

/// The filter for Lambda's level setting and `RUST_LOG`.
pub(crate) fn level_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    if let Some(level) = lambda_level.and_then(parse_lambda_level) {
        return Targets::new().with_default(level);
    }
    rust_log
        .and_then(|directives| Targets::from_str(directives).ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

fn parse_lambda_level(level: &str) -> Option<LevelFilter> {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARN" => Some(LevelFilter::WARN),
        "ERROR" | "FATAL" => Some(LevelFilter::ERROR),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_level_wins_over_rust_log() {
        let filter = level_filter(Some("warn"), Some("debug"));
        assert!(filter.would_enable("any", &Level::WARN));
        assert!(!filter.would_enable("any", &Level::INFO));
    }

    #[test]
    fn rust_log_directives_apply_without_a_lambda_level() {
        let filter = level_filter(None, Some("info,chatty=error"));
        assert!(filter.would_enable("app", &Level::INFO));
        assert!(!filter.would_enable("chatty", &Level::WARN));
    }

    #[test]
    fn default_is_info() {
        let filter = level_filter(Some("nonsense"), None);
        assert!(filter.would_enable("app", &Level::INFO));
        assert!(!filter.would_enable("app", &Level::DEBUG));
        assert!(level_filter(Some("FATAL"), None).would_enable("app", &Level::ERROR));
    }
}
