//! Every invocation ends in exactly one accepted answer, whatever the handler does.

use lambda_kit::testing::{AnswerKind, FakeInvocation, Route};
use lambda_kit::{Context, Error, handler_fn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tests::{accepted, assert_error_post, start};

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: u32,
}

/// A hand-written error type, as users without thiserror write them.
#[derive(Debug)]
struct CardDeclined;

impl std::fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the card was declined")
    }
}

impl std::error::Error for CardDeclined {}

async fn charge(order: Order, _ctx: Context) -> Result<Value, Error> {
    match order.amount {
        0 => Err(CardDeclined.into()),
        13 => panic!("unlucky amount {}", order.amount),
        _ => Ok(json!({"id": order.id, "charged": order.amount})),
    }
}

#[tokio::test]
async fn a_response_is_posted_and_the_loop_goes_on() {
    let (api, _runtime) = start(handler_fn(charge)).await;
    for n in 1..=3 {
        let id = api.push(json!({"id": format!("o{n}"), "amount": n}));
        assert_eq!(
            api.response_json(&id).await,
            json!({"id": format!("o{n}"), "charged": n})
        );
        assert_eq!(accepted(&api.posts_for(&id)).len(), 1);
    }
}

#[tokio::test]
async fn a_handler_error_is_posted_with_its_type_name() {
    let (api, _runtime) = start(handler_fn(charge)).await;
    let id = api.push(json!({"id": "o1", "amount": 0}));
    let answer = api.answer(&id).await;
    assert_eq!(answer.kind, AnswerKind::Error);
    assert_error_post(
        &answer.headers,
        &answer.body,
        "CardDeclined",
        "the card was declined",
    );
    // The loop survives it.
    let next = api.push(json!({"id": "o2", "amount": 2}));
    assert_eq!(api.response_json(&next).await["charged"], 2);
}

#[tokio::test]
async fn a_panic_is_posted_as_an_error_and_the_loop_goes_on() {
    let (api, _runtime) = start(handler_fn(charge)).await;
    let id = api.push(json!({"id": "o1", "amount": 13}));
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Runtime.Panic");
    assert!(
        error.error_message.contains("unlucky amount 13"),
        "{}",
        error.error_message
    );
    let next = api.push(json!({"id": "o2", "amount": 2}));
    assert_eq!(api.response_json(&next).await["charged"], 2);
    assert_eq!(accepted(&api.posts_for(&id)).len(), 1);
}

#[tokio::test]
async fn an_undecodable_event_names_the_field() {
    let (api, _runtime) = start(handler_fn(charge)).await;
    let id = api.push(json!({"id": "o1", "amount": "ten"}));
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(
        error.error_message.contains("`amount`"),
        "{}",
        error.error_message
    );
    let not_json = api.push_invocation(FakeInvocation::new("{not json"));
    assert_eq!(
        api.error_answer(&not_json).await.error_type,
        "Runtime.UnmarshalError"
    );
}

struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("floats must be finite"))
    }
}

#[tokio::test]
async fn an_unserializable_response_is_a_marshal_error() {
    let handler = handler_fn(|_: Value, _: Context| async { Ok::<_, Error>(Unserializable) });
    let (api, _runtime) = start(handler).await;
    let id = api.push(json!({}));
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Runtime.MarshalError");
    assert!(error.error_message.contains("floats must be finite"));
}

#[tokio::test]
async fn a_response_the_api_refuses_as_too_large_becomes_an_error() {
    let handler =
        handler_fn(|size: usize, _: Context| async move { Ok::<_, Error>("x".repeat(size)) });
    let (api, _runtime) = start(handler).await;
    api.set_max_response_bytes(1_000);
    let id = api.push(5_000);
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    assert!(
        error.error_message.contains("5002 bytes"),
        "{}",
        error.error_message
    );
    let posts = api.posts_for(&id);
    assert_eq!(posts[0].route, Route::Response);
    assert_eq!(posts[0].status.map(|s| s.as_u16()), Some(413));
    assert_eq!(accepted(&posts).len(), 1);
}

#[tokio::test]
async fn a_response_over_lambdas_limit_is_not_even_sent() {
    let handler =
        handler_fn(|size: usize, _: Context| async move { Ok::<_, Error>("x".repeat(size)) });
    let (api, _runtime) = start(handler).await;
    let id = api.push(7 * 1024 * 1024);
    assert_eq!(
        api.error_answer(&id).await.error_type,
        "Function.ResponseSizeTooLarge"
    );
    let posts = api.posts_for(&id);
    assert_eq!(posts.len(), 1, "only the error post: {posts:?}");
    assert_eq!(posts[0].route, Route::Error);
}

#[tokio::test]
async fn a_six_megabyte_event_is_served() {
    let handler =
        handler_fn(|event: String, _: Context| async move { Ok::<_, Error>(event.len()) });
    let (api, _runtime) = start(handler).await;
    let id = api.push("e".repeat(6 * 1024 * 1024 - 2));
    assert_eq!(api.response_json(&id).await, json!(6 * 1024 * 1024 - 2));
}

#[tokio::test]
async fn the_url_form_with_a_path_prefix_is_used() {
    let api = lambda_kit::testing::FakeRuntimeApi::start()
        .await
        .expect("starts");
    let _runtime = tests::spawn_runtime(&api.url_with_prefix("/.rt/hello"), handler_fn(charge));
    let id = api.push(json!({"id": "o1", "amount": 1}));
    assert_eq!(api.response_json(&id).await["charged"], 1);
    let calls = api.calls();
    assert!(!calls.is_empty());
    for call in &calls {
        assert!(
            call.path.starts_with("/.rt/hello/2018-06-01/runtime/"),
            "{}",
            call.path
        );
    }
}
