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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

pub use super::fault::Fault;
use super::fault::{AfterAnswer, FaultyStream};
pub use crate::api_server::Route;
use crate::api_server::{
    ExtensionsApi, InvocationDone, Ledger, Queued, lock, not_found, read_body_watched, reply,
    route_of,
};
pub use crate::api_server::{PostedExtensionError, RegisteredExtension};
use crate::error::ErrorBody;
use crate::protocol::{MAX_RESPONSE_BYTES, header};

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
    /// The invocations pushed and handed out, and the rules for answering them.
    ledger: Ledger<()>,
    /// The Extensions and Telemetry APIs.
    extensions: ExtensionsApi,
    /// When the fake started (the environment's start, for the init report).
    started: std::time::Instant,
    /// What the fake saw and did, for the test to read.
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    /// The accepted answers, by request id.
    answers: HashMap<String, Answer>,
    faults: HashMap<Route, VecDeque<Fault>>,
    calls: Vec<RecordedCall>,
    polls: usize,
    max_response_bytes: usize,
    /// How many byte-level faults have been carried out to their end.
    wire_faults_done: usize,
    /// When each invocation was handed out, for its platform report.
    handed_out_at: HashMap<String, std::time::Instant>,
    /// The chunks of each response post read so far, by request id, whether or not the
    /// post has ended.
    arrived_chunks: HashMap<String, Vec<Bytes>>,
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
            .header(header::TRACE_ID, &crate::context::new_trace_header(false));
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
            ledger: Ledger::default(),
            extensions: ExtensionsApi::new("test", "$LATEST"),
            started: std::time::Instant::now(),
            state: Mutex::new(State {
                answers: HashMap::new(),
                faults: HashMap::new(),
                calls: Vec::new(),
                polls: 0,
                max_response_bytes: MAX_RESPONSE_BYTES,
                wire_faults_done: 0,
                handed_out_at: HashMap::new(),
                arrived_chunks: HashMap::new(),
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

    /// A command that runs the external extension at `program` against this API, as Lambda
    /// launches the executables in `/opt/extensions`: like
    /// [`bootstrap_command`](Self::bootstrap_command), and the extension may register for
    /// `SHUTDOWN` under its file name (an internal extension may not).
    pub fn extension_command(&self, program: impl AsRef<std::path::Path>) -> std::process::Command {
        let program = program.as_ref();
        if let Some(name) = program.file_name().and_then(|name| name.to_str()) {
            self.shared.extensions.extensions.declare_external(name);
        }
        self.bootstrap_command(program)
    }

    /// Lets an extension registering as `name` register for `SHUTDOWN`, as one Lambda
    /// launched from `/opt/extensions/NAME` may (for extensions run in the test's process).
    pub fn declare_external_extension(&self, name: &str) {
        self.shared.extensions.extensions.declare_external(name);
    }

    /// The extensions registered so far, in order.
    pub fn extensions(&self) -> Vec<RegisteredExtension> {
        self.shared.extensions.extensions.registered()
    }

    /// Waits until `count` extensions have registered and each has polled `event/next`
    /// (which is when Lambda counts an extension's init as done); returns them.
    pub async fn wait_for_extensions(&self, count: usize) -> Vec<RegisteredExtension> {
        self.shared
            .extensions
            .extensions
            .wait_for(|registered, polling| {
                (registered.len() >= count && polling >= count).then(|| registered.to_vec())
            })
            .await
    }

    /// The init and exit errors extensions posted so far.
    pub fn extension_errors(&self) -> Vec<PostedExtensionError> {
        self.shared.extensions.extensions.errors()
    }

    /// Sends `SHUTDOWN` (`reason`: `spindown`, `timeout` or `failure`) to the extensions
    /// registered for it, with a deadline 2 s from now; returns how many. (Lambda sends the
    /// runtime SIGTERM first: a test does that to its bootstrap process.)
    pub fn shutdown_extensions(&self, reason: &str) -> usize {
        self.shared.extensions.extensions.shutdown(reason)
    }

    /// Sends one Telemetry API event (`{"time", "type", "record"}`, or anything else, to see
    /// how a listener copes) to the subscribers of its type.
    pub fn push_telemetry(&self, event: serde_json::Value) {
        self.shared.extensions.telemetry.emit_raw(event);
    }

    /// How many telemetry batches could not be delivered to a subscriber's listener.
    pub fn dropped_telemetry_batches(&self) -> usize {
        self.shared.extensions.telemetry.dropped_batches()
    }

    /// Waits for the first request to `route` and returns it.
    pub async fn wait_for_call(&self, route: Route) -> RecordedCall {
        self.shared
            .wait_for(|state| state.calls.iter().find(|call| call.route == route).cloned())
            .await
    }

    /// Queues an invocation whose payload is `event` as JSON; returns its request id.
    pub fn push(&self, event: impl Serialize) -> String {
        self.push_invocation(FakeInvocation::json(&event))
    }

    /// Queues an invocation; returns its request id.
    pub fn push_invocation(&self, invocation: FakeInvocation) -> String {
        let id = invocation.request_id.clone();
        self.shared.ledger.push(Queued {
            request_id: invocation.request_id,
            headers: invocation.headers,
            payload: invocation.payload,
            waiter: (),
        });
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
            .wait_for(|state| state.answers.get(request_id).cloned())
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
        self.wait_for_call(Route::InitError).await
    }

    /// Waits until `count` byte-level faults ([`Fault::StrayBytesAfter`],
    /// [`Fault::CloseAfterAnswer`], [`Fault::RawAnswer`]) have been carried out: their bytes
    /// written, their connection closed.
    pub async fn wait_for_wire_faults(&self, count: usize) {
        self.shared
            .wait_for(|state| (state.wire_faults_done >= count).then_some(()))
            .await
    }

    /// Waits until at least `count` chunks of the response to `request_id` have arrived,
    /// and returns those that have, while the post may still be under way: a test of a
    /// stream sees its first chunks before the handler has produced the rest.
    pub async fn wait_for_chunks(&self, request_id: &str, count: usize) -> Vec<Bytes> {
        self.shared
            .wait_for(|state| {
                state
                    .arrived_chunks
                    .get(request_id)
                    .filter(|chunks| chunks.len() >= count)
                    .cloned()
            })
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
    crate::api_server::serve(listener, |stream| {
        let plan = Arc::new(Mutex::new(AfterAnswer::Nothing));
        let done = Arc::clone(&shared);
        let stream = FaultyStream::new(stream, Arc::clone(&plan), move || {
            done.update(|state| state.wire_faults_done += 1);
        });
        let shared = Arc::clone(&shared);
        let handler = move |request| handle(Arc::clone(&shared), Arc::clone(&plan), request);
        (stream, handler)
    })
    .await;
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
        return Ok(not_found());
    };
    if route == Route::Next {
        let first = shared.update(|state| {
            state.polls += 1;
            state.polls == 1
        });
        if first {
            shared.extensions.init_done(shared.started.elapsed());
        }
    }
    // Read the whole body first, as Lambda does, so a dropped post was fully sent. The
    // chunks of a response are shown as they arrive, for tests of streaming.
    let arriving = request_id.clone().filter(|_| route == Route::Response);
    let body = read_body_watched(body, usize::MAX, |chunk| {
        if let Some(id) = &arriving {
            shared.update(|state| {
                state
                    .arrived_chunks
                    .entry(id.clone())
                    .or_default()
                    .push(chunk.clone());
            });
        }
    })
    .await;
    let mut call = RecordedCall {
        route,
        path,
        request_id,
        status: None,
        headers: parts.headers,
        body: body.bytes(),
        chunks: body.chunks,
        trailers: body.trailers,
    };
    match shared.take_fault(route) {
        Some(Fault::DropConnection) => {
            shared.update(|state| state.calls.push(call));
            return Err(Dropped);
        }
        Some(Fault::Status(status, text)) => {
            call.status = Some(status);
            shared.update(|state| state.calls.push(call));
            return Ok(reply(status, text));
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::StrayBytesAfter(bytes)) => *lock(&plan) = AfterAnswer::Append(bytes),
        Some(Fault::CloseAfterAnswer) => *lock(&plan) = AfterAnswer::Close,
        Some(Fault::RawAnswer(bytes)) => *lock(&plan) = AfterAnswer::Replace(bytes),
        None => {}
    }
    if route == Route::Next {
        shared.update(|state| state.calls.push(call));
        let next = shared.ledger.next(|()| false).await;
        if let Some(id) = next
            .headers()
            .get(header::REQUEST_ID)
            .and_then(|id| id.to_str().ok())
        {
            let id = id.to_owned();
            shared.update(|state| state.handed_out_at.insert(id, std::time::Instant::now()));
        }
        shared.extensions.invocation_start(next.headers());
        return Ok(next);
    }
    if route.is_extension() {
        let response = shared
            .extensions
            .handle(route, &call.headers, call.body.clone())
            .await;
        call.status = Some(response.status());
        shared.update(|state| state.calls.push(call));
        return Ok(response);
    }
    if route == Route::RestoreNext {
        // The fake restores at once.
        call.status = Some(StatusCode::OK);
        shared.update(|state| state.calls.push(call));
        return Ok(reply(StatusCode::OK, ""));
    }
    Ok(judge(&shared, call))
}

/// Answers a post as Lambda would (by the ledger's rules), recording the call and an
/// accepted answer before the reply leaves.
fn judge(shared: &Shared, mut call: RecordedCall) -> Response<Full<Bytes>> {
    let kind = match call.route {
        Route::Response => Some(AnswerKind::Response),
        Route::Error => Some(AnswerKind::Error),
        _ => None,
    };
    let limit = shared.lock().max_response_bytes;
    let verdict = match kind {
        None => Ok(None),
        Some(kind) => {
            // The limit is on responses, streamed or not; an error post is never too large.
            let limit = if kind == AnswerKind::Response {
                limit
            } else {
                usize::MAX
            };
            shared
                .ledger
                .take_answer(call.request_id.as_deref(), call.body.len(), limit)
                .map(|()| Some(kind))
        }
    };
    let (response, accepted) = match verdict {
        Ok(kind) => (crate::api_server::accepted(), kind),
        Err(refusal) => (refusal.reply(), None),
    };
    call.status = Some(response.status());
    if let (Some(kind), Some(id)) = (accepted, call.request_id.as_deref()) {
        report(shared, kind, id, &call.headers);
    }
    shared.update(|state| {
        if let (Some(kind), Some(id)) = (accepted, call.request_id.clone()) {
            let answer = Answer {
                kind,
                headers: call.headers.clone(),
                body: call.body.clone(),
                chunks: call.chunks.clone(),
                trailers: call.trailers.clone(),
            };
            state.answers.insert(id, answer);
        }
        state.calls.push(call);
    });
    response
}

/// Records the platform report of an answered invocation.
fn report(shared: &Shared, kind: AnswerKind, request_id: &str, headers: &HeaderMap) {
    let handed_out = shared.update(|state| state.handed_out_at.remove(request_id));
    let error_type = headers
        .get(header::FUNCTION_ERROR_TYPE)
        .and_then(|value| value.to_str().ok());
    let (status, error_type) = match kind {
        AnswerKind::Response => ("success", None),
        AnswerKind::Error => ("error", error_type.or(Some("Unhandled"))),
    };
    shared.extensions.invocation_done(&InvocationDone {
        request_id,
        status,
        error_type,
        duration: handed_out.map(|at| at.elapsed()).unwrap_or_default(),
        init_duration: None,
        memory_size_mb: 128,
        max_memory_used_mb: 0,
    });
}

fn epoch_ms(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default()
}
