//! The `/next` response headers, as the runtime turns them into a `Context`: any set of
//! header values must give a context or a refusal, never a panic.
//!
//! The input is split into lines; line i is the value of the i-th Lambda header.

#![no_main]

use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_kit::Config;
use lambda_kit::__private::bench::context_from_headers;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = [
    "lambda-runtime-aws-request-id",
    "lambda-runtime-deadline-ms",
    "lambda-runtime-invoked-function-arn",
    "lambda-runtime-trace-id",
    "lambda-runtime-client-context",
    "lambda-runtime-cognito-identity",
    "lambda-runtime-aws-tenant-id",
];

static CONFIG: LazyLock<Arc<Config>> = LazyLock::new(|| {
    Arc::new(Config::from_lookup(|_| None).expect("the default configuration is valid"))
});

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for (name, value) in NAMES.iter().zip(data.split(|byte| *byte == b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let _ = context_from_headers(&headers, &CONFIG);
});
