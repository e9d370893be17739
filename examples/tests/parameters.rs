//! The `parameters` binary as a bootstrap against the fake Runtime API, reading from
//! moto's server: the values reach every invocation, a missing one fails its
//! invocation with `Parameters.NotFound` and the next is served, and the secret never
//! reaches the log.

use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType;
use http::StatusCode;
use lambda_kit::testing::{FakeRuntimeApi, Fault, Route};
use serde_json::json;
use tokio::process::Command;

const PASSWORD: &str = "pa55word-not-for-logs";

fn moto_url() -> String {
    std::env::var("LAMBDA_KIT_TEST_MOTO_URL")
        .expect("LAMBDA_KIT_TEST_MOTO_URL is set: run with scripts/test.sh or source scripts/test-servers.sh")
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Stores the secret and the parameter the function reads; their names.
async fn store_values() -> (String, String) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_url())
        .test_credentials()
        .load()
        .await;
    let secret = unique("example-db-url");
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&secret)
        .secret_string(format!("postgres://app:{PASSWORD}@db.internal:5432/orders"))
        .send()
        .await
        .expect("moto stores the secret");
    let parameter = format!("/{}", unique("example-log-level"));
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(&parameter)
        .value("debug")
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("moto stores the parameter");
    (secret, parameter)
}

fn bootstrap(api: &FakeRuntimeApi, secret: &str, parameter: &str) -> Command {
    let mut command = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_parameters")));
    command
        .env("AWS_ENDPOINT_URL", moto_url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("DATABASE_SECRET", secret)
        .env("LOG_LEVEL_PARAMETER", parameter)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn serves_every_invocation_and_keeps_the_secret_out_of_the_log() {
    let (secret, parameter) = store_values().await;
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = bootstrap(&api, &secret, &parameter)
        .spawn()
        .expect("spawns");
    for _ in 0..3 {
        let id = api.push(json!({}));
        let status = api.response_json(&id).await;
        assert_eq!(
            status,
            json!({"database_host": "db.internal", "log_level": "debug"})
        );
    }

    api.inject(
        Route::Next,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "stop".into()),
    );
    let output = child.wait_with_output().await.expect("exits");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(log.matches("configuration read").count(), 3, "{log}");
    assert!(
        !log.contains(PASSWORD),
        "the secret reached the log:\n{log}"
    );
}

#[tokio::test]
async fn a_missing_parameter_is_a_typed_error_and_the_function_keeps_serving() {
    let (secret, _) = store_values().await;
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = bootstrap(&api, &secret, "/no/such/parameter")
        .spawn()
        .expect("spawns");
    for _ in 0..2 {
        let id = api.push(json!({}));
        let error = api.error_answer(&id).await;
        assert_eq!(error.error_type, "Parameters.NotFound");
        assert!(
            error.error_message.contains("/no/such/parameter"),
            "{error:?}"
        );
    }
}
