//! The README's function: greets the `name` in the event.
//!
//! ```sh
//! cargo run -p examples --bin hello -- --event '{"name":"Ada"}'
//! ```

use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde::{Deserialize, Serialize};

/// The event: `{"name": "Ada"}`, or `{}` to greet the world.
#[derive(Deserialize)]
struct Request {
    name: Option<String>,
}

/// The response: `{"message": "Hello, Ada!"}`.
#[derive(Serialize)]
struct Response {
    message: String,
}

async fn hello(event: Request, ctx: Context) -> Result<Response, Error> {
    tracing::info!(
        remaining_ms = ctx.remaining_time().as_millis() as u64,
        "greeting"
    );
    let name = event.name.as_deref().unwrap_or("world");
    Ok(Response {
        message: format!("Hello, {name}!"),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    Runtime::from_env()?.run(handler_fn(hello)).await
}
