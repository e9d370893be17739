//! Redis loses its script cache on a restart (or `SCRIPT FLUSH`); the store then sends
//! the script itself. Its own test target, because the flush is server-wide and would
//! change the round-trip counts of tests running beside it (cargo runs test targets one
//! after another).

#![cfg(feature = "redis")]

mod common;

use std::time::Duration;

use lambda_kit::Error;
use lambda_kit_idempotency::Idempotency;
use lambda_kit_idempotency::store::RedisStore;
use serde_json::json;

#[tokio::test]
async fn a_flushed_script_cache_costs_one_more_round_trip() {
    let store = std::sync::Arc::new(
        RedisStore::connect(&common::redis_url())
            .await
            .expect("the test Redis server answers"),
    );
    let client = redis::Client::open(common::redis_url()).expect("url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut connection)
        .await
        .expect("SCRIPT FLUSH");
    let idempotency = Idempotency::builder(store.clone())
        .function_name(common::unique("flushed"))
        .key_jmespath("order_id")
        .local_cache(0)
        .build()
        .expect("valid");
    let ctx = lambda_kit::testing::context()
        .remaining_time(Duration::from_secs(60))
        .build();

    let before = store.round_trips();
    idempotency
        .run(&ctx, &json!({"order_id": "o-1"}), || async {
            Ok::<_, Error>(1)
        })
        .await
        .expect("runs");

    // EVALSHA (NOSCRIPT), EVAL, then the completion.
    assert_eq!(store.round_trips() - before, 3);
}
