//! Form `(event, ctx: Context, state: &S)` with a plain (not async) init fn.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

static SETUPS: AtomicUsize = AtomicUsize::new(0);

struct Greeting(String);

fn setup() -> Result<Greeting, Infallible> {
    SETUPS.fetch_add(1, Ordering::SeqCst);
    Ok(Greeting(
        std::env::var("GREETING").unwrap_or_else(|_| "Hello".into()),
    ))
}

#[lambda_kit::handler(init = setup)]
async fn greet(event: Value, _ctx: Context, greeting: &Greeting) -> Result<Value, Error> {
    Ok(json!({
        "message": format!("{}, {}!", greeting.0, event["name"].as_str().unwrap_or("world")),
        "setups": SETUPS.load(Ordering::SeqCst),
    }))
}
