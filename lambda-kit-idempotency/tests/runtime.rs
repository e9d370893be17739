//! Idempotency inside the real runtime loop, against a fake Runtime API over HTTP: the
//! layer around a whole handler, and `run` per record inside a batch handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_kit::batch::BatchProcessor;
use lambda_kit::events::sqs::{SqsEvent, SqsMessage};
use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi, events};
use lambda_kit::{Config, Context, Error, Runtime, handler_fn};
use lambda_kit_idempotency::{
    Idempotency, IdempotencyLayer, MemoryStore, Status, error_type, hash_value,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn runtime(api: &FakeRuntimeApi) -> Runtime {
    let address = api.address();
    let config =
        Config::from_lookup(|name| (name == "AWS_LAMBDA_RUNTIME_API").then(|| address.clone()))
            .expect("valid configuration");
    Runtime::from_config(config).expect("a runtime")
}

fn payments(store: Arc<MemoryStore>) -> Idempotency {
    Idempotency::builder(store)
        .function_name("payments")
        .key_jmespath("order_id")
        .validation_jmespath("amount")
        .build()
        .expect("valid")
}

#[tokio::test]
async fn the_layer_answers_duplicates_with_the_first_response() {
    let api = FakeRuntimeApi::start().await.expect("fake API starts");
    let charges = Arc::new(AtomicUsize::new(0));
    let counter = charges.clone();
    let handler = handler_fn(move |event: Value, ctx: Context| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Error>(json!({"order_id": event["order_id"], "charge_id": ctx.request_id()}))
        }
    });
    let layer = IdempotencyLayer::new(payments(Arc::new(MemoryStore::new())));
    tokio::spawn(runtime(&api).layer(layer).run(handler));

    let first = api.push(json!({"order_id": "o-1", "amount": 5}));
    let duplicate = api.push(json!({"amount": 5, "order_id": "o-1"}));
    let changed = api.push(json!({"order_id": "o-1", "amount": 6}));

    let response = api.response_json(&first).await;
    assert_eq!(response, json!({"order_id": "o-1", "charge_id": first}));
    assert_eq!(api.response_json(&duplicate).await, response);
    let error = api.error_answer(&changed).await;
    assert_eq!(error.error_type, error_type::VALIDATION);
    assert_eq!(charges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_in_progress_record_expires_at_the_invocation_deadline() {
    let api = FakeRuntimeApi::start().await.expect("fake API starts");
    let store = Arc::new(MemoryStore::new());
    let (running_tx, mut running_rx) = mpsc::channel::<()>(1);
    let (finish_tx, finish_rx) = mpsc::channel::<()>(1);
    let finish_rx = Arc::new(tokio::sync::Mutex::new(finish_rx));
    let handler = handler_fn(move |_event: Value, _ctx: Context| {
        let (running_tx, finish_rx) = (running_tx.clone(), finish_rx.clone());
        async move {
            running_tx.send(()).await.expect("the test listens");
            finish_rx.lock().await.recv().await;
            Ok::<_, Error>(json!("done"))
        }
    });
    let layer = IdempotencyLayer::new(payments(store.clone()));
    tokio::spawn(runtime(&api).layer(layer).run(handler));
    let deadline = SystemTime::now() + Duration::from_secs(600);
    let deadline_ms = u64::try_from(
        deadline
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits");
    let invocation = FakeInvocation::json(&json!({"order_id": "o-1", "amount": 5}))
        .header("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    let request_id = api.push_invocation(invocation);

    running_rx.recv().await.expect("the handler runs");
    let record = store
        .get(&format!("payments#{}", hash_value(&json!("o-1"))))
        .expect("the in-progress record");
    assert_eq!(record.status, Status::InProgress);
    assert_eq!(record.in_progress_expiration, Some(deadline_ms));
    finish_tx.send(()).await.expect("the handler waits");
    assert_eq!(api.response_json(&request_id).await, json!("done"));
}

#[tokio::test]
async fn a_batch_charges_each_order_once_across_duplicates_and_redelivery() {
    let api = FakeRuntimeApi::start().await.expect("fake API starts");
    let charged: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let idempotency = Idempotency::builder(MemoryStore::new())
        .function_name("orders")
        .scope("charge")
        .key_jmespath("powertools_json(body).order_id")
        .build()
        .expect("valid");
    let ledger = charged.clone();
    let handler = handler_fn(move |event: SqsEvent, ctx: Context| {
        let (idempotency, ledger) = (idempotency.clone(), ledger.clone());
        async move {
            BatchProcessor::new()
                .sqs(event, |message: SqsMessage| {
                    let (idempotency, ledger, ctx) =
                        (idempotency.clone(), ledger.clone(), ctx.clone());
                    async move {
                        let body: Value =
                            serde_json::from_str(message.body.as_deref().unwrap_or("null"))?;
                        idempotency
                            .run(&ctx, &message, || async {
                                let order =
                                    body["order_id"].as_str().unwrap_or_default().to_owned();
                                ledger.lock().expect("not poisoned").push(order);
                                Ok::<_, Error>(())
                            })
                            .await
                    }
                })
                .await
        }
    });
    tokio::spawn(runtime(&api).run(handler));
    let order = |id: &str| json!({"order_id": id}).to_string();

    // The same order twice in one batch (a producer retry), then the batch redelivered.
    let batch = events::sqs_batch([order("o-1"), order("o-2"), order("o-1")]);
    let first = api.push(batch);
    let redelivered = api.push(events::sqs_batch([order("o-2"), order("o-3")]));

    let first = api.response_json(&first).await;
    let second = api.response_json(&redelivered).await;
    let mut charged = charged.lock().expect("not poisoned").clone();
    charged.sort();
    assert_eq!(charged, ["o-1", "o-2", "o-3"]);
    // One record at a time: the duplicate and the redelivered order are answered from
    // their records, so no message fails.
    assert_eq!(first, json!({"batchItemFailures": []}));
    assert_eq!(second, json!({"batchItemFailures": []}));
}
