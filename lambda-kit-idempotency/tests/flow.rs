//! The idempotent flow on the in-process store: first call, replay, cache, validation,
//! concurrent duplicates, handler errors, missing keys, expiry and inconsistent stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use lambda_kit::Error;
use lambda_kit_idempotency::store::{Acquired, StoreFuture};
use lambda_kit_idempotency::{
    Idempotency, IdempotencyBuilder, IdempotencyError, MemoryStore, MissingKey, Record, Status,
    Store, error_type, hash_value,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

mod common;
use common::{Work, ctx};

fn orders(store: Arc<MemoryStore>) -> IdempotencyBuilder {
    Idempotency::builder(store)
        .function_name("payments")
        .key_jmespath("order_id")
}

async fn run(idempotency: &Idempotency, work: &Work, event: &Value) -> Result<Value, Error> {
    idempotency.run(&ctx(), event, || work.charge(event)).await
}

fn idempotency_error(error: &Error) -> &IdempotencyError {
    error
        .downcast_ref::<IdempotencyError>()
        .unwrap_or_else(|| panic!("not an idempotency error: {error}"))
}

/// The record key the documentation promises: `<function>#<sha256 of canonical JSON>`.
fn record_key(function: &str, selected: &Value) -> String {
    format!("{function}#{}", hash_value(selected))
}

#[tokio::test]
async fn a_replay_gets_the_first_response_and_the_work_runs_once() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).local_cache(0).build().expect("valid");
    let work = Work::default();
    let event = json!({"order_id": "o-1", "amount": 5});

    let first = run(&idempotency, &work, &event).await.expect("first call");
    let replay = run(&idempotency, &work, &event).await.expect("replay");

    assert_eq!(first, json!({"order": "o-1", "run": 1}));
    assert_eq!(replay, first);
    assert_eq!(work.runs(), 1);
    // acquire + complete, then one acquire that found the completed record
    assert_eq!(store.calls(), 3);
    let record = store
        .get(&record_key("payments", &json!("o-1")))
        .expect("stored under the documented key");
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.data.as_deref(), Some(r#"{"order":"o-1","run":1}"#));
    assert_eq!(record.in_progress_expiration, None);
}

#[tokio::test]
async fn a_cached_replay_makes_no_store_call() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).build().expect("valid");
    let work = Work::default();
    let event = json!({"order_id": "o-1"});

    run(&idempotency, &work, &event).await.expect("first call");
    let calls = store.calls();
    let replay = run(&idempotency, &work, &event).await.expect("replay");

    assert_eq!(replay["run"], 1);
    assert_eq!(store.calls(), calls, "answered from the local cache");
}

#[tokio::test]
async fn the_whole_event_is_the_key_whatever_its_key_order() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = Idempotency::builder(store).build().expect("valid");
    let work = Work::default();
    let first: Value = serde_json::from_str(r#"{"order_id":"o-1","amount":5}"#).expect("JSON");
    let reordered: Value =
        serde_json::from_str(r#"{ "amount": 5, "order_id": "o-1" }"#).expect("JSON");
    let other = json!({"order_id": "o-1", "amount": 6});

    run(&idempotency, &work, &first).await.expect("first");
    run(&idempotency, &work, &reordered)
        .await
        .expect("same event");
    assert_eq!(work.runs(), 1);
    run(&idempotency, &work, &other)
        .await
        .expect("another event");
    assert_eq!(work.runs(), 2);
}

#[tokio::test]
async fn a_replay_with_another_payload_fails_validation_from_store_and_cache() {
    for cache in [0, 16] {
        let store = Arc::new(MemoryStore::new());
        let idempotency = orders(store)
            .validation_jmespath("amount")
            .local_cache(cache)
            .build()
            .expect("valid");
        let work = Work::default();
        run(
            &idempotency,
            &work,
            &json!({"order_id": "o-1", "amount": 5}),
        )
        .await
        .expect("first call");

        let error = run(
            &idempotency,
            &work,
            &json!({"order_id": "o-1", "amount": 6}),
        )
        .await
        .expect_err("validation fails");

        assert_eq!(error.error_type(), error_type::VALIDATION, "cache {cache}");
        assert!(error.is_client_error());
        assert!(matches!(
            idempotency_error(&error),
            IdempotencyError::Validation { .. }
        ));
        assert_eq!(work.runs(), 1);
    }
}

#[tokio::test]
async fn a_duplicate_while_the_first_runs_is_already_in_progress() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store).build().expect("valid");
    let event = json!({"order_id": "o-1"});
    let (started_tx, started_rx) = oneshot::channel();
    let (finish_tx, finish_rx) = oneshot::channel::<()>();

    let context = ctx();
    let first = idempotency.run(&context, &event, || async {
        started_tx.send(()).expect("the test waits");
        finish_rx.await.expect("the test lets it finish");
        Ok::<_, Error>(json!("charged"))
    });
    let duplicate = async {
        started_rx.await.expect("the first call started");
        let outcome = idempotency
            .run(&ctx(), &event, || async {
                Ok::<_, Error>(json!("charged twice"))
            })
            .await;
        finish_tx.send(()).expect("the first call waits");
        outcome
    };
    let (first, duplicate) = tokio::join!(first, duplicate);

    assert_eq!(first.expect("first call"), json!("charged"));
    let error = duplicate.expect_err("the duplicate is refused");
    assert_eq!(error.error_type(), error_type::ALREADY_IN_PROGRESS);
    assert!(matches!(
        idempotency_error(&error),
        IdempotencyError::AlreadyInProgress { .. }
    ));
}

/// A handler's own failure.
#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

#[tokio::test]
async fn a_failed_call_is_returned_unchanged_and_releases_the_key() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).build().expect("valid");
    let event = json!({"order_id": "o-1"});

    let error = idempotency
        .run(&ctx(), &event, || async { Err::<Value, _>(Declined) })
        .await
        .expect_err("the work failed");
    assert_eq!(error.error_type(), "Declined");
    assert!(error.downcast_ref::<Declined>().is_some());
    assert!(store.is_empty(), "the record was deleted");

    let work = Work::default();
    run(&idempotency, &work, &event)
        .await
        .expect("the retry runs");
    assert_eq!(work.runs(), 1);
}

#[tokio::test]
async fn a_missing_key_skips_idempotency_by_default() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).build().expect("valid");
    let work = Work::default();
    let event = json!({"no_order": true});

    run(&idempotency, &work, &event).await.expect("runs");
    run(&idempotency, &work, &event).await.expect("runs again");

    assert_eq!(work.runs(), 2);
    assert_eq!(store.calls(), 0);
}

#[tokio::test]
async fn a_missing_key_can_be_an_error_and_then_nothing_runs() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store)
        .missing_key(MissingKey::Error)
        .build()
        .expect("valid");
    let work = Work::default();

    let error = run(&idempotency, &work, &json!({"no_order": true}))
        .await
        .expect_err("no key");

    assert_eq!(error.error_type(), error_type::KEY_MISSING);
    assert!(
        error.message().contains("`order_id`"),
        "{}",
        error.message()
    );
    assert_eq!(work.runs(), 0);
}

#[tokio::test]
async fn a_key_inside_a_json_string_body_is_found() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = Idempotency::builder(store)
        .key_jmespath("powertools_json(body).order_id")
        .missing_key(MissingKey::Error)
        .build()
        .expect("valid");
    let work = Work::default();
    let first = json!({"body": "{\"order_id\":\"o-1\",\"note\":\"a\"}"});
    let same_order = json!({"body": "{\"note\":\"b\",\"order_id\":\"o-1\"}"});

    run(&idempotency, &work, &first).await.expect("first");
    run(&idempotency, &work, &same_order).await.expect("replay");

    assert_eq!(work.runs(), 1);
}

#[tokio::test]
async fn a_closure_can_choose_the_key() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = Idempotency::builder(store)
        .key_fn(|event| {
            let id = event.get("order_id")?.as_str()?;
            Some(json!(id.to_lowercase()))
        })
        .build()
        .expect("valid");
    let work = Work::default();

    run(&idempotency, &work, &json!({"order_id": "O-1"}))
        .await
        .expect("first");
    run(&idempotency, &work, &json!({"order_id": "o-1"}))
        .await
        .expect("replay");

    assert_eq!(work.runs(), 1);
}

#[tokio::test]
async fn a_bad_expression_is_a_build_error() {
    let error = Idempotency::builder(MemoryStore::new())
        .key_jmespath("order_id[")
        .build()
        .expect_err("does not compile");
    assert!(error.to_string().contains("order_id["), "{error}");
}

#[tokio::test]
async fn disabled_runs_every_time_and_touches_no_store() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).disabled(true).build().expect("valid");
    let work = Work::default();
    let event = json!({"order_id": "o-1"});

    run(&idempotency, &work, &event).await.expect("runs");
    run(&idempotency, &work, &event).await.expect("runs again");

    assert_eq!(work.runs(), 2);
    assert_eq!(store.calls(), 0);
}

fn record(key: String, status: Status, expiration: SystemTime, in_progress: SystemTime) -> Record {
    let epoch = |time: SystemTime| {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
    };
    Record {
        key,
        status,
        expiration: epoch(expiration).as_secs(),
        in_progress_expiration: Some(u64::try_from(epoch(in_progress).as_millis()).expect("fits")),
        data: Some("\"stale\"".into()),
        validation: None,
    }
}

#[tokio::test]
async fn an_in_progress_record_past_its_deadline_is_taken_over() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).build().expect("valid");
    let now = SystemTime::now();
    // An invocation that timed out a second ago, leaving its record behind.
    let abandoned = record(
        record_key("payments", &json!("o-1")),
        Status::InProgress,
        now + Duration::from_secs(3600),
        now - Duration::from_secs(1),
    );
    store.complete(&abandoned).await.expect("written");
    let work = Work::default();

    run(&idempotency, &work, &json!({"order_id": "o-1"}))
        .await
        .expect("runs");

    assert_eq!(work.runs(), 1);
}

#[tokio::test]
async fn an_expired_completed_record_no_longer_answers() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).build().expect("valid");
    let now = SystemTime::now();
    let old = record(
        record_key("payments", &json!("o-1")),
        Status::Completed,
        now - Duration::from_secs(5),
        now,
    );
    store.complete(&old).await.expect("written");
    let work = Work::default();

    let response = run(&idempotency, &work, &json!({"order_id": "o-1"}))
        .await
        .expect("runs");

    assert_eq!(response["run"], 1);
}

#[tokio::test]
async fn a_stored_response_of_another_type_is_a_typed_error() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store.clone()).local_cache(0).build().expect("valid");
    let event = json!({"order_id": "o-1"});
    idempotency
        .run(&ctx(), &event, || async {
            Ok::<_, Error>("text".to_owned())
        })
        .await
        .expect("first call");

    let error = idempotency
        .run(&ctx(), &event, || async { Ok::<_, Error>(1_u32) })
        .await
        .expect_err("a string is no number");

    assert_eq!(error.error_type(), error_type::STORED_RESPONSE_INVALID);
}

/// A store whose every answer contradicts itself: the key is held, by a record that is
/// already expired.
struct ContradictoryStore {
    acquires: AtomicUsize,
}

impl Store for ContradictoryStore {
    fn acquire<'a>(&'a self, record: &'a Record, _now: SystemTime) -> StoreFuture<'a, Acquired> {
        self.acquires.fetch_add(1, Ordering::SeqCst);
        let expired = Record {
            expiration: 0,
            ..record.clone()
        };
        Box::pin(async move { Ok(Acquired::Existing(expired)) })
    }

    fn complete<'a>(&'a self, _record: &'a Record) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn an_inconsistent_store_is_retried_twice_then_reported() {
    let store = Arc::new(ContradictoryStore {
        acquires: AtomicUsize::new(0),
    });
    let idempotency = Idempotency::builder(store.clone()).build().expect("valid");
    let work = Work::default();

    let error = run(&idempotency, &work, &json!({"order_id": "o-1"}))
        .await
        .expect_err("inconsistent");

    assert_eq!(error.error_type(), error_type::INCONSISTENT_STATE);
    assert_eq!(store.acquires.load(Ordering::SeqCst), 3);
    assert_eq!(work.runs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_duplicates_run_the_work_once() {
    let store = Arc::new(MemoryStore::new());
    let idempotency = orders(store).build().expect("valid");
    let work = Arc::new(Work::default());
    let start = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (idempotency, work, start) = (idempotency.clone(), work.clone(), start.clone());
            tokio::spawn(async move {
                let event = json!({"order_id": "o-1"});
                start.wait().await;
                run(&idempotency, &work, &event).await
            })
        })
        .collect();

    for task in tasks {
        match task.await.expect("task") {
            Ok(response) => assert_eq!(response["run"], 1),
            Err(error) => assert_eq!(error.error_type(), error_type::ALREADY_IN_PROGRESS),
        }
    }
    assert_eq!(work.runs(), 1);
}
