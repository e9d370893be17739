//! Parameters in a `#[lambda_kit::handler(init = setup)]` function: built once in the
//! init state, read per invocation, and a failed read ends the invocation with the
//! parameter's errorType.

mod common;

use aws_sdk_ssm::types::ParameterType;
use common::{aws, moto_url, unique};
use lambda_kit::Context;
use lambda_kit::testing::{self, Outcome};
use lambda_kit_parameters::{ParameterError, SecretsManager, Ssm};
use serde_json::{Value, json};

/// What `init` builds once per environment.
struct State {
    ssm: Ssm,
    secrets: SecretsManager,
}

async fn setup() -> Result<State, lambda_kit::Error> {
    let aws = aws(&moto_url()).await;
    Ok(State {
        ssm: Ssm::from_conf(&aws)?,
        secrets: SecretsManager::from_conf(&aws)?,
    })
}

/// Answers with a setting from SSM and the length of a secret from Secrets Manager.
#[lambda_kit::handler(init = setup)]
async fn report(event: Value, _ctx: Context, state: &State) -> Result<Value, ParameterError> {
    let setting = event["setting"].as_str().unwrap_or_default();
    let secret = event["secret"].as_str().unwrap_or_default();
    let level = state.ssm.get(setting).text().await?;
    let password = state.secrets.get(secret).secret().await?;
    Ok(json!({"level": level, "password_bytes": password.expose().len()}))
}

#[tokio::test]
async fn the_state_serves_every_invocation_and_a_missing_value_is_a_typed_error() {
    let config = aws(&moto_url()).await;
    let setting = format!("/{}/level", unique("handler"));
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(&setting)
        .value("debug")
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("the read succeeds");
    let secret = unique("handler-secret");
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&secret)
        .secret_string("hunter2")
        .send()
        .await
        .expect("the read succeeds");
    let state = testing::state(setup().await.expect("the read succeeds"));

    for _ in 0..3 {
        let event = json!({"setting": setting, "secret": secret});
        let response = testing::invoke(report_handler(state), event)
            .await
            .expect_response();
        assert_eq!(response, json!({"level": "debug", "password_bytes": 7}));
    }
    assert_eq!(
        state.ssm.provider().round_trips(),
        1,
        "one fetch, then the cache"
    );
    assert_eq!(state.secrets.provider().round_trips(), 1);

    let event = json!({"setting": format!("{setting}-absent"), "secret": secret});
    let Outcome::Error(error) = testing::invoke(report_handler(state), event).await else {
        panic!("a missing parameter fails the invocation");
    };
    assert_eq!(error.error_type, "Parameters.NotFound");
    assert!(
        error.error_message.contains(&format!("{setting}-absent")),
        "{error:?}"
    );
}
