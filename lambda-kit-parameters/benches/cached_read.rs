//! One read served from the cache: what every invocation after the first pays for a
//! parameter. The provider is in memory (no store is called on a cache hit, so its kind
//! does not matter); each read is polled once, as a cache hit completes without waiting.
//!
//! ```sh
//! cargo bench -p lambda-kit-parameters --bench cached_read
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_kit_parameters::{ParameterError, Parameters, Provider, Value};

/// Values held in memory.
struct InMemory;

impl Provider for InMemory {
    type Request = String;
    const KIND: &'static str = "memory";

    fn name(request: &String) -> &str {
        request
    }

    async fn fetch(&self, name: &String) -> Result<Value, ParameterError> {
        Ok(match name.as_str() {
            "/app/settings.json" => Value::from(r#"{"rate":10,"region":"eu-west-1"}"#),
            _ => Value::from("postgres://app@db.internal:5432/orders"),
        })
    }
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Settings {
    rate: u32,
    region: String,
}

/// Polls `future` once: a cache hit is ready at once.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a cache hit completes without waiting"),
    }
}

fn cached_read(c: &mut Criterion) {
    let parameters = Parameters::new(InMemory)
        .expect("valid environment")
        .with_max_age(Duration::from_secs(3600));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        parameters.get("/app/db-url").text().await.expect("fetched");
        parameters
            .get("/app/settings.json")
            .text()
            .await
            .expect("fetched");
    });

    c.bench_function("cached read: value", |b| {
        b.iter(|| ready(parameters.get(black_box("/app/db-url")).value()))
    });
    c.bench_function("cached read: text", |b| {
        b.iter(|| ready(parameters.get(black_box("/app/db-url")).text()))
    });
    c.bench_function("cached read: secret", |b| {
        b.iter(|| ready(parameters.get(black_box("/app/db-url")).secret()))
    });
    c.bench_function("cached read: json (decoded each read)", |b| {
        b.iter(|| {
            ready(
                parameters
                    .get(black_box("/app/settings.json"))
                    .json::<Settings>(),
            )
        })
    });
}

criterion_group!(benches, cached_read);
criterion_main!(benches);
