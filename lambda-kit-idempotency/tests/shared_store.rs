//! The behaviour every shared store must have, checked on Redis and DynamoDB alike:
//! round trips per call (first 2, replay 1, cache hit 0), exactly one run among many
//! concurrent duplicates from several "environments", and the handler not running when
//! the store is unreachable.

#![cfg(any(feature = "redis", feature = "dynamodb"))]

mod common;
use common::{Work, ctx};

use std::sync::Arc;

use std::time::Duration;

use lambda_kit::Error;
use lambda_kit_idempotency::{Idempotency, Store, error_type};
use serde_json::json;

fn idempotency(store: impl Store, function: &str, cache: usize) -> Idempotency {
    Idempotency::builder(store)
        .function_name(function)
        .key_jmespath("order_id")
        .local_cache(cache)
        .build()
        .expect("valid")
}

/// First call 2 round trips, a replay from another environment 1, a cached replay 0.
async fn check_round_trips<S: Store>(
    first_env: Arc<S>,
    second_env: Arc<S>,
    round_trips: impl Fn(&S) -> u64,
) {
    let function = common::unique("round-trips");
    let first = idempotency(first_env.clone(), &function, 16);
    let second = idempotency(second_env.clone(), &function, 16);
    let work = Work::default();
    let event = json!({"order_id": "o-1"});

    let before = round_trips(&first_env);
    let response = first
        .run(&ctx(), &event, || work.charge(&event))
        .await
        .expect("first call");
    assert_eq!(round_trips(&first_env) - before, 2, "first call");

    let before = round_trips(&second_env);
    let replay = second
        .run(&ctx(), &event, || work.charge(&event))
        .await
        .expect("replay");
    assert_eq!(round_trips(&second_env) - before, 1, "replay");
    assert_eq!(replay, response);

    let before = round_trips(&second_env);
    let cached = second
        .run(&ctx(), &event, || work.charge(&event))
        .await
        .expect("cached replay");
    assert_eq!(round_trips(&second_env) - before, 0, "cache hit");
    assert_eq!(cached, response);
    assert_eq!(work.runs(), 1);
}

/// 48 tasks in 4 environments (one store connection each) send the same key at once.
async fn check_concurrent_duplicates<S: Store>(environments: Vec<Arc<S>>) {
    let function = common::unique("concurrent");
    let work = Arc::new(Work::default());
    let start = Arc::new(tokio::sync::Barrier::new(environments.len() * 12));
    let mut tasks = Vec::new();
    for store in environments {
        let idempotency = idempotency(store, &function, 0);
        for _ in 0..12 {
            let (idempotency, work, start) = (idempotency.clone(), work.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                let event = json!({"order_id": "o-1"});
                start.wait().await;
                idempotency
                    .run(&ctx(), &event, || work.charge(&event))
                    .await
            }));
        }
    }
    for task in tasks {
        match task.await.expect("task") {
            Ok(response) => assert_eq!(response, json!({"order": "o-1", "run": 1})),
            Err(error) => assert_eq!(
                error.error_type(),
                error_type::ALREADY_IN_PROGRESS,
                "{error}"
            ),
        }
    }
    assert_eq!(work.runs(), 1, "the work ran once");
}

/// An unreachable store fails with `Idempotency.Persistence` and the work does not run.
async fn check_unreachable(store: impl Store) {
    let idempotency = idempotency(store, "unreachable", 16);
    let work = Work::default();

    let event = json!({"order_id": "o-1"});
    let error = idempotency
        .run(&ctx(), &event, || work.charge(&event))
        .await
        .expect_err("no store");

    assert_eq!(error.error_type(), error_type::PERSISTENCE, "{error}");
    assert_eq!(work.runs(), 0);
}

#[cfg(feature = "redis")]
mod redis_store {
    use super::*;
    use lambda_kit_idempotency::store::RedisStore;

    async fn connect() -> Arc<RedisStore> {
        Arc::new(
            RedisStore::connect(&common::redis_url())
                .await
                .expect("the test Redis server answers"),
        )
    }

    #[tokio::test]
    async fn round_trips_are_two_then_one_then_none() {
        check_round_trips(connect().await, connect().await, RedisStore::round_trips).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_duplicates_run_once() {
        let mut environments = Vec::new();
        for _ in 0..4 {
            environments.push(connect().await);
        }
        check_concurrent_duplicates(environments).await;
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_typed_error_at_connect() {
        let url = format!("redis://127.0.0.1:{}", common::closed_port());
        let error = RedisStore::connect(&url)
            .await
            .expect_err("nothing listens");
        assert!(error.to_string().contains("cannot connect"), "{error}");
    }

    /// A redis-server of this test's own, so that stopping it disturbs no other test.
    struct OwnRedis {
        process: std::process::Child,
        url: String,
        _dir: std::path::PathBuf,
    }

    impl OwnRedis {
        async fn start() -> Self {
            let port = common::closed_port();
            let dir = std::env::temp_dir().join(common::unique("redis"));
            std::fs::create_dir_all(&dir).expect("a scratch directory");
            let process = std::process::Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server runs (scripts/test-servers.sh installs it)");
            let url = format!("redis://127.0.0.1:{port}");
            // Ready once it answers a PING.
            let client = redis::Client::open(url.as_str()).expect("url");
            loop {
                if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                    if redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .is_ok()
                    {
                        break;
                    }
                }
                tokio::task::yield_now().await;
            }
            OwnRedis {
                process,
                url,
                _dir: dir,
            }
        }

        fn signal(&self, signal: &str) {
            let status = std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(self.process.id().to_string())
                .status()
                .expect("kill runs");
            assert!(status.success());
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            self.signal("CONT");
            let _ = self.process.kill();
            let _ = self.process.wait();
            let _ = std::fs::remove_dir_all(&self._dir);
        }
    }

    #[tokio::test]
    async fn an_acquire_that_reaches_a_stalled_server_late_writes_nothing() {
        let server = OwnRedis::start().await;
        let store = Arc::new(
            RedisStore::connect_with_timeout(&server.url, Duration::from_millis(300))
                .await
                .expect("connects"),
        );
        let idempotency = idempotency(Arc::clone(&store), &common::unique("stalled"), 0);
        let work = Work::default();
        let event = json!({"order_id": "o-1"});

        server.signal("STOP");
        let error = idempotency
            .run(&ctx(), &event, || work.charge(&event))
            .await
            .expect_err("the server is stopped");
        assert_eq!(error.error_type(), error_type::PERSISTENCE, "{error}");
        assert_eq!(work.runs(), 0);

        // Resumed, the server runs the acquire it had queued, after the client gave up on it.
        server.signal("CONT");
        let client = redis::Client::open(server.url.as_str()).expect("url");
        let mut probe = client
            .get_multiplexed_async_connection()
            .await
            .expect("connects");
        let _: String = redis::cmd("PING")
            .query_async(&mut probe)
            .await
            .expect("PING");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut probe)
            .await
            .expect("KEYS");
        assert!(keys.is_empty(), "the late acquire wrote {keys:?}");

        // So the retry runs the work, instead of meeting an in-progress record.
        idempotency
            .run(&ctx(), &event, || work.charge(&event))
            .await
            .expect("the retry runs");
        assert_eq!(work.runs(), 1);
    }

    #[tokio::test]
    async fn records_carry_their_fields_and_a_ttl() {
        let store = connect().await;
        let function = common::unique("fields");
        let idempotency = Idempotency::builder(store)
            .function_name(&function)
            .key_jmespath("order_id")
            .validation_jmespath("amount")
            .expires_after(Duration::from_secs(600))
            .build()
            .expect("valid");
        let event = json!({"order_id": "o-1", "amount": 3});
        idempotency
            .run(&ctx(), &event, || async { Ok::<_, Error>(json!("ok")) })
            .await
            .expect("runs");

        let key = format!(
            "{function}#{}",
            lambda_kit_idempotency::hash_value(&json!("o-1"))
        );
        let client = redis::Client::open(common::redis_url()).expect("url");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("connects");
        let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("HGETALL");
        assert_eq!(fields["status"], "COMPLETED");
        assert_eq!(fields["data"], "\"ok\"");
        assert_eq!(
            fields["validation"],
            lambda_kit_idempotency::hash_value(&json!(3))
        );
        assert!(!fields.contains_key("in_progress_expiration"));
        let ttl_ms: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("PTTL");
        assert!(ttl_ms > 0 && ttl_ms <= 600_000, "TTL {ttl_ms} ms");
    }
}

#[cfg(feature = "dynamodb")]
mod dynamodb_store {
    use super::*;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    use lambda_kit_idempotency::store::DynamoDbStore;

    fn store() -> Arc<DynamoDbStore> {
        let client = common::dynamodb_client(&common::dynamodb_url());
        Arc::new(DynamoDbStore::builder(client, common::dynamodb_table()).build())
    }

    #[tokio::test]
    async fn round_trips_are_two_then_one_then_none() {
        check_round_trips(store(), store(), DynamoDbStore::round_trips).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_duplicates_run_once() {
        check_concurrent_duplicates((0..4).map(|_| store()).collect()).await;
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_persistence_error_and_nothing_runs() {
        let endpoint = format!("http://127.0.0.1:{}", common::closed_port());
        let client = common::dynamodb_client(&endpoint);
        check_unreachable(DynamoDbStore::builder(client, "idempotency").build()).await;
    }

    /// A server that accepts connections and never answers, as a stopped process would.
    async fn stalled_endpoint() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        (endpoint, holder)
    }

    /// A client with nothing but the endpoint: no timeouts of its own.
    fn bare_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(common::bare_dynamodb_config(endpoint).build())
    }

    #[tokio::test]
    async fn a_stalled_endpoint_is_a_persistence_error_within_the_default_timeout() {
        let (endpoint, _holder) = stalled_endpoint().await;
        check_unreachable(DynamoDbStore::builder(bare_client(&endpoint), "idempotency").build())
            .await;
    }

    #[tokio::test]
    async fn a_stalled_endpoint_honours_the_configured_timeout() {
        let (endpoint, _holder) = stalled_endpoint().await;
        let store = DynamoDbStore::builder(bare_client(&endpoint), "idempotency")
            .attempt_timeout(Duration::from_millis(200))
            .operation_timeout(Duration::from_millis(300))
            .build();
        check_unreachable(store).await;
    }

    #[tokio::test]
    async fn a_missing_table_is_a_persistence_error_and_nothing_runs() {
        let client = common::dynamodb_client(&common::dynamodb_url());
        check_unreachable(DynamoDbStore::builder(client, "no-such-table").build()).await;
    }

    /// The item has Powertools' attribute names and types.
    #[tokio::test]
    async fn items_follow_the_powertools_schema() {
        let client = common::dynamodb_client(&common::dynamodb_url());
        let table = common::dynamodb_table();
        let function = common::unique("schema");
        let idempotency = Idempotency::builder(store())
            .function_name(&function)
            .key_jmespath("order_id")
            .validation_jmespath("amount")
            .build()
            .expect("valid");
        let event = json!({"order_id": "o-1", "amount": 3});
        idempotency
            .run(&ctx(), &event, || async {
                Ok::<_, Error>(json!({"ok": true}))
            })
            .await
            .expect("runs");

        let key = format!(
            "{function}#{}",
            lambda_kit_idempotency::hash_value(&json!("o-1"))
        );
        let item = client
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S(key))
            .send()
            .await
            .expect("GetItem")
            .item
            .expect("the item exists");
        assert_eq!(item["status"], AttributeValue::S("COMPLETED".into()));
        assert_eq!(item["data"], AttributeValue::S(r#"{"ok":true}"#.into()));
        assert_eq!(
            item["validation"],
            AttributeValue::S(lambda_kit_idempotency::hash_value(&json!(3)))
        );
        let expiration: u64 = item["expiration"]
            .as_n()
            .expect("a number")
            .parse()
            .expect("an integer");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert!(expiration > now && expiration <= now + 3600, "{expiration}");
        assert!(!item.contains_key("in_progress_expiration"));
    }

    #[tokio::test]
    async fn sort_key_mode_keeps_records_under_one_partition() {
        let client = common::dynamodb_client(&common::dynamodb_url());
        let table = common::unique("sort-key-table");
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("complete")
        };
        client
            .create_table()
            .table_name(&table)
            .attribute_definitions(attribute("id"))
            .attribute_definitions(attribute("sk"))
            .key_schema(key("id", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("CreateTable");
        let store = DynamoDbStore::builder(client.clone(), &table)
            .sort_key_attr("sk")
            .static_partition_value("idempotency#payments")
            .build();
        let idempotency = idempotency(store, "payments", 0);
        let work = Work::default();
        let event = json!({"order_id": "o-1"});
        for _ in 0..2 {
            idempotency
                .run(&ctx(), &event, || work.charge(&event))
                .await
                .expect("runs or replays");
        }

        let items = client
            .query()
            .table_name(&table)
            .key_condition_expression("id = :pk")
            .expression_attribute_values(":pk", AttributeValue::S("idempotency#payments".into()))
            .send()
            .await
            .expect("Query")
            .items
            .unwrap_or_default();
        assert_eq!(items.len(), 1);
        let sort_key = items[0]["sk"].as_s().expect("a string");
        assert!(sort_key.starts_with("payments#"), "{sort_key}");
        assert_eq!(work.runs(), 1);
    }
}
