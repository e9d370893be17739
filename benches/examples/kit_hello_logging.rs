//! The benchmark's lambda-kit function with one log line per invocation, for the variant
//! that measures JSON logging and X-Ray.

include!("shared/hello_logging.rs");
