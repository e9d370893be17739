//! The AppConfig provider against a fake of the AppConfig Data API's two calls
//! (moto's server does not speak AppConfig Data), written from the API reference:
//! sessions, single-use poll tokens, the empty answer that means "unchanged", the poll
//! interval, and the errors.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{aws, json_answer, query, read_fails, serve};
use lambda_kit_parameters::appconfig::AppConfigProvider;
use lambda_kit_parameters::{AppConfig, ParameterError};
use serde_json::json;

const APPLICATION: &str = "shop";
const ENVIRONMENT: &str = "prod";

/// The service's state: configurations by profile (with a version each), and the live
/// token of each session.
#[derive(Default)]
struct Fake {
    profiles: HashMap<String, (u32, String)>,
    /// token -> (profile, the version that session has seen)
    tokens: HashMap<String, (String, Option<u32>)>,
    next_token: u32,
    poll_interval: u32,
    sessions_started: u32,
    polls: u32,
}

impl Fake {
    fn token(&mut self, profile: &str, seen: Option<u32>) -> String {
        self.next_token += 1;
        let token = format!("token{}", self.next_token);
        self.tokens
            .insert(token.clone(), (profile.to_owned(), seen));
        token
    }

    fn set(&mut self, profile: &str, content: &str) {
        let version = self
            .profiles
            .get(profile)
            .map_or(1, |(version, _)| version + 1);
        self.profiles
            .insert(profile.to_owned(), (version, content.to_owned()));
    }
}

fn error(status: u16, kind: &str) -> http::Response<bytes::Bytes> {
    let mut answer = json_answer(status, json!({"Message": format!("{kind} from the fake")}));
    answer
        .headers_mut()
        .insert("x-amzn-errortype", kind.parse().expect("a header value"));
    answer
}

fn answer(
    fake: &Mutex<Fake>,
    request: http::Request<bytes::Bytes>,
) -> http::Response<bytes::Bytes> {
    let mut fake = fake.lock().expect("not poisoned");
    match (request.method().as_str(), request.uri().path()) {
        ("POST", "/configurationsessions") => {
            let body: serde_json::Value =
                serde_json::from_slice(request.body()).expect("a JSON request");
            let profile = body["ConfigurationProfileIdentifier"]
                .as_str()
                .unwrap_or_default();
            // Three profiles stand for the service's refusals.
            match profile {
                "throttled" => return error(429, "ThrottlingException"),
                "denied" => return error(403, "AccessDeniedException"),
                "failing" => return error(500, "InternalServerException"),
                _ => {}
            }
            let known = body["ApplicationIdentifier"] == APPLICATION
                && body["EnvironmentIdentifier"] == ENVIRONMENT
                && fake.profiles.contains_key(profile);
            if !known {
                return error(404, "ResourceNotFoundException");
            }
            fake.sessions_started += 1;
            let token = fake.token(profile, None);
            json_answer(201, json!({"InitialConfigurationToken": token}))
        }
        ("GET", "/configuration") => {
            fake.polls += 1;
            let token = query(request.uri(), "configuration_token").unwrap_or_default();
            // Single use: a token is gone once polled with.
            let Some((profile, seen)) = fake.tokens.remove(&token) else {
                return error(400, "BadRequestException");
            };
            let (version, content) = fake.profiles[&profile].clone();
            let next = fake.token(&profile, Some(version));
            let body = if seen == Some(version) {
                String::new()
            } else {
                content
            };
            http::Response::builder()
                .status(200)
                .header("Next-Poll-Configuration-Token", next)
                .header(
                    "Next-Poll-Interval-In-Seconds",
                    fake.poll_interval.to_string(),
                )
                .header("Content-Type", "application/json")
                .header(
                    "Version-Label",
                    if body.is_empty() {
                        String::new()
                    } else {
                        version.to_string()
                    },
                )
                .body(bytes::Bytes::from(body))
                .expect("a valid response")
        }
        _ => error(404, "UnknownOperationException"),
    }
}

async fn start(fake: Fake) -> (Arc<Mutex<Fake>>, AppConfig) {
    let fake = Arc::new(Mutex::new(fake));
    let url = serve(Arc::new({
        let fake = fake.clone();
        move |request| answer(&fake, request)
    }))
    .await;
    let client = aws_sdk_appconfigdata::Client::new(&aws(&url).await);
    let appconfig = AppConfig::new(AppConfigProvider::new(&client, APPLICATION, ENVIRONMENT))
        .expect("a valid environment")
        .with_max_age(Duration::from_secs(3600));
    (fake, appconfig)
}

fn with_profile(profile: &str, content: &str) -> Fake {
    let mut fake = Fake::default();
    fake.set(profile, content);
    fake
}

#[tokio::test]
async fn a_session_then_one_poll_per_refresh_keeping_the_value_when_unchanged() {
    let (fake, appconfig) = start(with_profile("features", r#"{"checkout":true}"#)).await;
    let trips = || appconfig.provider().round_trips();

    let features: serde_json::Value = appconfig
        .get("features")
        .json()
        .await
        .expect("the read succeeds");
    assert_eq!(features["checkout"], true);
    assert_eq!(
        trips(),
        2,
        "StartConfigurationSession, then GetLatestConfiguration"
    );
    appconfig
        .get("features")
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(trips(), 2, "cached");

    // Unchanged: the service answers an empty body, and the value read before stays.
    let again = appconfig
        .get("features")
        .force_fetch()
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(again, r#"{"checkout":true}"#);
    assert_eq!(trips(), 3, "one poll with the next token, no new session");

    fake.lock()
        .expect("not poisoned")
        .set("features", r#"{"checkout":false}"#);
    let changed: serde_json::Value = appconfig
        .get("features")
        .force_fetch()
        .json()
        .await
        .expect("the read succeeds");
    assert_eq!(changed["checkout"], false);
    let fake = fake.lock().expect("not poisoned");
    assert_eq!((fake.sessions_started, fake.polls), (1, 3));
}

#[tokio::test]
async fn no_poll_before_the_interval_the_service_asked_for() {
    let mut fake = with_profile("limits", "rate=10");
    fake.poll_interval = 3600;
    let (fake, appconfig) = start(fake).await;
    appconfig
        .get("limits")
        .text()
        .await
        .expect("the read succeeds");
    fake.lock().expect("not poisoned").set("limits", "rate=20");
    let early = appconfig
        .get("limits")
        .force_fetch()
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(
        early, "rate=10",
        "the service would refuse a poll this early"
    );
    assert_eq!(fake.lock().expect("not poisoned").polls, 1);
}

#[tokio::test]
async fn a_token_the_service_no_longer_takes_starts_a_new_session_once() {
    let (fake, appconfig) = start(with_profile("features", "v1")).await;
    appconfig
        .get("features")
        .text()
        .await
        .expect("the read succeeds");
    // Tokens expire after 24 hours; here the fake forgets them all.
    fake.lock().expect("not poisoned").tokens.clear();
    fake.lock().expect("not poisoned").set("features", "v2");
    let value = appconfig
        .get("features")
        .force_fetch()
        .text()
        .await
        .expect("the read succeeds");
    assert_eq!(value, "v2");
    let fake = fake.lock().expect("not poisoned");
    assert_eq!(fake.sessions_started, 2);
    assert_eq!(fake.polls, 3, "the refused poll, then the new session's");
}

#[tokio::test]
async fn an_unknown_profile_is_not_found() {
    let (_fake, appconfig) = start(with_profile("features", "v1")).await;
    let error = appconfig
        .get("absent")
        .text()
        .await
        .expect_err("the read fails");
    assert!(
        matches!(&error, ParameterError::NotFound { name } if name == "absent"),
        "{error:?}"
    );
}

#[tokio::test]
async fn refusals_are_typed_and_only_transient_ones_are_marked_so() {
    let (_fake, appconfig) = start(with_profile("features", "v1")).await;
    let throttled = read_fails!(appconfig.get("throttled"), ParameterError::Throttled { .. });
    assert!(throttled.is_transient());
    assert_eq!(throttled.error_type(), "Parameters.Throttled");
    let denied = read_fails!(appconfig.get("denied"), ParameterError::AccessDenied { .. });
    assert!(!denied.is_transient());
    let failing = read_fails!(appconfig.get("failing"), ParameterError::Service { .. });
    assert!(failing.is_transient());
}
