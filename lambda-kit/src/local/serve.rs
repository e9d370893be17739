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

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::ServeOptions;
use crate::api_route::{Route, route_of};
use crate::config::Config;
use crate::error::{Error, error_type};
use crate::protocol::{MAX_RESPONSE_BYTES, header};

/// The Invoke API's limit on a synchronous request payload.
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Lambda's limit on a streamed response.
const MAX_STREAMED_BYTES: usize = 200 * 1024 * 1024;
/// One invocation on its way to the function.
struct Invocation {
    request_id: String,
    payload: Bytes,
    client_context: Option<String>,
    deadline: SystemTime,
    answer: oneshot::Sender<Answer>,
}

/// How the function answered.
enum Answer {
    Response(Bytes),
    Error(Bytes),
}

/// The running function process.
struct Function {
    child: Child,
    started: Instant,
    first_poll: Option<Instant>,
}

/// What the Runtime API side and the Invoke API side share.
struct Shared {
    config: Config,
    runtime_api: SocketAddr,
    /// Invocations waiting for the function's next poll. A poll holds the lock while it
    /// waits, so a poll whose connection dies (and whose future is dropped) gives it back.
    to_function: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    sender: mpsc::Sender<Invocation>,
    /// Invocations handed to the function, by request id.
    in_flight: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// The init error the function reported, replayed to the invocation that started it.
    init_error: Mutex<Option<Bytes>>,
    /// When the function first polled (for Init Duration).
    first_poll: Mutex<Option<Instant>>,
    /// One invocation at a time; tokio's mutex is fair, so invocations keep their order.
    /// The lock is held by a task of its own for the whole invocation, so a caller that
    /// disconnects does not let the next invocation start while the function still runs.
    function: Arc<tokio::sync::Mutex<Option<Function>>>,
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
    let (sender, receiver) = mpsc::channel(1);
    let shared = Arc::new(Shared {
        config: config.clone(),
        runtime_api,
        to_function: tokio::sync::Mutex::new(receiver),
        sender,
        in_flight: Mutex::new(HashMap::new()),
        init_error: Mutex::new(None),
        first_poll: Mutex::new(None),
        function: Arc::new(tokio::sync::Mutex::new(None)),
    });
    eprintln!(
        "lambda-kit: serving {} on http://{invoke_address} \
         (POST /2015-03-31/functions/function/invocations), timeout {:?}",
        config.function_name(),
        options.timeout
    );
    let api_shared = Arc::clone(&shared);
    tokio::spawn(accept(api_listener, move |request| {
        serve_runtime_api(Arc::clone(&api_shared), request)
    }));
    let timeout = options.timeout;
    accept(invoke_listener, move |request| {
        invoke(Arc::clone(&shared), timeout, request)
    })
    .await;
    cannot("the Invoke API stopped accepting connections".into())
}

async fn bind(options: &ServeOptions) -> std::io::Result<(TcpListener, TcpListener)> {
    Ok((
        TcpListener::bind(&options.address).await?,
        TcpListener::bind(("127.0.0.1", 0)).await?,
    ))
}

/// Serves HTTP/1 connections on `listener` with `handle`.
async fn accept<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Answers go out when they are written, as Lambda's own servers send them.
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error_json(error_type: &str, message: &str) -> Bytes {
    let body = crate::error::ErrorBody {
        error_type: error_type.to_owned(),
        error_message: message.to_owned(),
        stack_trace: Vec::new(),
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .unwrap_or_default()
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
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let is_invoke = request.method() == Method::POST
        && path.starts_with("/2015-03-31/functions/")
        && path.ends_with("/invocations");
    if !is_invoke {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            error_json(
                "ResourceNotFound",
                "this emulator serves POST /2015-03-31/functions/function/invocations",
            ),
        ));
    }
    let client_context = match request.headers().get("x-amz-client-context") {
        None => None,
        Some(value) => match base64::engine::general_purpose::STANDARD.decode(value.as_bytes()) {
            Ok(decoded) => Some(String::from_utf8_lossy(&decoded).into_owned()),
            Err(_) => {
                return Ok(reply(
                    StatusCode::BAD_REQUEST,
                    error_json(
                        "InvalidRequestContent",
                        "X-Amz-Client-Context must be base64-encoded JSON",
                    ),
                ));
            }
        },
    };
    let payload = match Limited::new(request.into_body(), MAX_EVENT_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_json(
                    "RequestTooLargeException",
                    &format!(
                        "the event is over Lambda's limit of {MAX_EVENT_BYTES} bytes for a synchronous invoke"
                    ),
                ),
            ));
        }
    };
    let mut function = Arc::clone(&shared.function).lock_owned().await;
    // Once handed on, the invocation runs to its answer or its timeout (and its REPORT
    // line) even if the caller goes away: hyper would drop this future, not the task.
    let invocation = tokio::spawn(async move {
        run_invocation(&shared, &mut function, timeout, payload, client_context).await
    });
    Ok(invocation.await.unwrap_or_else(|_| {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_json("Emulator", "the invocation task failed"),
        )
    }))
}

async fn run_invocation(
    shared: &Shared,
    function: &mut Option<Function>,
    timeout: Duration,
    payload: Bytes,
    client_context: Option<String>,
) -> Response<Full<Bytes>> {
    // A process that died while idle (killed, or crashed between invocations) is
    // replaced before it is handed anything.
    let exited = function
        .as_mut()
        .is_some_and(|process| !matches!(process.child.try_wait(), Ok(None)));
    if exited {
        stop_function(shared, function).await;
    }
    let cold = function.is_none();
    if cold {
        match spawn_function(shared) {
            Ok(started) => *function = Some(started),
            Err(error) => {
                return function_error(error_json(
                    "Runtime.StartError",
                    &format!("could not start the function process: {error}"),
                ));
            }
        }
    }
    let Some(process) = function.as_mut() else {
        return function_error(error_json("Runtime.StartError", "no function process"));
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let (answer_sender, answer) = oneshot::channel();
    let invocation = Invocation {
        request_id: request_id.clone(),
        payload,
        client_context,
        deadline: SystemTime::now() + timeout,
        answer: answer_sender,
    };
    eprintln!(
        "START RequestId: {request_id} Version: {}",
        shared.config.function_version()
    );
    let began = Instant::now();
    // The channel holds one invocation and only this (locked) caller sends.
    let _ = shared.sender.send(invocation).await;
    let outcome = tokio::select! {
        answer = answer => answer.ok(),
        () = tokio::time::sleep(timeout) => None,
        _ = process.child.wait() => None,
    };
    let duration = began.elapsed();
    let response = match outcome {
        Some(Answer::Response(body)) => reply(StatusCode::OK, body),
        Some(Answer::Error(body)) => function_error(body),
        None => {
            let exited = process.child.try_wait().ok().flatten();
            let reason = match (
                exited,
                shared
                    .init_error
                    .lock()
                    .map(|mut e| e.take())
                    .ok()
                    .flatten(),
            ) {
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
            };
            stop_function(shared, function).await;
            function_error(reason)
        }
    };
    report(shared, function.as_ref(), &request_id, duration, cold);
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// Starts this binary as the function process, pointed at the emulator's Runtime API.
fn spawn_function(shared: &Shared) -> std::io::Result<Function> {
    let program = std::env::current_exe()?;
    if let Ok(mut first_poll) = shared.first_poll.lock() {
        *first_poll = None;
    }
    let child = Command::new(program)
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
        // The emulator hands out one invocation at a time: a value from the shell would
        // start workers whose polls it refuses.
        .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    Ok(Function {
        child,
        started: Instant::now(),
        first_poll: None,
    })
}

/// Stops the function process and forgets what it had in hand.
async fn stop_function(shared: &Shared, function: &mut Option<Function>) {
    if let Some(mut process) = function.take() {
        let _ = process.child.kill().await;
    }
    if let Ok(mut in_flight) = shared.in_flight.lock() {
        in_flight.clear();
    }
    // An invocation the dead process never polled must not reach the next one. (If a
    // dead poll still holds the receiver, `next` skips the invocations whose caller gave
    // up.)
    if let Ok(mut receiver) = shared.to_function.try_lock() {
        while receiver.try_recv().is_ok() {}
    }
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
        return Ok(reply(
            StatusCode::NOT_FOUND,
            error_json("NotFound", "no such Runtime API resource"),
        ));
    };
    if route == Route::Next {
        return Ok(next(&shared).await);
    }
    let streaming = request
        .headers()
        .get(header::RESPONSE_MODE)
        .is_some_and(|mode| mode == "streaming");
    let limit = if streaming {
        MAX_STREAMED_BYTES
    } else {
        MAX_RESPONSE_BYTES
    };
    let (body, stream_error) = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => {
            let stream_error = collected.trailers().and_then(stream_error_body);
            (collected.to_bytes(), stream_error)
        }
        Err(_) => {
            return Ok(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_json(
                    "RequestEntityTooLarge",
                    &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
                ),
            ));
        }
    };
    if route == Route::InitError {
        if let Ok(mut init_error) = shared.init_error.lock() {
            *init_error = Some(body);
        }
        return Ok(reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#));
    }
    let sender = request_id.and_then(|id| shared.in_flight.lock().ok()?.remove(&id));
    let Some(sender) = sender else {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            error_json("InvalidRequestID", "Invalid request ID"),
        ));
    };
    let answer = match (route, stream_error) {
        // A stream that failed part way: the caller gets the error, as the Invoke API reports it.
        (Route::Response, Some(error)) => Answer::Error(error),
        (Route::Response, None) => Answer::Response(body),
        _ => Answer::Error(body),
    };
    let _ = sender.send(answer);
    Ok(reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
}

/// The error JSON carried by a failed stream's trailers.
fn stream_error_body(trailers: &http::HeaderMap) -> Option<Bytes> {
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

/// `GET /next`: waits for the next invocation and hands it to the function.
async fn next(shared: &Shared) -> Response<Full<Bytes>> {
    if let Ok(mut first_poll) = shared.first_poll.lock() {
        first_poll.get_or_insert_with(Instant::now);
    }
    // Only one function process polls at a time; it holds the receiver while it waits.
    let Ok(mut receiver) = shared.to_function.try_lock() else {
        return reply(
            StatusCode::FORBIDDEN,
            error_json("InvalidStateTransition", "another poll is waiting"),
        );
    };
    let invocation = loop {
        match receiver.recv().await {
            // Its caller gave up (the process it was meant for died): not handed out.
            Some(invocation) if invocation.answer.is_closed() => continue,
            other => break other,
        }
    };
    drop(receiver);
    let Some(invocation) = invocation else {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_json("Shutdown", "the emulator is stopping"),
        );
    };
    if let Ok(mut in_flight) = shared.in_flight.lock() {
        in_flight.insert(invocation.request_id.clone(), invocation.answer);
    }
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    let arn = format!(
        "arn:aws:lambda:{}:123456789012:function:{}",
        shared.config.region(),
        shared.config.function_name()
    );
    let mut response = Response::builder()
        .header(header::REQUEST_ID, &invocation.request_id)
        .header(header::DEADLINE_MS, deadline_ms.to_string())
        .header(header::INVOKED_FUNCTION_ARN, arn)
        .header(header::TRACE_ID, crate::context::new_trace_header())
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(client_context) = invocation.client_context {
        response = response.header(header::CLIENT_CONTEXT, client_context);
    }
    response
        .body(Full::new(invocation.payload))
        .unwrap_or_else(|_| {
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_json("Emulator", "bad header"),
            )
        })
}
