//! A fake Runtime API: a real HTTP/1 server on 127.0.0.1 that hands out the invocations a
//! test pushes, records every answer, and injects faults on request.
//!
//! It behaves like Lambda where that matters to a runtime: `/next` blocks until there is
//! an event; an answer for an unknown or already-answered request id gets 400; a response
//! over the size limit gets 413. Any path prefix before `/2018-06-01/` is accepted, like
//! cargo-lambda's `/.rt/<name>` prefix, and every request path is recorded so a test can
//! see which form was used.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};

pub use crate::api_route::Route;
use crate::api_route::route_of;
use crate::error::ErrorBody;
use crate::protocol::{MAX_RESPONSE_BYTES, header};

/// Something to go wrong with the next request to a route.
///
/// The last three act on the connection's bytes, below HTTP: they are how a test checks
/// what the runtime does with a Runtime API that misbehaves on the wire.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and body instead of handling the request.
    Status(StatusCode, String),
    /// Close the connection without answering (after reading a post's body).
    DropConnection,
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Handle the request normally, then write these bytes on the same connection right
    /// after the answer, as if the API had sent an answer no request asked for.
    StrayBytesAfter(Bytes),
    /// Handle the request normally, then close the connection without saying so (no
    /// `Connection: close`), as a server does when an idle keep-alive connection times out.
    CloseAfterAnswer,
    /// Send exactly these bytes instead of the answer, then close the connection. On
    /// `/next` the queued invocation is handed out first, so that the test can name its
    /// request id in the bytes and the fake accepts an answer for it.
    RawAnswer(Bytes),
}

/// An invocation to hand out: payload and `/next` headers.
#[derive(Debug, Clone)]
pub struct FakeInvocation {
    request_id: String,
    payload: Bytes,
    headers: HeaderMap,
}

/// Whether an accepted answer was a response or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// `POST .../response`.
    Response,
    /// `POST .../error`.
    Error,
}

/// The accepted answer to an invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Response or error.
    pub kind: AnswerKind,
    /// The request headers of the post.
    pub headers: HeaderMap,
    /// The posted body.
    pub body: Bytes,
    /// The body as it was chunked (one entry per data frame received).
    pub chunks: Vec<Bytes>,
    /// The trailers after the body, if any.
    pub trailers: Option<HeaderMap>,
}

/// One request the fake received and what it answered.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The resource.
    pub route: Route,
    /// The full request path, including any prefix.
    pub path: String,
    /// The decoded request id of an invocation post.
    pub request_id: Option<String>,
    /// The status the fake answered (for dropped connections: none was sent).
    pub status: Option<StatusCode>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Bytes,
    /// The body as it was chunked (one entry per data frame received).
    pub chunks: Vec<Bytes>,
    /// The trailers after the body, if any.
    pub trailers: Option<HeaderMap>,
}

/// A Runtime API server for tests; it stops when dropped.
///
/// It serves the Runtime API over real HTTP on 127.0.0.1: push invocations, run a
/// runtime (in process, or a built bootstrap with [`bootstrap_command`](Self::bootstrap_command))
/// against it, and read what the runtime posted.
///
/// ```
/// use lambda_kit::testing::FakeRuntimeApi;
/// use lambda_kit::{Config, Context, Error, Runtime, handler_fn};
/// use serde_json::{Value, json};
///
/// async fn echo(event: Value, _ctx: Context) -> Result<Value, Error> {
///     Ok(event)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let api = FakeRuntimeApi::start().await?;
/// let address = api.address();
/// let config = Config::from_lookup(|name| (name == "AWS_LAMBDA_RUNTIME_API").then(|| address.clone()))?;
/// tokio::spawn(Runtime::from_config(config)?.run(handler_fn(echo)));
///
/// let id = api.push(json!({"order": 7}));
/// assert_eq!(api.response_json(&id).await, json!({"order": 7}));
/// # Ok(())
/// # }
/// ```
pub struct FakeRuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: AbortHandle,
}

impl std::fmt::Debug for FakeRuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRuntimeApi")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

/// What a connection's bytes should do after the answer being written, set by a fault.
#[derive(Debug, Default)]
enum AfterAnswer {
    /// Nothing: plain HTTP.
    #[default]
    Nothing,
    /// Write these bytes behind the answer.
    Append(Bytes),
    /// Close the connection behind the answer.
    Close,
    /// Throw the answer away, write these bytes and close.
    Replace(Bytes),
}

/// A connection's stream with byte-level faults: the answer hyper writes can be followed
/// by stray bytes, followed by a close, or replaced.
struct FaultyStream {
    /// `None` once the fault closed the connection.
    stream: Option<tokio::net::TcpStream>,
    plan: Arc<Mutex<AfterAnswer>>,
    shared: Arc<Shared>,
    /// Bytes of an `Append` or `Replace` still to write, and whether to close after them.
    pending: Option<(Bytes, bool)>,
    /// Whether the answer the plan follows has been written (hyper also flushes while it
    /// waits for the service, before there is an answer).
    answer_written: bool,
}

impl FaultyStream {
    /// Writes what a fault added after the answer and closes if it says so; `Ready(Ok)`
    /// once all of it is done.
    fn poll_fault(&mut self, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        use tokio::io::AsyncWrite;
        if self.pending.is_none() {
            if !self.answer_written {
                return Poll::Ready(Ok(()));
            }
            self.answer_written = false;
            let plan = std::mem::take(&mut *lock(&self.plan));
            self.pending = match plan {
                AfterAnswer::Nothing => return Poll::Ready(Ok(())),
                AfterAnswer::Append(bytes) => Some((bytes, false)),
                AfterAnswer::Close => Some((Bytes::new(), true)),
                AfterAnswer::Replace(bytes) => Some((bytes, true)),
            };
        }
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        };
        while let Some((bytes, _)) = self.pending.as_mut().filter(|(bytes, _)| !bytes.is_empty()) {
            let written =
                std::task::ready!(std::pin::Pin::new(&mut *stream).poll_write(cx, bytes))?;
            bytes.advance(written);
        }
        std::task::ready!(std::pin::Pin::new(&mut *stream).poll_flush(cx))?;
        if self.pending.take().is_some_and(|(_, close)| close) {
            // Dropping the socket closes it at once; reads and writes see a closed stream.
            self.stream = None;
        }
        self.shared.update(|state| state.wire_faults_done += 1);
        Poll::Ready(Ok(()))
    }

    /// Notes that (part of) an answer is being written; whether it is to be thrown away.
    fn writing_answer(&mut self) -> bool {
        let plan = lock(&self.plan);
        let replace = matches!(*plan, AfterAnswer::Replace(_));
        let planned = !matches!(*plan, AfterAnswer::Nothing);
        drop(plan);
        self.answer_written |= planned;
        replace
    }
}

impl tokio::io::AsyncRead for FaultyStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_read(cx, buf),
            // Closed by a fault: the end of the stream.
            None => Poll::Ready(Ok(())),
        }
    }
}

impl tokio::io::AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.writing_answer() {
            // The answer hyper writes is replaced by the fault's bytes.
            return Poll::Ready(Ok(buf.len()));
        }
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        // hyper flushes once an answer is written: that is where a fault's bytes go.
        std::task::ready!(self.poll_fault(cx))?;
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// Locks `mutex`. A panicking test thread may poison it; what it guards is still
/// consistent, because every update is a single step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct State {
    queue: VecDeque<FakeInvocation>,
    handed_out: HashMap<String, Option<Answer>>,
    faults: HashMap<Route, VecDeque<Fault>>,
    calls: Vec<RecordedCall>,
    polls: usize,
    max_response_bytes: usize,
    /// How many byte-level faults have been carried out to their end.
    wire_faults_done: usize,
}

impl FakeInvocation {
    /// An invocation with `payload` and Lambda's usual headers: a random request id, a
    /// deadline 3 s from now, a function ARN and an unsampled trace header.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + Duration::from_secs(3);
        let mut invocation = FakeInvocation {
            request_id: request_id.clone(),
            payload: payload.into(),
            headers: HeaderMap::new(),
        };
        invocation = invocation
            .header(header::REQUEST_ID, &request_id)
            .header(header::DEADLINE_MS, &epoch_ms(deadline).to_string())
            .header(
                header::INVOKED_FUNCTION_ARN,
                "arn:aws:lambda:us-east-1:123456789012:function:test",
            )
            .header(header::TRACE_ID, &crate::context::new_trace_header());
        invocation
    }

    /// An invocation whose payload is `event` as JSON.
    pub fn json(event: &impl Serialize) -> Self {
        Self::new(serde_json::to_vec(event).expect("the test event serializes to JSON"))
    }

    /// Sets the request id (header and the id answers are matched by).
    pub fn request_id(mut self, request_id: &str) -> Self {
        self.request_id = request_id.to_owned();
        self.header(header::REQUEST_ID, request_id)
    }

    /// Sets a `/next` header; the value may be anything a header may carry.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_bytes(value.as_bytes()).expect("a valid header value");
        self.headers.insert(name, value);
        self
    }

    /// Leaves a `/next` header out (even the request id).
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.remove(name);
        self
    }

    /// The request id answers are expected under.
    pub fn id(&self) -> &str {
        &self.request_id
    }
}

impl FakeRuntimeApi {
    /// Starts the server on 127.0.0.1 with a port the OS chooses.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                handed_out: HashMap::new(),
                faults: HashMap::new(),
                calls: Vec::new(),
                polls: 0,
                max_response_bytes: MAX_RESPONSE_BYTES,
                wire_faults_done: 0,
            }),
            changed: Notify::new(),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared))).abort_handle();
        Ok(FakeRuntimeApi {
            address,
            shared,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`, as Lambda sets it (`127.0.0.1:PORT`).
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` in cargo-lambda's form, with a path prefix.
    pub fn url_with_prefix(&self, prefix: &str) -> String {
        format!("http://{}/{}", self.address, prefix.trim_matches('/'))
    }

    /// A command that runs the bootstrap at `program` against this API, as Lambda would:
    /// a clean environment (only `PATH` is kept) with `AWS_LAMBDA_RUNTIME_API`, the
    /// function's name, version and memory size set. Add more with `.env(...)`; for tokio,
    /// convert it with `tokio::process::Command::from`.
    pub fn bootstrap_command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdin(std::process::Stdio::null());
        command
    }

    /// Queues an invocation whose payload is `event` as JSON; returns its request id.
    pub fn push(&self, event: impl Serialize) -> String {
        self.push_invocation(FakeInvocation::json(&event))
    }

    /// Queues an invocation; returns its request id.
    pub fn push_invocation(&self, invocation: FakeInvocation) -> String {
        let id = invocation.request_id.clone();
        self.shared
            .update(|state| state.queue.push_back(invocation));
        id
    }

    /// Makes the next request to `route` go wrong; faults of a route apply in order.
    pub fn inject(&self, route: Route, fault: Fault) {
        self.shared
            .update(|state| state.faults.entry(route).or_default().push_back(fault));
    }

    /// Sets the largest response accepted before answering 413 (default: Lambda's).
    pub fn set_max_response_bytes(&self, limit: usize) {
        self.shared.update(|state| state.max_response_bytes = limit);
    }

    /// How many `/next` requests arrived so far.
    pub fn polls(&self) -> usize {
        self.shared.lock().polls
    }

    /// Every request received so far, in order of arrival.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// Every post received for the invocation `request_id`, accepted or not.
    pub fn posts_for(&self, request_id: &str) -> Vec<RecordedCall> {
        let state = self.shared.lock();
        state
            .calls
            .iter()
            .filter(|call| call.request_id.as_deref() == Some(request_id))
            .cloned()
            .collect()
    }

    /// Waits for the accepted answer to `request_id`.
    pub async fn answer(&self, request_id: &str) -> Answer {
        self.shared
            .wait_for(|state| state.handed_out.get(request_id).cloned().flatten())
            .await
    }

    /// Waits for the accepted answer to `request_id` and reads it as an error body;
    /// panics if it was a response.
    pub async fn error_answer(&self, request_id: &str) -> ErrorBody {
        let answer = self.answer(request_id).await;
        assert_eq!(
            answer.kind,
            AnswerKind::Error,
            "expected an error post, got {answer:?}"
        );
        serde_json::from_slice(&answer.body).expect("the error body is Lambda's error JSON")
    }

    /// Waits for the accepted answer to `request_id` and parses it as a JSON response;
    /// panics if it was an error.
    pub async fn response_json(&self, request_id: &str) -> serde_json::Value {
        let answer = self.answer(request_id).await;
        assert_eq!(
            answer.kind,
            AnswerKind::Response,
            "expected a response, got {answer:?}"
        );
        serde_json::from_slice(&answer.body).expect("the response is JSON")
    }

    /// Waits for a post to `/runtime/init/error` and returns it.
    pub async fn init_error(&self) -> RecordedCall {
        self.shared
            .wait_for(|state| {
                state
                    .calls
                    .iter()
                    .find(|call| call.route == Route::InitError)
                    .cloned()
            })
            .await
    }

    /// Waits until `count` byte-level faults ([`Fault::StrayBytesAfter`],
    /// [`Fault::CloseAfterAnswer`], [`Fault::RawAnswer`]) have been carried out: their bytes
    /// written, their connection closed.
    pub async fn wait_for_wire_faults(&self, count: usize) {
        self.shared
            .wait_for(|state| (state.wire_faults_done >= count).then_some(()))
            .await
    }

    /// Waits until at least `count` `/next` requests have arrived.
    pub async fn wait_for_polls(&self, count: usize) {
        self.shared
            .wait_for(|state| (state.polls >= count).then_some(()))
            .await
    }
}

impl Drop for FakeRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.lock());
        self.changed.notify_waiters();
        result
    }

    /// Waits until `check` finds something in the state.
    async fn wait_for<T>(&self, mut check: impl FnMut(&State) -> Option<T>) -> T {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before checking, so a change between the check and the wait
            // still wakes us.
            notified.as_mut().enable();
            if let Some(found) = check(&self.lock()) {
                return found;
            }
            notified.await;
        }
    }

    fn take_fault(&self, route: Route) -> Option<Fault> {
        self.update(|state| state.faults.get_mut(&route).and_then(VecDeque::pop_front))
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // As Lambda's API does (and so that a fault's bytes leave when they are written,
        // not when Nagle's algorithm lets them).
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let plan = Arc::new(Mutex::new(AfterAnswer::Nothing));
            let stream = FaultyStream {
                stream: Some(stream),
                plan: Arc::clone(&plan),
                shared: Arc::clone(&shared),
                pending: None,
                answer_written: false,
            };
            let service =
                service_fn(move |request| handle(Arc::clone(&shared), Arc::clone(&plan), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// The connection is closed without an answer when this is returned as the service error.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct Dropped;

async fn handle(
    shared: Arc<Shared>,
    plan: Arc<Mutex<AfterAnswer>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let Some((route, request_id)) = route_of(&parts.method, &path) else {
        return Ok(reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#));
    };
    if route == Route::Next {
        shared.update(|state| state.polls += 1);
    }
    // Read the whole body first, as Lambda does, so a dropped post was fully sent.
    let (chunks, trailers) = read_frames(body).await;
    let mut call = RecordedCall {
        route,
        path,
        request_id,
        status: None,
        headers: parts.headers,
        body: chunks.concat().into(),
        chunks,
        trailers,
    };
    match shared.take_fault(route) {
        Some(Fault::DropConnection) => {
            shared.update(|state| state.calls.push(call));
            return Err(Dropped);
        }
        Some(Fault::Status(status, text)) => {
            call.status = Some(status);
            shared.update(|state| state.calls.push(call));
            return Ok(reply(status, &text));
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::StrayBytesAfter(bytes)) => *lock(&plan) = AfterAnswer::Append(bytes),
        Some(Fault::CloseAfterAnswer) => *lock(&plan) = AfterAnswer::Close,
        Some(Fault::RawAnswer(bytes)) => *lock(&plan) = AfterAnswer::Replace(bytes),
        None => {}
    }
    if route == Route::Next {
        shared.update(|state| state.calls.push(call));
        let invocation = shared
            .wait_for_and_take(|state| {
                let invocation = state.queue.pop_front()?;
                state.handed_out.insert(invocation.request_id.clone(), None);
                Some(invocation)
            })
            .await;
        let mut response = Response::new(Full::new(invocation.payload));
        *response.headers_mut() = invocation.headers;
        return Ok(response);
    }
    let (status, text) = shared.update(|state| {
        let (status, text) = judge(state, &call);
        call.status = Some(status);
        state.calls.push(call);
        (status, text)
    });
    Ok(reply(status, &text))
}

/// Decides how Lambda would answer a post, recording an accepted answer.
fn judge(state: &mut State, call: &RecordedCall) -> (StatusCode, String) {
    let accepted = (StatusCode::ACCEPTED, r#"{"status":"OK"}"#.to_owned());
    let kind = match call.route {
        Route::InitError | Route::Next => return accepted,
        Route::Response => AnswerKind::Response,
        Route::Error => AnswerKind::Error,
    };
    let slot = call
        .request_id
        .as_ref()
        .and_then(|id| state.handed_out.get_mut(id));
    let Some(slot @ None) = slot else {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#.to_owned(),
        );
    };
    if kind == AnswerKind::Response && call.body.len() > state.max_response_bytes {
        let message = format!(
            r#"{{"errorMessage":"Exceeded maximum allowed payload size ({} bytes).","errorType":"RequestEntityTooLarge"}}"#,
            state.max_response_bytes
        );
        return (StatusCode::PAYLOAD_TOO_LARGE, message);
    }
    *slot = Some(Answer {
        kind,
        headers: call.headers.clone(),
        body: call.body.clone(),
        chunks: call.chunks.clone(),
        trailers: call.trailers.clone(),
    });
    accepted
}

impl Shared {
    /// Like `wait_for`, but `take` may change the state (it runs under the lock).
    async fn wait_for_and_take<T>(&self, mut take: impl FnMut(&mut State) -> Option<T>) -> T {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken = take(&mut self.lock());
            if let Some(found) = taken {
                self.changed.notify_waiters();
                return found;
            }
            notified.await;
        }
    }
}

/// The body's data frames, one per chunk as they arrived, and its trailers.
async fn read_frames(mut body: Incoming) -> (Vec<Bytes>, Option<HeaderMap>) {
    let mut chunks = Vec::new();
    let mut trailers = None;
    while let Some(Ok(frame)) = body.frame().await {
        match frame.into_data() {
            Ok(data) => chunks.push(data),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    (chunks, trailers)
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = status;
    response
}

fn epoch_ms(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default()
}
