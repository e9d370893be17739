//! The HTTP listener a Telemetry API subscription names as its destination: Lambda posts
//! batches (JSON arrays) to it, and each batch goes to the user's handler.
//!
//! It answers `200` once the handler has taken a batch, `500` when the handler failed (so
//! that Lambda sends the batch again, as it does for a listener that fails), and `400` for
//! a body that is not a JSON array. One malformed element never costs the others: see
//! `telemetry.rs`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::telemetry::{TelemetryEvent, parse_batch};
use crate::error::Error;

/// The largest batch read: Lambda sends at most twice `maxBytes` (1 MiB at most) plus its
/// metadata.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The user's batch handler, type-erased.
pub(crate) type BatchHandler = Arc<
    dyn Fn(Vec<TelemetryEvent>) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>
        + Send
        + Sync,
>;

/// Binds `address` and serves batches to `handler` on a task of its own; returns the port.
pub(crate) async fn start(address: SocketAddr, handler: BatchHandler) -> std::io::Result<u16> {
    let listener = TcpListener::bind(address).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let service = service_fn(move |request| take_batch(Arc::clone(&handler), request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(port)
}

async fn take_batch(
    handler: BatchHandler,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST {
        return Ok(answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "the telemetry listener takes POST",
        ));
    }
    let body = match Limited::new(request.into_body(), MAX_BATCH_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the batch is over 4 MiB",
            ));
        }
    };
    let Some(batch) = parse_batch(&body) else {
        tracing::warn!(
            bytes = body.len(),
            "a telemetry batch that is not a JSON array was refused"
        );
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            "a telemetry batch is a JSON array",
        ));
    };
    let taken = crate::panic::guarded("the telemetry handler", || handler(batch))
        .await
        .and_then(|outcome| outcome);
    Ok(match taken {
        Ok(()) => answer(StatusCode::OK, "OK"),
        Err(error) => {
            tracing::warn!(
                errorType = error.error_type(),
                errorMessage = error.message(),
                "the telemetry handler failed; Lambda will send the batch again"
            );
            answer(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
        }
    })
}

fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
