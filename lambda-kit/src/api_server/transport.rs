//! The HTTP side of a Runtime API server: accepting connections, reading a post's body as
//! it arrived, and replies in Lambda's JSON.

use std::future::Future;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Serves HTTP/1 on every connection `listener` accepts, until this future is dropped
/// (which closes every connection). `connection` makes, for each accepted stream, the I/O
/// to serve it on (the fake wraps it to inject byte-level faults) and its request handler.
pub(crate) async fn serve<C, Io, H, Fut, E, B>(listener: TcpListener, connection: C)
where
    C: Fn(TcpStream) -> (Io, H),
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // As Lambda's own servers do: answers (and a fault's bytes) leave when written,
        // not when Nagle's algorithm lets them.
        let _ = stream.set_nodelay(true);
        let (io, handle) = connection(stream);
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(io), service_fn(handle))
                .await;
        });
        // Reap finished connections so that the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// A post's body as it arrived.
#[derive(Debug, Default)]
pub(crate) struct PostBody {
    /// The data frames, one per chunk received, up to the `keep` bytes asked for.
    pub(crate) chunks: Vec<Bytes>,
    /// The length of the whole body, kept or not.
    pub(crate) len: usize,
    /// The trailers after the body, if any.
    pub(crate) trailers: Option<HeaderMap>,
}

/// Reads a body to its end, keeping its first `keep` bytes (frame by frame) and counting
/// the rest, so that a post over a server's limit is judged on its length without being
/// held in memory. A body cut off part way ends where it was cut.
#[cfg(emulator)]
pub(crate) async fn read_body(body: Incoming, keep: usize) -> PostBody {
    read_body_watched(body, keep, |_| {}).await
}

/// [`read_body`], showing each data frame to `arrived` as soon as it is read (the fake
/// lets a test watch a stream arrive while its handler still runs).
pub(crate) async fn read_body_watched(
    mut body: Incoming,
    keep: usize,
    mut arrived: impl FnMut(&Bytes),
) -> PostBody {
    let mut read = PostBody::default();
    while let Some(Ok(frame)) = body.frame().await {
        match frame.into_data() {
            Ok(data) => {
                arrived(&data);
                read.len += data.len();
                if read.len <= keep {
                    read.chunks.push(data);
                }
            }
            Err(frame) => read.trailers = frame.into_trailers().ok(),
        }
    }
    read
}

impl PostBody {
    /// The kept bytes in one piece.
    pub(crate) fn bytes(&self) -> Bytes {
        match self.chunks.as_slice() {
            [one] => one.clone(),
            chunks => chunks.concat().into(),
        }
    }
}

/// A JSON reply with `status`.
pub(crate) fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `202 {"status":"OK"}`: how the Runtime API accepts a post.
pub(crate) fn accepted() -> Response<Full<Bytes>> {
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

/// Lambda's error JSON, as the Runtime and Invoke APIs answer a refused request.
pub(crate) fn error_json(error_type: &str, message: &str) -> Bytes {
    let body = crate::error::ErrorBody {
        error_type: error_type.to_owned(),
        error_message: message.to_owned(),
        stack_trace: Vec::new(),
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// The reply for a path that is no Runtime API resource.
pub(crate) fn not_found() -> Response<Full<Bytes>> {
    reply(
        StatusCode::NOT_FOUND,
        error_json("NotFound", "no such Runtime API resource"),
    )
}
