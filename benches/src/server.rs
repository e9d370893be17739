//! A minimal, fast Runtime API for the benchmark: hands out a fixed event a fixed number of
//! times and timestamps each hand-out and each answer.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

const EVENT: &[u8] = br#"{"name":"Ada"}"#;
/// A sampled trace header of its own for invocation `index`, as Lambda gives each one.
fn sampled_trace(index: usize) -> String {
    format!("Root=1-5759e988-{index:024x};Parent=53995c3f42cd8ad8;Sampled=1")
}

/// What one run recorded.
#[derive(Default)]
pub(crate) struct Recording {
    pub(crate) first_poll: Option<Instant>,
    pub(crate) handed_out: Vec<Instant>,
    pub(crate) latencies: Vec<Duration>,
    pub(crate) last_answer: Option<Instant>,
    pub(crate) errors: usize,
    /// Told the answered count every `milestone_every` answers (for the soak run).
    pub(crate) milestones: Option<(usize, tokio::sync::mpsc::UnboundedSender<usize>)>,
}

/// A running benchmark API.
pub(crate) struct BenchApi {
    pub(crate) address: String,
    pub(crate) recording: Arc<Mutex<Recording>>,
    pub(crate) done: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for BenchApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) async fn start(invocations: usize, sampled: bool) -> std::io::Result<BenchApi> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let recording = Arc::new(Mutex::new(Recording::default()));
    let done = Arc::new(Notify::new());
    let state = (Arc::clone(&recording), Arc::clone(&done));
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (recording, done) = (Arc::clone(&state.0), Arc::clone(&state.1));
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    handle(
                        request,
                        Arc::clone(&recording),
                        Arc::clone(&done),
                        invocations,
                        sampled,
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(BenchApi {
        address,
        recording,
        done,
        server,
    })
}

async fn handle(
    request: Request<Incoming>,
    recording: Arc<Mutex<Recording>>,
    done: Arc<Notify>,
    invocations: usize,
    sampled: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if request.method() == Method::GET && path.ends_with("/invocation/next") {
        let index = {
            let mut recording = recording.lock().unwrap_or_else(|p| p.into_inner());
            recording.first_poll.get_or_insert_with(Instant::now);
            let index = recording.handed_out.len();
            if index < invocations {
                recording.handed_out.push(Instant::now());
            }
            index
        };
        if index >= invocations {
            if invocations == 0 {
                // A run of no invocations measures start-up, which ends at the first poll.
                done.notify_one();
            }
            // The run is over: keep the poll open until the process is stopped.
            std::future::pending::<()>().await;
        }
        let deadline = SystemTime::now() + Duration::from_secs(60);
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let mut response = Response::builder()
            .header("lambda-runtime-aws-request-id", format!("req-{index}"))
            .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header("content-type", "application/json");
        if sampled {
            response = response.header("lambda-runtime-trace-id", sampled_trace(index));
        }
        return Ok(response
            .body(Full::new(Bytes::from_static(EVENT)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))));
    }
    let answered_at = Instant::now();
    let _ = request.into_body().collect().await;
    let index = path
        .split('/')
        .find_map(|segment| segment.strip_prefix("req-"))
        .and_then(|index| index.parse::<usize>().ok());
    let mut recording = recording.lock().unwrap_or_else(|p| p.into_inner());
    if path.ends_with("/error") {
        recording.errors += 1;
    }
    if let Some(handed_out) = index.and_then(|index| recording.handed_out.get(index).copied()) {
        recording.latencies.push(answered_at - handed_out);
        recording.last_answer = Some(answered_at);
        let answered = recording.latencies.len();
        if let Some((every, milestones)) = &recording.milestones {
            if answered % every == 0 {
                let _ = milestones.send(answered);
            }
        }
        if recording.latencies.len() == invocations {
            done.notify_one();
        }
    }
    let mut response = Response::new(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// An OTLP/HTTP receiver for the OpenTelemetry contender: it reads each export request
/// whole and answers 200, as a collector extension does, without decoding (the harness
/// measures the function, not the collector).
pub(crate) struct OtlpSink {
    pub(crate) address: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) async fn start_otlp_sink() -> std::io::Result<OtlpSink> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|request: Request<Incoming>| async move {
                    let _ = request.into_body().collect().await;
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(OtlpSink { address, server })
}
