//! `bootstrap --serve [ADDR] [--timeout SECONDS]`: the binary as its own local Lambda.
//!
//! Like AWS's Runtime Interface Emulator, the emulator is a parent process. It serves
//! the Invoke API's `POST /2015-03-31/functions/function/invocations` on ADDR and a Runtime
//! API on a private port, and it runs the function as a child process: this same binary,
//! with `AWS_LAMBDA_RUNTIME_API` set. So the real runtime loop serves every local
//! invocation. Invocations run one at a time, in arrival order.
//!
//! A function error is answered 200 with the error JSON and `X-Amz-Function-Error:
//! Unhandled`, as the Invoke API does. When an invocation runs past `--timeout` (3 s by
//! default, Lambda's default), or the process dies, the child is stopped and the next
//! invocation starts a new one: a cold start, as in Lambda.
//!
//! The Extensions and Telemetry APIs are served too. The external extensions named with
//! `--extension PATH`, and those in an `extensions/` folder next to the binary (where a
//! layer puts them under `/opt`), start before the function and are waited for until they
//! have registered and polled, as Lambda waits for them. They get `INVOKE` and `SHUTDOWN`,
//! and subscribers get platform records. When the environment ends (the emulator is
//! stopped with SIGTERM or Ctrl-C, an invocation times out, the function dies), the
//! function gets SIGTERM if any extension registered (its shutdown hooks run) and is
//! killed 500 ms later, then the extensions get `SHUTDOWN` and have 2 s, as in Lambda.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::ServeOptions;
use crate::api_server::{
    EXTENSION_SHUTDOWN_BUDGET, ExtensionsApi, InvocationDone, Ledger, Queued, Refusal, Route,
    accepted, error_json, not_found, read_body, reply, route_of,
};
use crate::config::Config;
use crate::error::{Error, error_type};
use crate::protocol::{MAX_RESPONSE_BYTES, header};
use crate::signal::Termination;

/// How long the function has between SIGTERM and SIGKILL, as Lambda allows a runtime with an
/// internal extension.
const RUNTIME_SHUTDOWN_BUDGET: Duration = Duration::from_millis(500);
/// How long extensions have to register and poll before the function starts anyway: Lambda's
/// init limit.
const EXTENSION_INIT_LIMIT: Duration = Duration::from_secs(10);

/// The Invoke API's limit on a synchronous request payload.
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Lambda's limit on a streamed response.
const MAX_STREAMED_BYTES: usize = 200 * 1024 * 1024;
/// One piece of a streamed answer.
#[derive(Debug)]
pub(super) enum StreamPiece {
    /// A chunk of the body.
    Data(Bytes),
    /// The stream failed (error trailers, a cut post, a timeout, a crash): Lambda's error
    /// JSON. Nothing follows it.
    Failed(Bytes),
}

/// What an invocation came to: how the function answered it, as the Runtime API side
/// hands it to the invocation, and as the invocation hands it to the front that asked for
/// it (the Invoke API, or the local HTTP API).
#[derive(Debug)]
pub(super) enum Outcome {
    /// The function's response, whole.
    Response(Bytes),
    /// Lambda's error JSON: the handler's error, an init error, a timeout, a crash.
    Error(Bytes),
    /// A streamed response: its content type, then its pieces as the function posts them.
    Stream {
        content_type: HeaderValue,
        pieces: mpsc::Receiver<StreamPiece>,
    },
}

/// The body of a front's reply: whole, or streamed.
pub(super) type ReplyBody = BoxBody<Bytes, StreamCut>;

/// A streamed reply cut off because the function's stream failed: the connection is
/// closed part way, as Lambda ends a function URL's failed stream.
#[derive(Debug, thiserror::Error)]
#[error("the function's response stream failed part way")]
pub(super) struct StreamCut;

/// A whole reply as a front's reply.
pub(super) fn whole(response: Response<Full<Bytes>>) -> Response<ReplyBody> {
    response.map(|body| body.map_err(|never| match never {}).boxed())
}

/// How many pieces of a stream wait between the function's post and the caller: a slow
/// caller slows the post, as Lambda's own backpressure would.
const STREAM_BUFFER: usize = 8;

/// The running execution environment: the function process and its external extensions.
struct Function {
    child: Child,
    extensions: Vec<Child>,
    started: Instant,
    first_poll: Option<Instant>,
}

/// What the Runtime API side and the Invoke API side share.
pub(super) struct Shared {
    config: Config,
    runtime_api: SocketAddr,
    /// Invocations queued for the function's next poll and handed to it, each with the
    /// channel its answer goes back on.
    ledger: Ledger<oneshot::Sender<Outcome>>,
    /// The init error the function reported, replayed to the invocation that started it.
    init_error: Mutex<Option<Bytes>>,
    /// When the function first polled (for Init Duration).
    first_poll: Mutex<Option<Instant>>,
    /// The Extensions and Telemetry APIs of the current environment (new with each).
    api: Mutex<Arc<ExtensionsApi>>,
    /// The external extensions' executables.
    extension_paths: Vec<PathBuf>,
    /// One invocation at a time; tokio's mutex is fair, so invocations keep their order.
    /// The lock is held by a task of its own for the whole invocation, so a caller that
    /// disconnects does not let the next invocation start while the function still runs.
    function: Arc<tokio::sync::Mutex<Option<Function>>>,
}

impl Shared {
    /// The function's region.
    pub(super) fn region(&self) -> &str {
        self.config.region()
    }
}

/// Runs the emulator until the process is stopped; returns only if it cannot serve.
pub(crate) async fn run(options: &ServeOptions, config: &Config) -> Error {
    let cannot = |what: String| Error::new(error_type::SERVE_FAILED, what);
    let (invoke_listener, api_listener) = match bind(options).await {
        Ok(listeners) => listeners,
        Err(error) => return cannot(format!("cannot serve on {}: {error}", options.address)),
    };
    let (Ok(invoke_address), Ok(runtime_api)) =
        (invoke_listener.local_addr(), api_listener.local_addr())
    else {
        return cannot("cannot read the listening addresses".into());
    };
    let shared = Arc::new(Shared {
        config: config.clone(),
        runtime_api,
        ledger: Ledger::default(),
        init_error: Mutex::new(None),
        first_poll: Mutex::new(None),
        api: Mutex::new(Arc::new(ExtensionsApi::new(
            config.function_name(),
            config.function_version(),
        ))),
        extension_paths: extension_paths(options),
        function: Arc::new(tokio::sync::Mutex::new(None)),
    });
    match &options.http {
        None => eprintln!(
            "lambda-kit: serving {} on http://{invoke_address} \
             (POST /2015-03-31/functions/function/invocations), timeout {:?}",
            config.function_name(),
            options.timeout
        ),
        Some(front) => eprintln!(
            "lambda-kit: serving {} as {} on http://{invoke_address} ({}), timeout {:?}",
            config.function_name(),
            front.integration.name(),
            front.describe_routes(),
            options.timeout
        ),
    }
    let api_shared = Arc::clone(&shared);
    tokio::spawn(crate::api_server::serve(api_listener, move |stream| {
        let shared = Arc::clone(&api_shared);
        let handler = move |request| serve_runtime_api(Arc::clone(&shared), request);
        (stream, handler)
    }));
    let timeout = options.timeout;
    let mut termination = Termination::listen(true);
    let front_shared = Arc::clone(&shared);
    let http = options.http.clone().map(Arc::new);
    let serving = crate::api_server::serve(invoke_listener, move |stream| {
        let shared = Arc::clone(&front_shared);
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let http = http.clone();
        let handler = move |request| {
            let shared = Arc::clone(&shared);
            let http = http.clone();
            async move {
                match http {
                    None => invoke(shared, timeout, request).await,
                    Some(front) => {
                        super::http_api::serve_request(shared, timeout, &front, peer, request).await
                    }
                }
            }
        };
        (stream, handler)
    });
    tokio::select! {
        () = serving => cannot("the Invoke API stopped accepting connections".into()),
        signal = termination.received() => {
            eprintln!("lambda-kit: {signal}: shutting the function down");
            // After the invocation in progress, as Lambda shuts an environment down between
            // invocations.
            let mut function = shared.function.lock().await;
            stop_function(&shared, &mut function, "spindown").await;
            Error::new(error_type::SERVE_FAILED, format!("stopped by {signal}")).reported(0)
        }
    }
}

/// The extensions to run: `--extension` paths, then the executables in `extensions/`
/// next to this binary, in name order.
fn extension_paths(options: &ServeOptions) -> Vec<PathBuf> {
    let mut paths = options.extensions.clone();
    let folder = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|parent| parent.join("extensions")));
    if let Some(Ok(entries)) = folder.map(std::fs::read_dir) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect();
        found.sort();
        paths.extend(found);
    }
    paths
}

async fn bind(options: &ServeOptions) -> std::io::Result<(TcpListener, TcpListener)> {
    Ok((
        TcpListener::bind(&options.address).await?,
        TcpListener::bind(("127.0.0.1", 0)).await?,
    ))
}

/// A function error, answered the way the Invoke API answers it.
fn function_error(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = reply(StatusCode::OK, body);
    response.headers_mut().insert(
        "x-amz-function-error",
        HeaderValue::from_static("Unhandled"),
    );
    response
}

/// `POST /2015-03-31/functions/{name}/invocations`.
async fn invoke(
    shared: Arc<Shared>,
    timeout: Duration,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, Infallible> {
    let path = request.uri().path();
    let is_invoke = request.method() == Method::POST
        && path.starts_with("/2015-03-31/functions/")
        && path.ends_with("/invocations");
    if !is_invoke {
        return Ok(whole(reply(
            StatusCode::NOT_FOUND,
            error_json(
                "ResourceNotFound",
                "this emulator serves POST /2015-03-31/functions/function/invocations",
            ),
        )));
    }
    let client_context = match request.headers().get("x-amz-client-context") {
        None => None,
        Some(value) => match base64::engine::general_purpose::STANDARD.decode(value.as_bytes()) {
            Ok(decoded) => Some(String::from_utf8_lossy(&decoded).into_owned()),
            Err(_) => {
                return Ok(whole(reply(
                    StatusCode::BAD_REQUEST,
                    error_json(
                        "InvalidRequestContent",
                        "X-Amz-Client-Context must be base64-encoded JSON",
                    ),
                )));
            }
        },
    };
    let payload = match Limited::new(request.into_body(), MAX_EVENT_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(whole(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_json(
                    "RequestTooLargeException",
                    &format!(
                        "the event is over Lambda's limit of {MAX_EVENT_BYTES} bytes for a synchronous invoke"
                    ),
                ),
            )));
        }
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let outcome = invoke_function(shared, timeout, &request_id, payload, client_context).await;
    let mut response = invoke_api_reply(outcome);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    Ok(response)
}

/// The Invoke API's reply for an outcome: 200 with the response, 200 with the error JSON
/// and `X-Amz-Function-Error: Unhandled`, or 200 with the stream as it comes (a failure
/// part way ends it with the function's error trailers).
fn invoke_api_reply(outcome: Outcome) -> Response<ReplyBody> {
    match outcome {
        Outcome::Response(body) => whole(reply(StatusCode::OK, body)),
        Outcome::Error(body) => whole(function_error(body)),
        Outcome::Stream {
            content_type,
            pieces,
        } => {
            let mut response = Response::new(stream_body(Bytes::new(), pieces, |failed| {
                let error_type = error_type_of(&failed);
                Some(crate::streaming::error_trailers_of(
                    error_type.as_deref(),
                    &failed,
                ))
            }));
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, content_type);
            response
        }
    }
}

/// The body of a reply that a front streams: `first` (when not empty), then the chunks
/// of `pieces`, then, if the stream fails, the trailers `failed` makes of its error
/// (`None`: the reply is cut off).
pub(super) fn stream_body(
    first: Bytes,
    pieces: mpsc::Receiver<StreamPiece>,
    failed: impl Fn(Bytes) -> Option<HeaderMap> + Send + Sync + 'static,
) -> ReplyBody {
    let failed = Arc::new(failed);
    let first = (!first.is_empty()).then_some(first);
    let frames = futures_util::stream::unfold(Some((first, pieces)), move |state| {
        let failed = Arc::clone(&failed);
        async move {
            let (first, mut pieces) = state?;
            if let Some(chunk) = first {
                return Some((Ok(Frame::data(chunk)), Some((None, pieces))));
            }
            match pieces.recv().await? {
                StreamPiece::Data(chunk) => Some((Ok(Frame::data(chunk)), Some((None, pieces)))),
                StreamPiece::Failed(error) => {
                    let frame = failed(error).map(Frame::trailers).ok_or(StreamCut);
                    Some((frame, None))
                }
            }
        }
    });
    StreamBody::new(frames).boxed()
}

/// The `errorType` of Lambda's error JSON.
fn error_type_of(error: &[u8]) -> Option<String> {
    let body: crate::error::ErrorBody = serde_json::from_slice(error).ok()?;
    Some(body.error_type)
}

/// Runs one invocation to its outcome: waits for its turn (one at a time, in arrival
/// order), then hands the event to the function. A streamed answer is returned as soon as
/// it starts; the invocation goes on until the stream ends, still holding the turn.
pub(super) async fn invoke_function(
    shared: Arc<Shared>,
    timeout: Duration,
    request_id: &str,
    payload: Bytes,
    client_context: Option<String>,
) -> Outcome {
    let mut function = Arc::clone(&shared.function).lock_owned().await;
    let (deliver, outcome) = oneshot::channel();
    let request_id = request_id.to_owned();
    // Once handed on, the invocation runs to its answer or its timeout (and its REPORT
    // line) even if the caller goes away: hyper would drop this future, not the task.
    tokio::spawn(async move {
        let invocation = Invocation {
            request_id,
            timeout,
            payload,
            client_context,
        };
        run_invocation(&shared, &mut function, invocation, deliver).await;
    });
    outcome
        .await
        .unwrap_or_else(|_| Outcome::Error(error_json("Emulator", "the invocation task failed")))
}

/// One invocation, from the hand-out to the REPORT line: the outcome goes to `deliver`
/// as soon as it is known (a stream's at its start, whose pieces are then passed on until
/// it ends, fails, runs out of time, or the process dies).
async fn run_invocation(
    shared: &Shared,
    function: &mut Option<Function>,
    invocation: Invocation,
    deliver: oneshot::Sender<Outcome>,
) {
    let Invocation {
        request_id,
        timeout,
        payload,
        client_context,
    } = invocation;
    // A process that died while idle (killed, or crashed between invocations) is
    // replaced before it is handed anything.
    let exited = function
        .as_mut()
        .is_some_and(|process| !matches!(process.child.try_wait(), Ok(None)));
    if exited {
        stop_function(shared, function, "failure").await;
    }
    let cold = function.is_none();
    if cold {
        match start_environment(shared).await {
            Ok(started) => *function = Some(started),
            Err(error) => {
                let _ = deliver.send(Outcome::Error(error_json(
                    "Runtime.StartError",
                    &format!("could not start the function process: {error}"),
                )));
                return;
            }
        }
    }
    let Some(process) = function.as_mut() else {
        let _ = deliver.send(Outcome::Error(error_json(
            "Runtime.StartError",
            "no function process",
        )));
        return;
    };
    let (answer_sender, answer) = oneshot::channel();
    let invocation = Queued {
        headers: next_headers(
            shared,
            &request_id,
            SystemTime::now() + timeout,
            client_context,
        ),
        request_id: request_id.clone(),
        payload,
        waiter: answer_sender,
    };
    eprintln!(
        "START RequestId: {request_id} Version: {}",
        shared.config.function_version()
    );
    let began = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    shared.ledger.push(invocation);
    let answer = tokio::select! {
        answer = answer => answer.ok(),
        () = tokio::time::sleep_until(deadline) => None,
        _ = process.child.wait() => None,
    };
    let ended = match answer {
        Some(Outcome::Stream {
            content_type,
            pieces,
        }) => {
            let (to_caller, from_function) = mpsc::channel(STREAM_BUFFER);
            let _ = deliver.send(Outcome::Stream {
                content_type,
                pieces: from_function,
            });
            pass_stream_on(process, pieces, to_caller, deadline).await
        }
        Some(whole_answer) => {
            let ended = match whole_answer {
                Outcome::Response(_) => Ended::Success,
                _ => Ended::Error,
            };
            let _ = deliver.send(whole_answer);
            ended
        }
        None => {
            let reason = why_unanswered(shared, process, timeout, &request_id);
            let _ = deliver.send(Outcome::Error(reason));
            unanswered(process)
        }
    };
    let duration = began.elapsed();
    let (status, error_type) = match ended {
        Ended::Success => ("success", None),
        Ended::Error => ("error", Some("Unhandled")),
        Ended::Crashed => ("failure", Some("Runtime.ExitError")),
        Ended::TimedOut => ("timeout", Some("Sandbox.Timedout")),
    };
    let memory = process.child.id().and_then(peak_rss_mb).unwrap_or_default();
    let init_duration = cold
        .then(|| shared.first_poll.lock().ok().and_then(|poll| *poll))
        .flatten()
        .map(|first_poll| first_poll.duration_since(process.started));
    current_api(shared).invocation_done(&InvocationDone {
        request_id: &request_id,
        status,
        error_type,
        duration,
        init_duration,
        memory_size_mb: shared.config.memory_size_mb(),
        max_memory_used_mb: memory,
    });
    match ended {
        Ended::TimedOut => stop_function(shared, function, "timeout").await,
        Ended::Crashed => stop_function(shared, function, "failure").await,
        Ended::Success | Ended::Error => {}
    }
    report(shared, function.as_ref(), &request_id, duration, cold);
}

/// One invocation a front asked for.
struct Invocation {
    request_id: String,
    timeout: Duration,
    payload: Bytes,
    client_context: Option<String>,
}

/// How an invocation ended, for its platform report and what happens to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Success,
    Error,
    /// The process died before it answered: it is replaced.
    Crashed,
    /// The invocation ran out of time: the process is replaced.
    TimedOut,
}

/// Whether an invocation the function never answered crashed or timed out.
fn unanswered(process: &mut Function) -> Ended {
    if process.child.try_wait().ok().flatten().is_some() {
        Ended::Crashed
    } else {
        Ended::TimedOut
    }
}

/// The error JSON for an invocation the function never answered: its init error, the
/// process's exit, or the timeout.
fn why_unanswered(
    shared: &Shared,
    process: &mut Function,
    timeout: Duration,
    request_id: &str,
) -> Bytes {
    let exited = process.child.try_wait().ok().flatten();
    let init_error = shared
        .init_error
        .lock()
        .map(|mut error| error.take())
        .ok()
        .flatten();
    match (exited, init_error) {
        (_, Some(init_error)) => init_error,
        (Some(status), None) => error_json(
            "Runtime.ExitError",
            &format!("the function process exited ({status}) before answering"),
        ),
        (None, None) => {
            let error = super::timed_out(timeout);
            eprintln!("{request_id} {}", error.message());
            error_json(error.error_type(), error.message())
        }
    }
}

/// Passes a stream's pieces on to the caller as the function posts them, until it ends,
/// fails, passes the deadline or loses its process. A caller that went away stops
/// nothing: the function runs to its end, as in Lambda.
async fn pass_stream_on(
    process: &mut Function,
    mut pieces: mpsc::Receiver<StreamPiece>,
    to_caller: mpsc::Sender<StreamPiece>,
    deadline: tokio::time::Instant,
) -> Ended {
    loop {
        let piece = tokio::select! {
            piece = pieces.recv() => piece,
            () = tokio::time::sleep_until(deadline) => {
                let error = error_json(error_type::TIMED_OUT, "the stream ran past the function's timeout");
                let _ = to_caller.send(StreamPiece::Failed(error)).await;
                return Ended::TimedOut;
            }
            _ = process.child.wait() => None,
        };
        match piece {
            Some(StreamPiece::Data(chunk)) => {
                let _ = to_caller.send(StreamPiece::Data(chunk)).await;
            }
            Some(StreamPiece::Failed(error)) => {
                let _ = to_caller.send(StreamPiece::Failed(error)).await;
                return Ended::Error;
            }
            // The post ended: the stream is whole, unless the process died under it.
            None => {
                if process.child.try_wait().ok().flatten().is_some() {
                    let error = error_json(
                        "Runtime.ExitError",
                        "the function process exited part way through its stream",
                    );
                    let _ = to_caller.send(StreamPiece::Failed(error)).await;
                    return Ended::Crashed;
                }
                return Ended::Success;
            }
        }
    }
}

/// The Extensions and Telemetry APIs of the current environment.
fn current_api(shared: &Shared) -> Arc<ExtensionsApi> {
    Arc::clone(&crate::api_server::lock(&shared.api))
}

/// Starts an execution environment: new Extensions and Telemetry APIs, the external
/// extensions (waited for until each has registered and polled, or exited), then this
/// binary as the function process, each pointed at the emulator's Runtime API.
async fn start_environment(shared: &Shared) -> std::io::Result<Function> {
    let api = Arc::new(ExtensionsApi::new(
        shared.config.function_name(),
        shared.config.function_version(),
    ));
    *crate::api_server::lock(&shared.api) = Arc::clone(&api);
    if let Ok(mut first_poll) = shared.first_poll.lock() {
        *first_poll = None;
    }
    let started = Instant::now();
    let mut extensions = Vec::new();
    for path in &shared.extension_paths {
        if let Some(name) = path.file_name().and_then(|name| name.to_str()) {
            api.extensions.declare_external(name);
        }
        match environment_process(shared, path).spawn() {
            Ok(child) => extensions.push(child),
            Err(error) => eprintln!(
                "lambda-kit: cannot start the extension {}: {error}",
                path.display()
            ),
        }
    }
    wait_for_extensions(&api, &mut extensions).await;
    let child = environment_process(shared, &std::env::current_exe()?)
        // The emulator hands out one invocation at a time: a value from the shell would
        // start workers whose polls it refuses.
        .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
        .spawn()?;
    Ok(Function {
        child,
        extensions,
        started,
        first_poll: None,
    })
}

/// A process of the environment: `program` with the function's variables.
fn environment_process(shared: &Shared, program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("AWS_LAMBDA_RUNTIME_API", shared.runtime_api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", shared.config.function_name())
        .env(
            "AWS_LAMBDA_FUNCTION_VERSION",
            shared.config.function_version(),
        )
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            shared.config.memory_size_mb().to_string(),
        )
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Waits until every started extension has registered and polled `event/next`, one has
/// exited, or Lambda's init limit has passed.
async fn wait_for_extensions(api: &ExtensionsApi, extensions: &mut [Child]) {
    let count = extensions.len();
    if count == 0 {
        return;
    }
    let ready = api.extensions.wait_for(|registered, polling| {
        (registered.len() >= count && polling >= count).then_some(())
    });
    let exited = async {
        loop {
            for child in extensions.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return status;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        () = ready => {}
        status = exited => eprintln!("lambda-kit: an extension exited ({status}) during init; the function starts without it"),
        () = tokio::time::sleep(EXTENSION_INIT_LIMIT) => eprintln!("lambda-kit: the extensions had not all registered after {EXTENSION_INIT_LIMIT:?}; the function starts anyway"),
    }
}

/// Ends the environment as Lambda does, then forgets what the function had in hand: with
/// an extension registered the function gets SIGTERM and 500 ms before it is killed (with
/// none, it is killed at once); then the extensions registered for it get `SHUTDOWN`
/// (`reason`) and 2 s before they are killed.
async fn stop_function(shared: &Shared, function: &mut Option<Function>, reason: &str) {
    if let Some(mut process) = function.take() {
        let api = current_api(shared);
        let any_registered = !api.extensions.registered().is_empty();
        if any_registered && terminate(&process.child) {
            let _ = tokio::time::timeout(RUNTIME_SHUTDOWN_BUDGET, process.child.wait()).await;
        }
        let _ = process.child.kill().await;
        if api.extensions.shutdown(reason) > 0 {
            let _ = tokio::time::timeout(EXTENSION_SHUTDOWN_BUDGET, async {
                for extension in &mut process.extensions {
                    let _ = extension.wait().await;
                }
            })
            .await;
        }
        for extension in &mut process.extensions {
            let _ = extension.kill().await;
        }
    }
    // What the dead process held, and what it never polled, must not reach the next one.
    shared.ledger.clear();
}

/// Sends SIGTERM to `child`; whether it was sent.
fn terminate(child: &Child) -> bool {
    let Some(pid) = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) else {
        return false;
    };
    // SAFETY: `kill` takes plain integers and touches no memory of this process; the pid
    // is the child's, which `Child` has not reaped yet (it has no exit status), so it
    // cannot name another process.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

/// Prints Lambda's `END` and `REPORT` lines for one invocation.
fn report(
    shared: &Shared,
    function: Option<&Function>,
    request_id: &str,
    duration: Duration,
    cold: bool,
) {
    let millis = duration.as_secs_f64() * 1000.0;
    let memory = function
        .and_then(|process| process.child.id())
        .and_then(peak_rss_mb)
        .map(|mb| format!("\tMax Memory Used: {mb} MB"))
        .unwrap_or_default();
    let init = function
        .filter(|_| cold)
        .and_then(|process| {
            let first_poll = process
                .first_poll
                .or_else(|| shared.first_poll.lock().ok().and_then(|poll| *poll))?;
            Some(first_poll.duration_since(process.started))
        })
        .map(|init| format!("\tInit Duration: {:.2} ms", init.as_secs_f64() * 1000.0))
        .unwrap_or_default();
    eprintln!("END RequestId: {request_id}");
    eprintln!(
        "REPORT RequestId: {request_id}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\t\
         Memory Size: {} MB{memory}{init}",
        millis.ceil() as u64,
        shared.config.memory_size_mb()
    );
}

/// `VmHWM` of a process, in MB.
fn peak_rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.div_ceil(1024))
}

/// The Runtime API the function process polls.
async fn serve_runtime_api(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some((route, request_id)) = route_of(request.method(), request.uri().path()) else {
        return Ok(not_found());
    };
    let api = current_api(&shared);
    if route.is_extension() {
        let (parts, body) = request.into_parts();
        let body = read_body(body, MAX_RESPONSE_BYTES).await.bytes();
        return Ok(api.handle(route, &parts.headers, body).await);
    }
    if route == Route::Next {
        let first = shared.first_poll.lock().ok().is_some_and(|mut first_poll| {
            let first = first_poll.is_none();
            first_poll.get_or_insert_with(Instant::now);
            first
        });
        if first {
            api.init_done(Duration::ZERO);
        }
        // An invocation whose caller gave up (the process it was meant for died) is not
        // handed out.
        let next = shared.ledger.next(oneshot::Sender::is_closed).await;
        api.invocation_start(next.headers());
        return Ok(next);
    }
    if matches!(route, Route::RestoreNext | Route::RestoreError) {
        // No snapshots here: AWS_LAMBDA_INITIALIZATION_TYPE is never snap-start.
        return Ok(not_found());
    }
    let streaming = request
        .headers()
        .get(header::RESPONSE_MODE)
        .is_some_and(|mode| mode == "streaming");
    if route == Route::Response && streaming {
        let sender = match shared.ledger.take_answer(request_id.as_deref(), 0, 0) {
            Ok(sender) => sender,
            Err(refusal) => return Ok(refusal.reply()),
        };
        return Ok(receive_stream(request, sender).await);
    }
    let limit = MAX_RESPONSE_BYTES;
    let body = read_body(request.into_body(), limit).await;
    if route == Route::InitError {
        if let Ok(mut init_error) = shared.init_error.lock() {
            *init_error = Some(body.bytes());
        }
        return Ok(accepted());
    }
    let sender = match shared
        .ledger
        .take_answer(request_id.as_deref(), body.len, limit)
    {
        Ok(sender) => sender,
        Err(refusal) => return Ok(refusal.reply()),
    };
    let answer = match route {
        Route::Response => Outcome::Response(body.bytes()),
        _ => Outcome::Error(body.bytes()),
    };
    let _ = sender.send(answer);
    Ok(accepted())
}

/// A streamed response post: its pieces go to the invocation's caller as they are read,
/// no faster than the caller takes them. Over Lambda's 200 MB the post is refused with
/// 413 and the stream fails with `Function.ResponseSizeTooLarge`; a post cut off part way
/// fails it with `Runtime.ResponseStreamInterrupted`.
async fn receive_stream(
    request: Request<Incoming>,
    answer: oneshot::Sender<Outcome>,
) -> Response<Full<Bytes>> {
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let (pieces, received) = mpsc::channel(STREAM_BUFFER);
    let _ = answer.send(Outcome::Stream {
        content_type,
        pieces: received,
    });
    let mut body = request.into_body();
    let mut len = 0;
    // A caller that went away leaves the post to be read to its end all the same.
    loop {
        let piece = match body.frame().await {
            None => return accepted(),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(chunk) => {
                    len += chunk.len();
                    if len > MAX_STREAMED_BYTES {
                        let refusal = Refusal::TooLarge {
                            limit: MAX_STREAMED_BYTES,
                        };
                        let error = error_json(
                            error_type::RESPONSE_TOO_LARGE,
                            &format!(
                                "the streamed response is over Lambda's limit of {MAX_STREAMED_BYTES} bytes"
                            ),
                        );
                        let _ = pieces.send(StreamPiece::Failed(error)).await;
                        return refusal.reply();
                    }
                    StreamPiece::Data(chunk)
                }
                Err(frame) => match frame
                    .into_trailers()
                    .ok()
                    .as_ref()
                    .and_then(stream_error_body)
                {
                    Some(error) => StreamPiece::Failed(error),
                    None => continue,
                },
            },
            Some(Err(_)) => StreamPiece::Failed(error_json(
                error_type::STREAM_INTERRUPTED,
                "the function's streamed response was cut off part way",
            )),
        };
        let failed = matches!(piece, StreamPiece::Failed(_));
        let _ = pieces.send(piece).await;
        if failed {
            return accepted();
        }
    }
}

/// The error JSON carried by a failed stream's trailers.
fn stream_error_body(trailers: &HeaderMap) -> Option<Bytes> {
    let error_type = trailers.get(header::FUNCTION_ERROR_TYPE)?.to_str().ok()?;
    let body = trailers.get(header::FUNCTION_ERROR_BODY).and_then(|value| {
        base64::engine::general_purpose::STANDARD
            .decode(value.as_bytes())
            .ok()
    });
    Some(
        body.map(Bytes::from)
            .unwrap_or_else(|| error_json(error_type, "the response stream failed")),
    )
}

/// The `/next` headers of an invocation, as Lambda sends them.
fn next_headers(
    shared: &Shared,
    request_id: &str,
    deadline: SystemTime,
    client_context: Option<String>,
) -> HeaderMap {
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    let arn = format!(
        "arn:aws:lambda:{}:123456789012:function:{}",
        shared.config.region(),
        shared.config.function_name()
    );
    let values = [
        (header::REQUEST_ID, request_id.to_owned()),
        (header::DEADLINE_MS, deadline_ms.to_string()),
        (header::INVOKED_FUNCTION_ARN, arn),
        // Sampled, as with active tracing on: a local run is traced by whatever tracer is
        // configured (an X-Ray daemon on 127.0.0.1:2000, an OTLP receiver); with nothing
        // listening, the little that is sent is dropped.
        (header::TRACE_ID, crate::context::new_trace_header(true)),
        ("content-type", "application/json".to_owned()),
    ];
    let client_context = client_context.map(|value| (header::CLIENT_CONTEXT, value));
    let mut headers = HeaderMap::new();
    for (name, value) in values.into_iter().chain(client_context) {
        // A value that is no header value (a client context with a newline) is left out.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers
}
