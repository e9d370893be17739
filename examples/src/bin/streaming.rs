//! A streamed HTTP response for a function URL with `InvokeMode: RESPONSE_STREAM`: rows are
//! sent as they are produced, so the first byte reaches the caller before the last row
//! exists, and the response may exceed the 6 MB buffered limit (up to 200 MB).
//!
//! ```sh
//! cargo run -p examples --bin streaming -- --event '{"rows": 3}'
//! ```

use bytes::Bytes;
use futures_util::StreamExt as _;
use lambda_kit::streaming::HttpStreamResponse;
use lambda_kit::{Context, Error};
use serde::Deserialize;

/// The event: how many rows to stream (default 10).
#[derive(Deserialize)]
struct Report {
    rows: Option<u32>,
}

#[lambda_kit::handler]
async fn report(event: Report, _ctx: &Context) -> Result<HttpStreamResponse, Error> {
    let rows = event.rows.unwrap_or(10);
    let lines = futures_util::stream::iter(1..=rows).then(|n| async move {
        // Each row could come from a query or a file; here it is made on demand.
        tokio::task::yield_now().await;
        Ok::<_, Error>(Bytes::from(format!("row {n}\n")))
    });
    Ok(HttpStreamResponse::new(lines)
        .header("content-type", "text/plain")
        .header("set-cookie", "report=1"))
}
