//! Typed events for Lambda's event sources, from the `aws_lambda_events` crate.
//!
//! Each source sits behind a cargo feature of its own name (`sqs`, `sns`, `s3`, `apigw`,
//! `alb`, `dynamodb`, `kinesis`, `eventbridge`, `cloudwatch_events`,
//! `lambda_function_urls`, `vpc_lattice`), so a function compiles only the types it uses. Any other
//! `serde` type, and `serde_json::Value`, works as an event too.

#[cfg(feature = "alb")]
#[cfg_attr(docsrs, doc(cfg(feature = "alb")))]
pub use aws_lambda_events::alb;
#[cfg(feature = "apigw")]
#[cfg_attr(docsrs, doc(cfg(feature = "apigw")))]
pub use aws_lambda_events::apigw;
#[cfg(feature = "cloudwatch_events")]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudwatch_events")))]
pub use aws_lambda_events::cloudwatch_events;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use aws_lambda_events::dynamodb;
#[cfg(feature = "eventbridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "eventbridge")))]
pub use aws_lambda_events::eventbridge;
#[cfg(feature = "kinesis")]
#[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
pub use aws_lambda_events::kinesis;
#[cfg(feature = "lambda_function_urls")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda_function_urls")))]
pub use aws_lambda_events::lambda_function_urls;
#[cfg(feature = "s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
pub use aws_lambda_events::s3;
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub use aws_lambda_events::sns;
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
pub use aws_lambda_events::sqs;
#[cfg(feature = "vpc_lattice")]
#[cfg_attr(docsrs, doc(cfg(feature = "vpc_lattice")))]
pub use aws_lambda_events::vpc_lattice;
