//! The Secrets Manager provider against moto's server: string, binary and JSON secrets,
//! version stages. That no secret reaches the log is `secrets_log.rs`.

mod common;

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
