//! What the idempotency tests share: a context, work that counts its runs, and the real
//! servers the store tests talk to, started by `scripts/test-servers.sh` (which
//! `scripts/test.sh` sources) on 127.0.0.1.

#![allow(dead_code)] // each test target uses its own part

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

/// An invocation context with a minute left.
pub(crate) fn ctx() -> Context {
    lambda_kit::testing::context()
        .remaining_time(Duration::from_secs(60))
        .build()
}

/// Work that counts how often it really ran, and answers with the run number.
#[derive(Default)]
pub(crate) struct Work(AtomicUsize);

impl Work {
    /// "Charges" `order`.
    pub(crate) async fn charge(&self, order: &Value) -> Result<Value, Error> {
        let run = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        // Let concurrent duplicates reach the store while this one runs.
        tokio::task::yield_now().await;
        Ok(json!({"order": order["order_id"], "run": run}))
    }

    /// How many times the work ran.
    pub(crate) fn runs(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A variable the server script exports; without it the test cannot run, and says why.
pub(crate) fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with scripts/test.sh, or first \
             `source scripts/test-servers.sh` to start redis-server and the DynamoDB-compatible server"
        )
    })
}

/// `redis://127.0.0.1:PORT` of the test Redis server.
pub(crate) fn redis_url() -> String {
    server_env("LAMBDA_KIT_TEST_REDIS_URL")
}

/// `http://127.0.0.1:PORT` of the DynamoDB-compatible test server.
pub(crate) fn dynamodb_url() -> String {
    server_env("LAMBDA_KIT_TEST_DYNAMODB_URL")
}

/// The table the server script created (partition key `id`).
pub(crate) fn dynamodb_table() -> String {
    server_env("LAMBDA_KIT_TEST_TABLE")
}

/// A DynamoDB client for the test server (which takes any credentials). SDK retries are
/// off, so that a request counts as exactly one round trip and an unreachable endpoint
/// fails at once.
pub(crate) fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = bare_dynamodb_config(endpoint)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A client configuration for `endpoint` with nothing else set: the SDK's own retries, and
/// no timeouts.
pub(crate) fn bare_dynamodb_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
}

/// A name no other test (in this or another process) uses, for function names and tables.
pub(crate) fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A 127.0.0.1 port nothing listens on.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
    // The listener closes here; the port stays unused for the test's short life.
}
