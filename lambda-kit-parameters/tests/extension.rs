//! The extension transport against a fake of the AWS Parameters and Secrets Lambda
//! Extension's HTTP interface, written from its documentation: the token header, the two
//! routes and their query parameters, and its errors.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use common::{json_answer, query, read_fails, serve};
use lambda_kit_parameters::ParameterError;
use lambda_kit_parameters::extension::{
    ExtensionClient, ExtensionSecrets, ExtensionSsm, TOKEN_HEADER,
};
use serde_json::json;

const TOKEN: &str = "session-token-of-this-invocation";

#[derive(Default)]
struct Fake {
    /// name -> (value, whether it is a SecureString)
    parameters: HashMap<String, (String, bool)>,
    /// (id, stage) -> SecretString or SecretBinary
    secrets: HashMap<(String, String), serde_json::Value>,
    requests: AtomicUsize,
}

fn answer(fake: &Fake, request: &http::Request<bytes::Bytes>) -> http::Response<bytes::Bytes> {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    if request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        != Some(TOKEN)
    {
        return json_answer(401, json!({"message": "missing or wrong token"}));
    }
    let uri = request.uri();
    match uri.path() {
        "/systemsmanager/parameters/get" => {
            let name = query(uri, "name").unwrap_or_default();
            let decrypt = query(uri, "withDecryption").as_deref() == Some("true");
            match fake.parameters.get(&name) {
                Some((value, secure)) => {
                    let value = if *secure && !decrypt {
                        "AQICAH...sealed".to_owned()
                    } else {
                        value.clone()
                    };
                    let kind = if *secure { "SecureString" } else { "String" };
                    json_answer(
                        200,
                        json!({"Parameter": {"Name": name, "Type": kind, "Value": value, "Version": 1}}),
                    )
                }
                None => json_answer(400, json!({"__type": "ParameterNotFound", "message": name})),
            }
        }
        "/secretsmanager/get" => {
            let id = query(uri, "secretId").unwrap_or_default();
            let stage = query(uri, "versionStage").unwrap_or_else(|| "AWSCURRENT".to_owned());
            match fake.secrets.get(&(id.clone(), stage)) {
                Some(secret) => {
                    let mut body = secret.clone();
                    body["Name"] = json!(id);
                    json_answer(200, body)
                }
                None => json_answer(400, json!({"__type": "ResourceNotFoundException"})),
            }
        }
        _ => json_answer(404, json!({})),
    }
}

async fn start(fake: Fake) -> (Arc<Fake>, Arc<ExtensionClient>) {
    let fake = Arc::new(fake);
    let url = serve(Arc::new({
        let fake = fake.clone();
        move |request| answer(&fake, &request)
    }))
    .await;
    let port = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("http://127.0.0.1:PORT");
    (
        fake,
        Arc::new(ExtensionClient::new("127.0.0.1", port, TOKEN)),
    )
}

fn sample() -> Fake {
    let mut fake = Fake::default();
    fake.parameters
        .insert("/app/url".into(), ("postgres://db".into(), false));
    fake.parameters
        .insert("/app/db password".into(), ("hunter2".into(), true));
    let current = json!({"SecretString": "new"});
    fake.secrets
        .insert(("api-key".into(), "AWSCURRENT".into()), current);
    fake.secrets.insert(
        ("api-key".into(), "AWSPREVIOUS".into()),
        json!({"SecretString": "old"}),
    );
    let binary = base64::engine::general_purpose::STANDARD.encode([0u8, 1, 2]);
    fake.secrets.insert(
        ("cert".into(), "AWSCURRENT".into()),
        json!({"SecretBinary": binary}),
    );
    fake
}

#[tokio::test]
async fn parameters_with_the_token_escaped_names_and_decryption() {
    let (fake, client) = start(sample()).await;
    let ssm = ExtensionSsm::with_client(client.clone()).expect("a valid environment");
    assert_eq!(
        ssm.get("/app/url").text().await.expect("the read succeeds"),
        "postgres://db"
    );
    let sealed = ssm
        .get("/app/db password")
        .text()
        .await
        .expect("the read succeeds");
    assert_ne!(sealed, "hunter2");
    let open = ssm
        .get("/app/db password")
        .decrypt(true)
        .secret()
        .await
        .expect("the read succeeds");
    assert_eq!(open.expose(), "hunter2");
    // Cached across reads, as with the SDK providers.
    ssm.get("/app/url").text().await.expect("the read succeeds");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3);
    assert_eq!(client.round_trips(), 3);
}

#[tokio::test]
async fn secrets_by_stage_and_binary() {
    let (_fake, client) = start(sample()).await;
    let secrets = ExtensionSecrets::with_client(client).expect("a valid environment");
    assert_eq!(
        secrets
            .get("api-key")
            .text()
            .await
            .expect("the read succeeds"),
        "new"
    );
    let old = secrets
        .get("api-key")
        .version_stage("AWSPREVIOUS")
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(old, "old");
    assert_eq!(
        secrets
            .get("cert")
            .bytes()
            .await
            .expect("the read succeeds"),
        [0, 1, 2]
    );
    read_fails!(secrets.get("absent"), ParameterError::NotFound { .. });
}

#[tokio::test]
async fn a_wrong_token_is_access_denied() {
    let (_fake, client) = start(sample()).await;
    let port = client.port();
    let wrong = Arc::new(ExtensionClient::new("127.0.0.1", port, "another-token"));
    let ssm = ExtensionSsm::with_client(wrong).expect("a valid environment");
    let error = read_fails!(ssm.get("/app/url"), ParameterError::AccessDenied { .. });
    assert_eq!(error.error_type(), "Parameters.AccessDenied");
}

#[tokio::test]
async fn missing_names_fail_by_name_and_paths_are_unsupported() {
    let (_fake, client) = start(sample()).await;
    let ssm = ExtensionSsm::with_client(client).expect("a valid environment");
    let found = ssm
        .get_by_name(["/app/url", "/app/absent"])
        .collect_failures()
        .await;
    assert_eq!(
        found.values.text("/app/url").expect("the value is there"),
        "postgres://db"
    );
    assert!(matches!(
        found.failed["/app/absent"],
        ParameterError::NotFound { .. }
    ));
    let error = ssm.get_multiple("/app").await.expect_err("the read fails");
    assert!(
        matches!(error, ParameterError::Unsupported { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn no_extension_listening_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("bound")
        .port();
    let ssm = ExtensionSsm::with_client(Arc::new(ExtensionClient::new("127.0.0.1", port, TOKEN)))
        .expect("a valid environment");
    read_fails!(ssm.get("/app/url"), ParameterError::Unavailable { .. });
}

#[tokio::test]
async fn a_stalled_extension_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the read succeeds");
    let port = listener.local_addr().expect("bound").port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let client = ExtensionClient::new("127.0.0.1", port, TOKEN).with_timeout(common::SHORT_TIMEOUT);
    let ssm = ExtensionSsm::with_client(Arc::new(client)).expect("a valid environment");
    read_fails!(ssm.get("/app/url"), ParameterError::Unavailable { .. });
    held.abort();
}
