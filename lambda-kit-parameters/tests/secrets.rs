//! The Secrets Manager provider against moto's server: string, binary and JSON secrets,
//! version stages, and that no secret reaches the log, whatever the level.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::primitives::Blob;
use common::{aws, moto_url, read_fails, unique};
use lambda_kit_parameters::{ParameterError, Secret, SecretsManager};

async fn admin() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws(&moto_url()).await)
}

async fn secrets() -> SecretsManager {
    SecretsManager::from_conf(&aws(&moto_url()).await).expect("the environment is valid")
}

async fn create(admin: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    admin
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("moto stores the secret");
}

#[derive(serde::Deserialize)]
struct Database {
    user: String,
    password: Secret<String>,
}

#[tokio::test]
async fn string_json_and_binary_secrets() {
    let admin = admin().await;
    let plain = unique("plain");
    create(&admin, &plain, "token-123").await;
    let json = unique("db");
    create(&admin, &json, r#"{"user":"app","password":"hunter2"}"#).await;
    let binary = unique("binary");
    admin
        .create_secret()
        .name(&binary)
        .secret_binary(Blob::new(vec![0u8, 159, 146, 150]))
        .send()
        .await
        .expect("the read succeeds");
    let secrets = secrets().await;

    assert_eq!(
        secrets
            .get(&plain)
            .secret()
            .await
            .expect("the read succeeds")
            .expose(),
        "token-123"
    );
    let db: Database = secrets.get(&json).json().await.expect("the read succeeds");
    assert_eq!(db.user, "app");
    assert_eq!(db.password.expose(), "hunter2");
    assert_eq!(
        secrets
            .get(&binary)
            .bytes()
            .await
            .expect("the read succeeds"),
        [0, 159, 146, 150]
    );
    read_fails!(secrets.get(&binary), ParameterError::TransformFailed { .. });
}

#[tokio::test]
async fn a_version_stage_reads_the_previous_value() {
    let admin = admin().await;
    let name = unique("rotated");
    create(&admin, &name, "old").await;
    admin
        .put_secret_value()
        .secret_id(&name)
        .secret_string("new")
        .send()
        .await
        .expect("the read succeeds");
    let secrets = secrets().await;
    assert_eq!(
        secrets.get(&name).text().await.expect("the read succeeds"),
        "new"
    );
    let previous = secrets.get(&name).version_stage("AWSPREVIOUS").text().await;
    assert_eq!(previous.expect("the previous version is there"), "old");
    assert_eq!(
        secrets.provider().round_trips(),
        2,
        "each version is its own cache entry"
    );
}

#[tokio::test]
async fn a_missing_secret_is_not_found() {
    let secrets = secrets().await;
    let name = unique("absent");
    let error = secrets
        .get(&name)
        .secret()
        .await
        .expect_err("the read fails");
    assert!(
        matches!(&error, ParameterError::NotFound { name: n } if *n == name),
        "{error:?}"
    );
}

/// Collects everything a subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_value_reaches_the_log_even_at_trace_level() {
    const VALUE: &str = "s3cr3t-value-that-must-not-leak";
    let admin = admin().await;
    let name = unique("quiet");
    create(
        &admin,
        &name,
        &format!(r#"{{"password":"{VALUE}","port":"{VALUE}"}}"#),
    )
    .await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let secrets = secrets().await;
    let secret = secrets
        .get(&name)
        .secret()
        .await
        .expect("the read succeeds");
    tracing::info!(?secret, "read");
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        port: u16,
    }
    let error = secrets
        .get(&name)
        .json::<Wrong>()
        .await
        .expect_err("the read fails");
    tracing::error!(%error, ?error, "transform failed");
    let value = secrets.get(&name).value().await.expect("the read succeeds");
    tracing::info!(?value, "raw");

    let log =
        String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("UTF-8 log");
    assert!(
        log.contains("GetSecretValue"),
        "the SDK logged at trace level: {log}"
    );
    assert!(
        !log.contains(VALUE),
        "the secret leaked into the log:\n{log}"
    );
}
