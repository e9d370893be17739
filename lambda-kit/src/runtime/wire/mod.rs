//! HTTP/1.1 on one connection to the Runtime API: each request leaves in one write from a
//! reused buffer, and each answer is parsed with `httparse`, the parser hyper uses.
//!
//! The Runtime API is a single local peer that uses a small part of HTTP/1.1: a handful of
//! requests, one at a time, with no redirects, upgrades or pipelining. A general client
//! (a dispatcher task, a request channel and a header map per request) cost about half of
//! the runtime's instructions per invocation; this module does only what the protocol
//! needs, and still reads every framing an HTTP/1.1 server may choose: `Content-Length`,
//! chunked (with trailers), or the body running until the connection closes.

use std::io;
use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::streaming::Frame;

mod decode;
mod encode;

use self::encode::put_header;

/// The most header lines an answer may have.
const MAX_HEADERS: usize = 64;
/// The largest answer head (status line and headers) accepted, however it arrives.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest answer body accepted: the largest event Lambda hands out (its 6 MB request
/// limit, as RAPID counts it). Framing (chunk sizes, trailers) is bounded on its own.
pub(crate) const MAX_BODY_BYTES: usize = crate::protocol::MAX_EVENT_BYTES;
/// How much room the buffer grows by at least.
const READ_SIZE: usize = 16 * 1024;
/// The free room below which the buffer grows before reading a head, a chunk-size line or
/// trailers. Small next to `READ_SIZE`, so that the buffer grows (and, while an earlier
/// answer's body still shares it, reallocates) once every few dozen answers, not for each.
const MIN_ROOM: usize = 2 * 1024;
/// The most room reserved at once for a body, so that a lying `Content-Length` cannot make
/// the process allocate more than it has actually received.
const MAX_RESERVE: usize = 8 * 1024 * 1024;
/// Bodies up to this size are copied behind the head so that the request is one write;
/// larger ones are written on their own rather than copied.
const COPY_LIMIT: usize = 64 * 1024;

/// An exchange failed; the connection must not be used again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// Reading or writing the socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer closed the connection before its answer was complete.
    #[error("the Runtime API closed the connection before its answer was complete")]
    Closed,
    /// The answer is not valid HTTP/1.1.
    #[error("the Runtime API sent an answer that is not valid HTTP/1.1: {0}")]
    Malformed(String),
    /// The answer's body is larger than any answer the API may send.
    #[error(
        "the Runtime API sent an answer whose body is over {MAX_BODY_BYTES} bytes, the largest event Lambda hands out"
    )]
    TooLarge,
}

/// `User-Agent`: Lambda reads its first token as the runtime's name and release.
const USER_AGENT: &str = concat!("lambda-kit/", env!("CARGO_PKG_VERSION"));

/// What a request is, apart from its body, `Host` and `User-Agent` (the connection adds
/// those).
pub(crate) struct RequestHead<'a> {
    /// `GET` or `POST`.
    pub(crate) method: &'a Method,
    /// The path, already percent-encoded, in pieces written one after the other (an
    /// invocation's answer paths share their first piece).
    pub(crate) path: &'a [&'a str],
    /// Any other headers; being `HeaderName`s and `HeaderValue`s, they cannot break the head.
    pub(crate) headers: &'a [(&'a HeaderName, &'a HeaderValue)],
}

/// How a request body is delimited.
enum BodyFraming {
    Length(usize),
    Chunked,
}

/// How an answer's body is delimited (RFC 9112, section 6.3).
enum AnswerFraming {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// An answer from the Runtime API.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status code.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: AnswerHeaders,
    /// The whole body.
    pub(crate) body: Bytes,
}

/// An answer's headers, kept where they arrived: a lookup scans the few there are, which
/// costs less than building a hashed `HeaderMap` for every answer.
#[derive(Debug, Default)]
pub(crate) struct AnswerHeaders {
    /// The answer's head, which names and values are slices of.
    head: Bytes,
    /// Where each header's name and value are in `head`.
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl AnswerHeaders {
    /// The head as it arrived: the status line and every header line.
    pub(crate) fn raw(&self) -> &[u8] {
        &self.head
    }

    /// The first value of the header `name` (compared without regard to case).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(field, _)| self.head[field.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| &self.head[value.clone()])
    }
}

/// One keep-alive connection to the Runtime API, over TCP (or, for the fuzz target, over
/// bytes in memory).
pub(crate) struct Connection<S = TcpStream> {
    stream: S,
    /// The `Host` header: the `host:port` connected to.
    host: String,
    /// Bytes read and not consumed yet.
    read: BytesMut,
    /// The request being written; kept between requests for its capacity.
    write: Vec<u8>,
    /// An exchange failed part way, the peer said it closes, or bytes came after an
    /// answer: no further request.
    spent: bool,
    /// Bytes arrived behind the last answer, in the same reads.
    stray_after_answer: bool,
    /// The head of the answer that could not be read to its end (parsed or not), so that
    /// the caller can still find out which invocation it was.
    failed_head: Option<Bytes>,
}

/// What the peer of an idle connection did since its last answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Nothing: the connection can carry the next request.
    Quiet,
    /// It closed the connection (an idle keep-alive connection timed out, say).
    Closed,
    /// It sent bytes that no request asked for; they must never be read as the next answer.
    StrayBytes,
    /// The connection failed, an answer said it closes, or an exchange did not finish.
    Spent,
}

impl Connection {
    /// Connects to `authority` (`host:port`).
    pub(crate) async fn open(authority: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(authority).await?;
        // Every request is one write already; waiting for more to send only adds latency.
        stream.set_nodelay(true)?;
        Ok(Connection::over(stream, authority))
    }

    /// Whether another request may be sent on this connection: see [`Idle`].
    ///
    /// The Runtime API answers one request at a time, so between an answer and the next
    /// request the socket must be silent. One non-blocking peek at it (one system call)
    /// tells a quiet connection from one the peer closed or wrote to since: a stray answer
    /// would otherwise be read as the answer to the next request, and every answer after
    /// it would be one request late.
    pub(crate) fn idle_state(&self) -> Idle {
        if self.stray_after_answer {
            return Idle::StrayBytes;
        }
        if self.spent {
            return Idle::Spent;
        }
        let mut probe = [MaybeUninit::uninit(); 1];
        match socket2::SockRef::from(&self.stream).peek(&mut probe) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Idle::Quiet,
            Ok(0) => Idle::Closed,
            Ok(_) => Idle::StrayBytes,
            Err(_) => Idle::Closed,
        }
    }

    /// Whether the answers so far leave the connection open for another request (whatever
    /// the peer did since).
    #[cfg(test)]
    fn is_kept_alive(&self) -> bool {
        !self.spent
    }
}
impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    fn over(stream: S, host: &str) -> Self {
        Connection {
            stream,
            host: host.to_owned(),
            read: BytesMut::with_capacity(READ_SIZE),
            write: Vec::with_capacity(1024),
            spent: false,
            stray_after_answer: false,
            failed_head: None,
        }
    }

    /// The raw head of the answer that could not be read to its end, if the last exchange
    /// failed after (some of) a head arrived.
    pub(crate) fn failed_head(&self) -> Option<&[u8]> {
        self.failed_head.as_deref()
    }

    /// Sends a request with a whole body and reads the whole answer.
    pub(crate) async fn exchange(
        &mut self,
        head: &RequestHead<'_>,
        body: &[u8],
    ) -> Result<Answer, WireError> {
        self.spent = true;
        self.failed_head = None;
        let framing = if body.is_empty() && head.method == Method::GET {
            None
        } else {
            Some(BodyFraming::Length(body.len()))
        };
        self.put_head(head, framing);
        if body.len() <= COPY_LIMIT {
            self.write.extend_from_slice(body);
            self.stream.write_all(&self.write).await?;
        } else {
            self.stream.write_all(&self.write).await?;
            self.stream.write_all(body).await?;
        }
        self.read_answer().await
    }

    /// Sends a request whose body is sent in chunks as `frames` yields them, ending with
    /// the trailers if a frame carries some, then reads the whole answer.
    pub(crate) async fn exchange_streamed<F>(
        &mut self,
        head: &RequestHead<'_>,
        mut frames: F,
    ) -> Result<Answer, WireError>
    where
        F: Stream<Item = Frame> + Unpin,
    {
        self.spent = true;
        self.failed_head = None;
        self.put_head(head, Some(BodyFraming::Chunked));
        self.stream.write_all(&self.write).await?;
        let mut trailers = None;
        while let Some(frame) = frames.next().await {
            match frame {
                Frame::Data(chunk) => self.write_chunk(&chunk).await?,
                Frame::Trailers(end) => {
                    trailers = Some(end);
                    break;
                }
            }
        }
        self.write.clear();
        self.write.extend_from_slice(b"0\r\n");
        for (name, value) in trailers.iter().flat_map(http::HeaderMap::iter) {
            put_header(&mut self.write, name.as_str().as_bytes(), value.as_bytes());
        }
        self.write.extend_from_slice(b"\r\n");
        self.stream.write_all(&self.write).await?;
        self.read_answer().await
    }
}

/// Reads `bytes` as the answer to a `GET /next`, the way the runtime reads answers: the
/// fuzz target's way in.
pub(crate) fn answer_from_bytes(bytes: &[u8]) -> Result<Answer, WireError> {
    use futures_util::FutureExt as _;
    let mut connection = Connection::over(
        InMemory {
            input: bytes,
            output: Vec::new(),
        },
        "localhost",
    );
    let head = RequestHead {
        method: &Method::GET,
        path: &["/next"],
        headers: &[],
    };
    // Reads and writes in memory are always ready, so one poll runs the exchange to its end.
    connection
        .exchange(&head, b"")
        .now_or_never()
        .unwrap_or(Err(WireError::Closed))
}

/// A stream that reads from a slice and writes to a vector.
struct InMemory<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl AsyncRead for InMemory<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl AsyncWrite for InMemory<'_> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.output).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.output).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.output).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod differential;

#[cfg(test)]
mod tests {
    //! Each test runs a real TCP server on 127.0.0.1 that answers with exact bytes, and
    //! records exactly what the client wrote.

    use super::encode::put_number;
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    fn get<'a>(path: &'a [&'a str]) -> RequestHead<'a> {
        RequestHead {
            method: &Method::GET,
            path,
            headers: &[],
        }
    }

    /// A server that reads one request per answer, sends the answer, and finally closes;
    /// it returns every byte it read.
    async fn server(answers: Vec<&'static [u8]>) -> (String, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut seen = Vec::new();
            for answer in answers {
                let start = seen.len();
                while !request_complete(&seen[start..]) {
                    let mut buffer = [0u8; 4096];
                    let read = stream.read(&mut buffer).await.expect("read");
                    assert!(read > 0, "the client closed mid-request");
                    seen.extend_from_slice(&buffer[..read]);
                }
                stream.write_all(answer).await.expect("write");
            }
            seen
        });
        (address, task)
    }

    /// Whether `bytes` hold a whole request: a head, then its `content-length` body or a
    /// chunked body up to its (possibly trailered) end.
    fn request_complete(bytes: &[u8]) -> bool {
        let text = String::from_utf8_lossy(bytes);
        let Some(head_end) = text.find("\r\n\r\n") else {
            return false;
        };
        let head = text[..head_end].to_ascii_lowercase();
        let body = &text[head_end + 4..];
        if head.contains("transfer-encoding: chunked") {
            return (body.starts_with("0\r\n") || body.contains("\r\n0\r\n"))
                && body.ends_with("\r\n\r\n");
        }
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |value| value.trim().parse().expect("length"));
        body.len() >= length
    }

    async fn exchange_with(answer: &'static [u8]) -> (Result<Answer, WireError>, Connection) {
        let (address, _server) = server(vec![answer]).await;
        let mut connection = Connection::open(&address).await.expect("connect");
        let outcome = connection.exchange(&get(&["/next"]), b"").await;
        (outcome, connection)
    }

    #[tokio::test]
    async fn a_request_is_written_as_one_head_and_the_connection_is_kept() {
        let (address, server) = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\nhello",
            b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}",
        ])
        .await;
        let mut connection = Connection::open(&address).await.expect("connect");
        let first = connection
            .exchange(&get(&["/next"]), b"")
            .await
            .expect("first");
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body.as_ref(), b"hello");
        assert_eq!(
            first.headers.get("lambda-runtime-aws-request-id"),
            Some(&b"r1"[..])
        );
        assert!(connection.is_kept_alive());
        let json = HeaderValue::from_static("application/json");
        let post = RequestHead {
            method: &Method::POST,
            path: &["/r1/", "response"],
            headers: &[(&http::header::CONTENT_TYPE, &json)],
        };
        let second = connection
            .exchange(&post, b"{\"a\":1}")
            .await
            .expect("second");
        assert_eq!(second.status, StatusCode::ACCEPTED);
        assert_eq!(second.body.as_ref(), b"{}");
        drop(connection);
        let seen = String::from_utf8(server.await.expect("server")).expect("text");
        let common = format!("host: {address}\r\nuser-agent: {USER_AGENT}\r\n");
        assert_eq!(
            seen,
            format!(
                "GET /next HTTP/1.1\r\n{common}\r\n\
                 POST /r1/response HTTP/1.1\r\n{common}\
                 content-type: application/json\r\ncontent-length: 7\r\n\r\n{{\"a\":1}}"
            )
        );
    }

    #[tokio::test]
    async fn a_chunked_answer_is_joined_and_its_trailers_skipped() {
        let (outcome, connection) = exchange_with(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n",
        )
        .await;
        assert_eq!(outcome.expect("answer").body.as_ref(), b"abcdefg");
        assert!(connection.is_kept_alive());
    }

    #[tokio::test]
    async fn an_answer_without_a_length_runs_until_the_connection_closes() {
        let (outcome, connection) = exchange_with(b"HTTP/1.1 200 OK\r\n\r\nuntil the end").await;
        assert_eq!(outcome.expect("answer").body.as_ref(), b"until the end");
        assert!(!connection.is_kept_alive());
    }

    #[tokio::test]
    async fn connection_close_and_http_1_0_end_the_connection() {
        let (outcome, connection) =
            exchange_with(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .await;
        assert!(outcome.is_ok());
        assert!(!connection.is_kept_alive());
        let (outcome, connection) =
            exchange_with(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        assert!(outcome.is_ok());
        assert!(!connection.is_kept_alive());
    }

    #[tokio::test]
    async fn informational_answers_are_skipped_and_204_has_no_body() {
        let (outcome, connection) =
            exchange_with(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").await;
        let answer = outcome.expect("answer");
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
        assert!(answer.body.is_empty());
        assert!(connection.is_kept_alive());
    }

    #[tokio::test]
    async fn a_body_cut_short_is_a_closed_error() {
        let (outcome, connection) =
            exchange_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").await;
        assert!(matches!(outcome, Err(WireError::Closed)), "{outcome:?}");
        assert!(!connection.is_kept_alive());
        let (outcome, _) =
            exchange_with(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").await;
        assert!(matches!(outcome, Err(WireError::Closed)), "{outcome:?}");
        let (outcome, _) = exchange_with(b"HTTP/1.1 200 OK\r\nContent-").await;
        assert!(matches!(outcome, Err(WireError::Closed)), "{outcome:?}");
    }

    #[tokio::test]
    async fn malformed_answers_are_typed_errors() {
        let cases: [&'static [u8]; 7] = [
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 2000 Huge\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n",
        ];
        for case in cases {
            let (outcome, connection) = exchange_with(case).await;
            assert!(
                matches!(outcome, Err(WireError::Malformed(_))),
                "{:?}: {outcome:?}",
                String::from_utf8_lossy(case)
            );
            assert!(!connection.is_kept_alive());
        }
    }

    #[tokio::test]
    async fn a_head_over_64_kib_is_refused() {
        // One header line that never ends: the head stays incomplete however much arrives.
        let mut answer = b"HTTP/1.1 200 OK\r\nX-Padding: ".to_vec();
        answer.resize(MAX_HEAD_BYTES + 4096, b'a');
        let (outcome, _) = exchange_with(answer.leak()).await;
        assert!(
            matches!(outcome, Err(WireError::Malformed(_))),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_streamed_body_goes_out_as_chunks_then_trailers() {
        let (address, server) =
            server(vec![b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"]).await;
        let mut connection = Connection::open(&address).await.expect("connect");
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-error", HeaderValue::from_static("boom"));
        let frames = futures_util::stream::iter([
            Frame::Data(Bytes::from_static(b"hello")),
            Frame::Data(Bytes::new()),
            Frame::Data(Bytes::from(vec![b'x'; 26])),
            Frame::Trailers(trailers),
        ]);
        let answer = connection
            .exchange_streamed(
                &RequestHead {
                    method: &Method::POST,
                    ..get(&["/s"])
                },
                frames,
            )
            .await
            .expect("answer");
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        drop(connection);
        let seen = String::from_utf8(server.await.expect("server")).expect("text");
        let body = seen.split_once("\r\n\r\n").expect("head").1;
        assert!(
            seen.contains("\r\ntransfer-encoding: chunked\r\n"),
            "{seen}"
        );
        assert_eq!(
            body,
            format!(
                "5\r\nhello\r\n1a\r\n{}\r\n0\r\nx-error: boom\r\n\r\n",
                "x".repeat(26)
            )
        );
    }

    #[tokio::test]
    async fn bytes_after_an_answer_spend_the_connection() {
        // In the same read as the answer.
        let (outcome, connection) = exchange_with(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        assert_eq!(outcome.expect("answer").body.as_ref(), b"ok");
        assert!(!connection.is_kept_alive());
        assert_eq!(connection.idle_state(), Idle::StrayBytes);
    }

    #[tokio::test]
    async fn an_idle_connection_tells_quiet_from_closed_and_stray_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        for (after, expected) in [
            (None, Idle::Quiet),
            (
                Some(&b"HTTP/1.1 202 Accepted\r\n\r\n"[..]),
                Idle::StrayBytes,
            ),
            (Some(&b""[..]), Idle::Closed),
        ] {
            let mut connection = Connection::open(&address).await.expect("connect");
            let (mut server, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 1024];
            let head = get(&["/next"]);
            let exchange = connection.exchange(&head, b"");
            let serve = async {
                let _ = server.read(&mut request).await.expect("read");
                server.write_all(answer).await.expect("answer");
            };
            let (outcome, ()) = tokio::join!(exchange, serve);
            outcome.expect("answer");
            match after {
                None => {}
                Some(b"") => server.shutdown().await.expect("close"),
                Some(bytes) => server.write_all(bytes).await.expect("stray"),
            }
            // The bytes (or the close) are on their way over loopback: wait until the
            // socket is readable, so the check sees them.
            if after.is_some() {
                connection.stream.readable().await.expect("readable");
            }
            assert_eq!(connection.idle_state(), expected, "{after:?}");
        }
    }

    #[test]
    fn numbers_are_written_in_their_radix() {
        for (value, radix, text) in [
            (0, 10, "0"),
            (1234, 10, "1234"),
            (255, 16, "ff"),
            (4096, 16, "1000"),
        ] {
            let mut out = Vec::new();
            put_number(&mut out, value, radix);
            assert_eq!(out, text.as_bytes());
        }
    }
}
