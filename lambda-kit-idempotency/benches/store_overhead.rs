//! The cost of idempotency per call on each store: a first call (acquire + complete), a
//! replay answered by the store (another environment, no local cache), and a replay
//! answered by the local cache, next to the same work without idempotency. Round trips
//! are the stores' own counts (DynamoDB: HTTP requests sent; Redis: requests sent).
//!
//! The Redis and DynamoDB-compatible servers come from `scripts/test-servers.sh`:
//!
//! ```sh
//! bash -c 'source scripts/test-servers.sh && \
//!   cargo bench -p lambda-kit-idempotency --all-features --bench store_overhead'
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_kit::Error;
use lambda_kit_idempotency::store::{DynamoDbStore, RedisStore};
use lambda_kit_idempotency::{Idempotency, MemoryStore, Store};
use serde_json::{Value, json};

/// One store to measure, and how to read its round-trip count.
struct Subject<S> {
    name: &'static str,
    first_env: Arc<S>,
    second_env: Arc<S>,
    round_trips: fn(&S) -> u64,
}

/// Mean time and round trips per call of one phase.
struct Phase {
    micros: f64,
    round_trips: f64,
}

/// Calls per phase.
const CALLS: usize = 2_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(CALLS).await
}

/// Runs every available store, `calls` calls per phase, and prints a table.
async fn run(calls: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = lambda_kit::testing::context()
        .remaining_time(Duration::from_secs(60))
        .build();
    let baseline = baseline(&ctx, calls).await;
    println!("idempotency overhead per call, {calls} calls per phase (mean)");
    println!();
    println!(
        "| store | first call | round trips | replay (store) | round trips | replay (local cache) | round trips |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!("| none (the work alone) | {baseline:.1} µs | 0 | | | | |");

    let memory = Subject {
        name: "memory",
        first_env: Arc::new(MemoryStore::new()),
        second_env: Arc::new(MemoryStore::new()),
        round_trips: MemoryStore::calls,
    };
    row(&memory, &ctx, calls, false).await?;

    match std::env::var("LAMBDA_KIT_TEST_REDIS_URL") {
        Ok(url) => {
            let redis = RedisStore::connect(&url).await?;
            let redis = Arc::new(redis);
            let subject = Subject {
                name: "Redis",
                first_env: redis.clone(),
                second_env: redis,
                round_trips: RedisStore::round_trips,
            };
            row(&subject, &ctx, calls, true).await?;
        }
        Err(_) => println!("| Redis | skipped: LAMBDA_KIT_TEST_REDIS_URL unset | | | | | |"),
    }
    match (
        std::env::var("LAMBDA_KIT_TEST_DYNAMODB_URL"),
        std::env::var("LAMBDA_KIT_TEST_TABLE"),
    ) {
        (Ok(endpoint), Ok(table)) => {
            let store = Arc::new(DynamoDbStore::builder(dynamodb_client(&endpoint), table).build());
            let subject = Subject {
                name: "DynamoDB-compatible (moto)",
                first_env: store.clone(),
                second_env: store,
                round_trips: DynamoDbStore::round_trips,
            };
            row(&subject, &ctx, calls, true).await?;
        }
        _ => println!("| DynamoDB | skipped: LAMBDA_KIT_TEST_DYNAMODB_URL unset | | | | | |"),
    }
    Ok(())
}

async fn work(order: &Value) -> Result<Value, Error> {
    Ok(json!({"order_id": order["order_id"], "charged": true}))
}

fn order(run: &str, index: usize) -> Value {
    json!({"order_id": format!("{run}-{index}"), "amount": 12.5})
}

async fn baseline(_ctx: &lambda_kit::Context, calls: usize) -> f64 {
    let start = Instant::now();
    for index in 0..calls {
        let event = order("baseline", index);
        std::hint::black_box(work(&event).await.ok());
    }
    micros_per_call(start.elapsed(), calls)
}

/// Measures the three phases on one store and prints its row. A shared store's replays
/// come from a second `Idempotency` without cache, as another environment would see them.
async fn row<S: Store>(
    subject: &Subject<S>,
    ctx: &lambda_kit::Context,
    calls: usize,
    shared: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let run_id = format!("bench-{}-{}", std::process::id(), subject.name);
    let build = |store: Arc<S>, cache: usize| {
        Idempotency::builder(store)
            .function_name("bench")
            .key_jmespath("order_id")
            .local_cache(cache)
            .build()
    };
    let first_env = build(subject.first_env.clone(), calls)?;
    let count_first = || (subject.round_trips)(&subject.first_env);

    let first = phase(count_first, &first_env, ctx, &run_id, calls).await?;
    let replay_cells = if shared {
        let other_env = build(subject.second_env.clone(), 0)?;
        let count_other = || (subject.round_trips)(&subject.second_env);
        let replay = phase(count_other, &other_env, ctx, &run_id, calls).await?;
        format!("{:.1} µs | {:.1}", replay.micros, replay.round_trips)
    } else {
        "- | -".to_owned()
    };
    let cached = phase(count_first, &first_env, ctx, &run_id, calls).await?;
    println!(
        "| {} | {:.1} µs | {:.1} | {replay_cells} | {:.1} µs | {:.1} |",
        subject.name, first.micros, first.round_trips, cached.micros, cached.round_trips
    );
    Ok(())
}

/// One idempotent call per order of this run.
async fn each_order(
    idempotency: &Idempotency,
    ctx: &lambda_kit::Context,
    run_id: &str,
    calls: usize,
) -> Result<(), String> {
    for index in 0..calls {
        let event = order(run_id, index);
        idempotency
            .run(ctx, &event, || work(&event))
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Times one call per order of this run and counts the round trips they made.
async fn phase(
    round_trips: impl Fn() -> u64,
    idempotency: &Idempotency,
    ctx: &lambda_kit::Context,
    run_id: &str,
    calls: usize,
) -> Result<Phase, String> {
    let before = round_trips();
    let start = Instant::now();
    each_order(idempotency, ctx, run_id, calls).await?;
    let elapsed = start.elapsed();
    Ok(Phase {
        micros: micros_per_call(elapsed, calls),
        round_trips: (round_trips() - before) as f64 / calls as f64,
    })
}

fn micros_per_call(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / calls as f64
}

fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
