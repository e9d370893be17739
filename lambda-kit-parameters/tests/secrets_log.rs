//! No secret value reaches the log, whatever the level: Secrets Manager reads against moto
//! under a TRACE-level subscriber that also records the AWS SDK's own logs.
//!
//! One test in its own binary, with the subscriber installed process-wide before any
//! event: tracing caches each callsite's interest, and a callsite first hit by another
//! test's thread while no subscriber listened would stay silent for a scoped one.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{aws, moto_url, unique};
use lambda_kit_parameters::SecretsManager;

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
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let config = aws(&moto_url()).await;
    let name = unique("quiet");
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&name)
        .secret_string(format!(r#"{{"password":"{VALUE}","port":"{VALUE}"}}"#))
        .send()
        .await
        .expect("moto stores the secret");
    let secrets = SecretsManager::from_conf(&config).expect("a valid environment");
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
