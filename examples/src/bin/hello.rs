//! The README's function: greets the `name` in the event.
//!
//! ```sh
//! cargo run -p examples --bin hello -- --event '{"name":"Ada"}'
//! ```

use lambda_kit::{Context, Error};

/// The event: `{"name": "Ada"}`, or `{}` to greet the world.
#[derive(serde::Deserialize)]
struct Request {
    name: Option<String>,
}

/// The response: `{"message": "Hello, Ada!"}`.
#[derive(serde::Serialize)]
struct Response {
    message: String,
}

#[lambda_kit::handler]
async fn hello(event: Request, ctx: Context) -> Result<Response, Error> {
    tracing::info!(
        remaining_ms = ctx.remaining_time().as_millis() as u64,
        "greeting"
    );
    Ok(Response {
        message: format!("Hello, {}!", event.name.as_deref().unwrap_or("world")),
    })
}
