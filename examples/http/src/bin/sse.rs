//! Server-sent events from an axum route, streamed through a function URL with
//! `InvokeMode: RESPONSE_STREAM`: each event leaves the function as soon as it is produced.
//!
//! - `GET /events?count=N&interval_ms=M`: `N` events named `tick` (default 5), `M`
//!   milliseconds apart (default 500), with data `1` to `N`, then an event `done`.
//! - `GET /`: a page that subscribes to `/events` with `EventSource` and lists what arrives.
//!
//! ```sh
//! cargo run -p examples-http --bin sse -- --event "$(sed 's|/widgets|/events|' tests/fixtures/function-url.json)"
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use futures_util::Stream;
use lambda_kit::http::QueryStringParameters;

/// The events of one subscription: `count` ticks, `interval` apart, then `done`.
fn ticks(count: u64, interval: Duration) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(1, move |n| async move {
        if n > count + 1 {
            return None;
        }
        if n > 1 {
            tokio::time::sleep(interval).await;
        }
        let event = if n > count {
            Event::default().event("done").data(count.to_string())
        } else {
            Event::default().event("tick").data(n.to_string())
        };
        Some((Ok(event), n + 1))
    })
}

/// `GET /events`.
async fn events(
    query: Option<Extension<QueryStringParameters>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let number = |name: &str, default: u64| {
        query
            .as_ref()
            .and_then(|Extension(QueryStringParameters(query))| query.first(name))
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let count = number("count", 5);
    let interval = Duration::from_millis(number("interval_ms", 500));
    Sse::new(ticks(count, interval))
}

/// `GET /`: the page that subscribes.
async fn page() -> impl IntoResponse {
    Html(include_str!("sse.html"))
}

/// The application, built once per environment; its responses are streamed.
#[lambda_kit::handler(http(streaming))]
fn app() -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
}
