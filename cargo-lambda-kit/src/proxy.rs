//! The one local API in front of the functions: each request goes, as it came, to the
//! function process its route names, and the answer comes back as it is produced (a
//! stream stays a stream). A path no route takes gets API Gateway's `404`; a function
//! process that cannot be reached, a `502`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::routes::Table;

/// A reply's body: a function's, passed through, or the router's own.
type Body = BoxBody<Bytes, hyper::Error>;

/// Serves the routes of `table` on `listener` until the process ends.
pub(crate) async fn serve(listener: TcpListener, table: Arc<Table>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let table = Arc::clone(&table);
                async move { Ok::<_, Infallible>(route(&table, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Passes `request` to the function its route names.
async fn route(table: &Table, request: Request<Incoming>) -> Response<Body> {
    let path = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8_lossy();
    let Some(entry) = table.find(request.method().as_str(), &path) else {
        eprintln!(
            "cargo-lambda-kit: {} {}: no route takes it (404)",
            request.method(),
            request.uri()
        );
        return reply(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
    };
    match forward(&entry.address, request).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(error) => {
            eprintln!(
                "cargo-lambda-kit: {} cannot be reached (502): {error}",
                entry.function
            );
            reply(
                StatusCode::BAD_GATEWAY,
                r#"{"message":"Internal Server Error"}"#,
            )
        }
    }
}

/// Sends `request` to the process at `address` on a new connection.
async fn forward(
    address: &str,
    request: Request<Incoming>,
) -> Result<Response<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

fn reply(status: StatusCode, json: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from_static(json.as_bytes())).map_err(|never| match never {});
    let mut response = Response::new(body.boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
