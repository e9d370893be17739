//! The Lambda loop: workers poll `/next`, drive each invocation, and answer it.
//!
//! Rules the loop keeps:
//! - every invocation it receives ends in exactly one accepted answer: the response, or an
//!   error post when the handler fails, panics, cannot decode the event, cannot encode its
//!   response, or the response is too large;
//! - a 500 from the API ends the loop with an error (Lambda documents it as a broken
//!   environment); other refusals of an answer are logged and the loop goes on;
//! - `_X_AMZN_TRACE_ID` follows the invocation only where writing it is sound (one
//!   invocation at a time on the current-thread executor).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::StatusCode;
use tracing::Instrument as _;

use super::Lifecycle;
use super::backoff::Backoff;
use super::client::{ApiClient, ApiError};
use super::endpoint::{AnswerPath, Endpoint};
use super::invocation::{UnreadableInvocation, context_from_headers, unreadable_invocation};
use super::shutdown::{self, ShutdownHooks};
use super::snapstart::{SnapStartError, SnapStartHooks};
use super::trace_env::{TraceEnv, trace_env_is_safe_to_set};
use super::wire::Answer;
use crate::config::Config;
use crate::context::Context;
use crate::drive::{Drivable, drive};
use crate::error::{Error, error_type};
use crate::metrics::Metrics;
use crate::protocol::MAX_RESPONSE_BYTES;
use crate::response::FunctionResponse;
use crate::signal::Termination;
use crate::telemetry::event::EventFacts;
use crate::telemetry::{flush, invocation_span, log_failure};

/// Posts an error of the function's init to `/runtime/init/error`; a refusal or a failed
/// post is logged, since the process is about to end either way.
pub(crate) async fn post_init_error(endpoint: &Endpoint, error: &Error) {
    let mut client = ApiClient::new(endpoint.clone());
    log_final_post("init error", client.post_init_error(&error.to_body()).await);
}

/// Logs how a last post before the process ends went, if not well.
pub(super) fn log_final_post(what: &str, posted: Result<Answer, ApiError>) {
    match posted {
        Ok(response) if response.status.is_success() => {}
        Ok(response) => tracing::warn!(
            status = response.status.as_u16(),
            "the Runtime API refused the {what}"
        ),
        Err(post_error) => tracing::warn!(%post_error, "could not post the {what}"),
    }
}

/// What every worker of one runtime shares.
struct Shared {
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    /// Set by the first invocation of the environment, whichever worker serves it.
    warm: AtomicBool,
    /// Whether the first invocation is reported as a cold start (logs, EMF, X-Ray). Not
    /// under provisioned concurrency: the environment was initialised ahead of any
    /// request, so no request waited for it; Powertools reports it the same way.
    first_is_cold: bool,
    /// Sequential mode on the current-thread executor sets `_X_AMZN_TRACE_ID`; with
    /// concurrent invocations one process-wide variable cannot name them all, and on the
    /// multi-thread executor tasks of earlier invocations may read the environment while
    /// it is written, so the trace id then lives only on each `Context`.
    sets_trace_env: bool,
    /// With several workers: turns `true` when one of them met a fatal error, so that the
    /// others stop polling (an invocation they hold still runs to its answer).
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// With several workers: the latest deadline (epoch ms) of any invocation handed out,
    /// which bounds how long in-flight invocations are waited for after a fatal error.
    latest_deadline_ms: AtomicU64,
}

impl Shared {
    fn new(
        config: Arc<Config>,
        metrics: Metrics,
        sets_trace_env: bool,
        stop: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Self {
        Shared {
            first_is_cold: reports_cold_start(&config),
            config,
            metrics: Arc::new(metrics),
            warm: AtomicBool::new(false),
            sets_trace_env,
            stop,
            latest_deadline_ms: AtomicU64::new(0),
        }
    }
}

/// The loop: one invocation at a time, until a fatal API error or, with shutdown hooks,
/// SIGTERM.
pub(crate) async fn serve<S, E, R>(
    service: S,
    endpoint: Endpoint,
    config: Arc<Config>,
    metrics: Metrics,
    lifecycle: Lifecycle,
) -> Result<(), Error>
where
    S: Drivable<E, R>,
{
    if config.max_concurrency() > 1 {
        tracing::warn!(
            max_concurrency = config.max_concurrency(),
            "AWS_LAMBDA_MAX_CONCURRENCY is above 1, but `run` serves one invocation at a time; \
             use `run_concurrent` (as #[lambda_kit::handler] does)"
        );
    }
    let Lifecycle {
        shutdown,
        snapstart,
    } = lifecycle;
    let termination = prepare(&endpoint, &config, &shutdown, snapstart).await?;
    let Some(mut termination) = termination else {
        let shared = Shared::new(config, metrics, trace_env_is_safe_to_set(), None);
        return worker(service, ApiClient::new(endpoint), &shared).await;
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shared = Shared::new(config, metrics, trace_env_is_safe_to_set(), Some(stopped));
    let mut serving = pin!(worker(service, ApiClient::new(endpoint), &shared));
    let signal = tokio::select! {
        served = &mut serving => return served,
        signal = termination.received() => signal,
    };
    shut_down(signal, &stop, serving.map(drop), shutdown).await;
    Ok(())
}

/// After `signal`: the workers stop polling, the invocations in hand (`in_flight` ends when
/// they have answered) get the grace period first, and the hooks what is left of it.
async fn shut_down(
    signal: &str,
    stop: &tokio::sync::watch::Sender<bool>,
    in_flight: impl Future<Output = ()>,
    hooks: ShutdownHooks,
) {
    let deadline = shutdown::grace_deadline();
    tracing::info!(signal, "shutting down: running the shutdown hooks");
    stop.send_replace(true);
    if tokio::time::timeout_at(deadline, in_flight).await.is_err() {
        tracing::warn!("invocations in hand had not answered when the grace period ended");
    }
    hooks.run(deadline).await;
}

/// What comes before the first `/next`: with shutdown hooks, a SIGTERM listener and the
/// internal extension that makes Lambda send it; under SnapStart, the snapshot and restore
/// sequence (whose failure is reported and ends the process).
async fn prepare(
    endpoint: &Endpoint,
    config: &Config,
    shutdown: &ShutdownHooks,
    snapstart: SnapStartHooks,
) -> Result<Option<Termination>, Error> {
    let termination = if shutdown.is_empty() {
        None
    } else {
        // Listening before registering: SIGTERM can come as soon as the extension exists.
        let termination = Termination::listen(false);
        shutdown::register_for_sigterm(endpoint).await;
        Some(termination)
    };
    match snapstart.run(endpoint, config.initialization_type()).await {
        Ok(()) => Ok(termination),
        Err(SnapStartError::BeforeSnapshot(error)) => {
            log_failure(&error);
            post_init_error(endpoint, &error).await;
            Err(error)
        }
        Err(SnapStartError::AfterRestore(error)) => {
            log_failure(&error);
            Err(error)
        }
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY` workers, each polling on its own connection; the first
/// fatal error ends them all, and so does SIGTERM when shutdown hooks are registered (the
/// invocations in hand are answered first, within the grace period).
pub(crate) async fn serve_concurrently<S, E, R>(
    service: S,
    endpoint: Endpoint,
    config: Arc<Config>,
    metrics: Metrics,
    lifecycle: Lifecycle,
) -> Result<(), Error>
where
    S: Drivable<E, R> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    E: Send + 'static,
    R: Send + 'static,
{
    let Lifecycle {
        shutdown,
        snapstart,
    } = lifecycle;
    let mut termination = prepare(&endpoint, &config, &shutdown, snapstart).await?;
    let workers = config.max_concurrency();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared::new(config, metrics, false, Some(stopped)));
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (service, client, shared) = (
            service.clone(),
            ApiClient::new(endpoint.clone()),
            Arc::clone(&shared),
        );
        running.spawn(async move { worker(service, client, &shared).await });
    }
    loop {
        let finished = tokio::select! {
            finished = running.join_next() => finished,
            signal = terminated(termination.as_mut()) => {
                // Once per environment, after the invocations in flight have answered.
                let in_flight = async { while running.join_next().await.is_some() {} };
                shut_down(signal, &stop, in_flight, shutdown).await;
                return Ok(());
            }
        };
        let Some(finished) = finished else { break };
        match finished {
            // A worker returns an error only when the environment is broken: the others stop
            // polling, and the invocations they hold are answered before the process ends,
            // waited for until the latest of their deadlines.
            Ok(Err(fatal)) => {
                stop.send_replace(true);
                let waited = tokio::time::timeout_at(
                    instant_of(shared.latest_deadline_ms.load(Ordering::Relaxed)),
                    async { while running.join_next().await.is_some() {} },
                )
                .await;
                if waited.is_err() {
                    tracing::error!(
                        "invocations still running at their deadline are abandoned; exiting"
                    );
                }
                return Err(fatal);
            }
            // Only a stopped worker returns without an error.
            Ok(Ok(())) => {}
            Err(join_error) => {
                tracing::error!(%join_error, "a runtime worker stopped; the others go on");
            }
        }
    }
    Err(Error::new(
        "Runtime.NoWorkers",
        "every runtime worker stopped",
    ))
}

/// The next termination signal, or never without a listener.
async fn terminated(termination: Option<&mut Termination>) -> &'static str {
    match termination {
        Some(termination) => termination.received().await,
        None => std::future::pending().await,
    }
}

/// Whether this environment's first invocation is a cold start: not when provisioned
/// concurrency initialised it ahead of any request.
fn reports_cold_start(config: &Config) -> bool {
    config.initialization_type() != Some("provisioned-concurrency")
}

/// The tokio instant of an epoch-milliseconds time (now, if it is past).
fn instant_of(epoch_ms: u64) -> tokio::time::Instant {
    let at = UNIX_EPOCH + std::time::Duration::from_millis(epoch_ms);
    let ahead = at.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::Instant::now() + ahead
}

/// Polls, invokes and answers, one invocation at a time, until a fatal API error.
async fn worker<S, E, R>(
    mut service: S,
    mut client: ApiClient,
    shared: &Shared,
) -> Result<(), Error>
where
    S: Drivable<E, R>,
{
    let mut trace_env = TraceEnv::from_env();
    loop {
        let polled = match &shared.stop {
            None => next_invocation(&mut client, &shared.config).await?,
            Some(stop) => {
                let mut stop = stop.clone();
                tokio::select! {
                    // An invocation that did arrive is answered, even if the stop came too.
                    biased;
                    polled = next_invocation(&mut client, &shared.config) => polled?,
                    _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
                }
            }
        };
        let (context, payload) = match polled {
            Polled::Invocation(context, payload) => (context, payload),
            Polled::Unreadable(unreadable) => {
                answer_unreadable(&mut client, &shared.config, unreadable).await?;
                flush::flush_current().await;
                continue;
            }
        };
        if shared.stop.is_some() {
            let deadline_ms = context
                .deadline()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| {
                    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
                });
            shared
                .latest_deadline_ms
                .fetch_max(deadline_ms, Ordering::Relaxed);
        }
        if shared.sets_trace_env {
            // SAFETY: `sets_trace_env` is `trace_env_is_safe_to_set`'s answer: one
            // invocation at a time on the current-thread executor, between invocations, so
            // no task of this process runs while the variable is written. (Threads the
            // handler starts itself are its own, as with every runtime that sets the
            // variable, as Lambda asks.)
            unsafe { trace_env.follow(context.xray_trace_id()) };
        }
        let cold_start = !shared.warm.swap(true, Ordering::Relaxed) && shared.first_is_cold;
        let facts = EventFacts::if_wanted(&payload);
        let span = invocation_span(&context, cold_start, facts.as_ref());
        let answer_path = client.answer_path(context.request_id());
        let invocation_id = context.invocation_id().map(str::to_owned);
        // Boxed once: the wrappers below would otherwise move the whole handler future
        // (context included) at each layer.
        let invocation = Box::pin(drive(&mut service, &payload, context));
        let metrics = Arc::clone(&shared.metrics);
        // One span over the handler and the answer: entered on each poll, so that both log
        // under the invocation. Unlike `Instrument`, this does not enter the span once more
        // to drop the finished future (which has nothing left to drop).
        let mut handled = pin!(async {
            let outcome = metrics.scope(cold_start, invocation).await;
            answer(&mut client, &answer_path, invocation_id.as_deref(), outcome).await
        });
        poll_fn(|cx| span.in_scope(|| handled.as_mut().poll(cx))).await?;
        // The answer is posted, so the caller no longer waits; what observers buffered goes
        // now, before `/next`, during which Lambda may freeze the environment. Closing the
        // invocation span first puts it in this flush.
        drop(span);
        if flush::is_needed() {
            flush::flush_current().await;
        }
    }
}

/// What a poll of `/next` brought.
enum Polled {
    /// An invocation to run.
    Invocation(Context, Bytes),
    /// An invocation that cannot be run but can still be answered, with an error.
    Unreadable(UnreadableInvocation),
}

/// Polls until the API hands out an invocation that can be answered. One without any
/// request id cannot be: it is logged, and the poll made again.
async fn next_invocation(client: &mut ApiClient, config: &Arc<Config>) -> Result<Polled, ApiError> {
    let mut backoff = Backoff::default();
    loop {
        let response = match client.next().await? {
            Ok(response) => response,
            Err(unreadable) => return Ok(Polled::Unreadable(unreadable)),
        };
        if response.status == StatusCode::OK {
            let context = context_from_headers(&response.headers, config, SystemTime::now());
            let missing = match context {
                Ok(context) => return Ok(Polled::Invocation(context, response.body)),
                Err(missing) => missing,
            };
            // A request id that is there but not text still names the invocation.
            let not_text = "its Lambda-Runtime-Aws-Request-Id header is not UTF-8 text";
            if let Some(unreadable) = unreadable_invocation(response.headers.raw(), &not_text) {
                return Ok(Polled::Unreadable(unreadable));
            }
            tracing::error!("{missing}; it cannot be answered, so Lambda will time it out");
            continue;
        }
        let status = response.status;
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let Some(delay) = backoff.next_delay() else {
            return Err(ApiError::NextRefused {
                status,
                body,
                attempts: backoff.failures(),
            });
        };
        tracing::warn!(
            status = status.as_u16(),
            %body,
            retry_in_ms = delay.as_millis() as u64,
            "the Runtime API did not hand out an invocation; polling again"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Answers an invocation that could not be read with a `Runtime.InvalidEvent` error, so
/// that its caller sees a failure at once instead of a timeout. The handler does not run.
async fn answer_unreadable(
    client: &mut ApiClient,
    config: &Arc<Config>,
    unreadable: UnreadableInvocation,
) -> Result<(), ApiError> {
    let error = Error::new(
        error_type::INVALID_EVENT,
        format!(
            "the Runtime API's answer to /next could not be read, so the function did not run: {}",
            unreadable.reason
        ),
    );
    let context = Context::builder()
        .request_id(String::from_utf8_lossy(&unreadable.request_id).as_ref())
        .config(Arc::clone(config))
        .deadline_unknown_from(SystemTime::now())
        .build();
    let path = client.answer_path_of_raw_id(&unreadable.request_id);
    answer(
        client,
        &path,
        unreadable.invocation_id.as_deref(),
        Err(error),
    )
    .instrument(invocation_span(&context, false, None))
    .await
}

/// Posts the outcome of one invocation so that it ends in exactly one accepted answer.
async fn answer(
    client: &mut ApiClient,
    path: &AnswerPath,
    invocation_id: Option<&str>,
    outcome: Result<FunctionResponse, Error>,
) -> Result<(), ApiError> {
    let error = match outcome {
        Ok(FunctionResponse::Streamed(streamed)) => {
            // Boxed: the streaming future is large, and unboxed it would grow the future of
            // every invocation, which is moved once per invocation.
            match Box::pin(client.post_streaming(
                path,
                invocation_id,
                streamed,
                tracing::Span::current(),
            ))
            .await
            {
                Ok(response) if response.status.is_success() => return Ok(()),
                // Over the streaming limit, or cut off: the API may still take an error post
                // for the invocation (if not, its refusal is logged), and the caller then
                // sees why the stream ended.
                Ok(response) if response.status == StatusCode::PAYLOAD_TOO_LARGE => Error::new(
                    error_type::RESPONSE_TOO_LARGE,
                    format!(
                        "the Runtime API refused the streamed response as too large: {}",
                        String::from_utf8_lossy(&response.body)
                    ),
                ),
                Ok(response) => {
                    log_refusal("streamed response", response.status, &response.body);
                    return Ok(());
                }
                Err(ApiError::StreamInterrupted { source }) => Error::new(
                    error_type::STREAM_INTERRUPTED,
                    format!("sending the streamed response failed part way: {source}"),
                ),
                Err(fatal) => return Err(fatal),
            }
        }
        Ok(FunctionResponse::Buffered(body)) if body.len() > MAX_RESPONSE_BYTES => {
            response_too_large(body.len(), None)
        }
        Ok(FunctionResponse::Buffered(body)) => {
            let size = body.len();
            let response = client.post_response(path, invocation_id, body).await?;
            match response.status {
                status if status.is_success() => return Ok(()),
                StatusCode::PAYLOAD_TOO_LARGE => response_too_large(size, Some(&response.body)),
                status => {
                    log_refusal("response", status, &response.body);
                    return Ok(());
                }
            }
        }
        Err(error) => error,
    };
    log_failure(&error);
    let response = client
        .post_error(path, invocation_id, &error.to_body())
        .await?;
    if !response.status.is_success() {
        log_refusal("error", response.status, &response.body);
    }
    Ok(())
}

fn response_too_large(size: usize, api_said: Option<&Bytes>) -> Error {
    let mut message = format!(
        "the response is {size} bytes, above Lambda's limit of {MAX_RESPONSE_BYTES} bytes; \
         return less, or stream the response"
    );
    if let Some(said) = api_said {
        message.push_str(&format!(
            " (the Runtime API said: {})",
            String::from_utf8_lossy(said)
        ));
    }
    Error::new(error_type::RESPONSE_TOO_LARGE, message)
}

/// 400 (unknown or answered id), 403 (wrong state), 410 (timed out): the invocation is
/// over as far as Lambda is concerned; nothing useful can be posted instead.
fn log_refusal(what: &str, status: StatusCode, body: &[u8]) {
    tracing::warn!(
        status = status.as_u16(),
        body = %String::from_utf8_lossy(body),
        "the Runtime API refused the {what} post; going on with the next invocation"
    );
}
