//! The logging contender's function built with the `otel` feature, for the variant that
//! measures JSON logging and OpenTelemetry export to a local OTLP receiver.

include!("shared/hello_logging.rs");
