//! The Telemetry API as a server keeps it, for the fake Runtime API and the emulator:
//! subscriptions (`PUT /2022-07-01/telemetry`, validated as Lambda validates them), the
//! platform records of the environment's life, and their delivery to each subscriber's
//! HTTP listener as JSON arrays.
//!
//! Records are kept from the start, so a subscriber gets the ones of its types that came
//! before it subscribed, as Lambda buffers them during init. Each subscriber has a task that
//! posts what is pending as one batch; a failed post is tried again a few times, then the
//! batch is counted as dropped.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::ledger::lock;
use super::transport::{error_json, reply};
use crate::protocol::header;

/// The schema versions Lambda accepts.
const SCHEMA_VERSIONS: [&str; 3] = ["2025-01-29", "2022-12-13", "2022-07-01"];
/// How many times a batch is posted before it is dropped.
const DELIVERY_ATTEMPTS: u32 = 4;

struct Subscriber {
    types: Vec<String>,
    sender: mpsc::UnboundedSender<Value>,
}

#[derive(Default)]
struct State {
    history: Vec<Value>,
    subscribers: Vec<Subscriber>,
    dropped_batches: usize,
}

/// The Telemetry API's state.
#[derive(Default)]
pub(crate) struct Telemetry {
    state: std::sync::Arc<Mutex<State>>,
}

impl Telemetry {
    /// Records `platform.initStart` for a new environment.
    pub(crate) fn init_start(&self, function_name: &str, function_version: &str) {
        self.emit(
            "platform.initStart",
            json!({
                "functionName": function_name,
                "functionVersion": function_version,
                "initializationType": "on-demand",
                "phase": "init",
            }),
        );
    }

    /// Records the end of init (`platform.initRuntimeDone`, `platform.initReport`): the
    /// runtime polled `/next` `duration` after the environment started.
    pub(crate) fn init_done(&self, duration: Duration) {
        let done = json!({"initializationType": "on-demand", "phase": "init", "status": "success"});
        self.emit("platform.initRuntimeDone", done);
        self.emit(
            "platform.initReport",
            json!({
                "initializationType": "on-demand",
                "phase": "init",
                "status": "success",
                "metrics": {"durationMs": millis(duration)},
            }),
        );
    }

    /// Records `platform.start` for the invocation handed out with these `/next` headers.
    pub(crate) fn invocation_start(&self, next_headers: &http::HeaderMap, version: &str) {
        let text = |name: &str| {
            next_headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let mut record = json!({"requestId": text(header::REQUEST_ID), "version": version});
        let trace = text(header::TRACE_ID);
        if !trace.is_empty() {
            record["tracing"] = json!({"type": "X-Amzn-Trace-Id", "value": trace});
        }
        self.emit("platform.start", record);
    }

    /// Records `platform.runtimeDone` and `platform.report` for an answered invocation.
    pub(crate) fn invocation_done(&self, done: &InvocationDone<'_>) {
        let mut finished = json!({"requestId": done.request_id, "status": done.status});
        if let Some(error_type) = done.error_type {
            finished["errorType"] = json!(error_type);
        }
        let mut runtime_done = finished.clone();
        runtime_done["metrics"] = json!({"durationMs": millis(done.duration)});
        self.emit("platform.runtimeDone", runtime_done);
        let mut metrics = json!({
            "durationMs": millis(done.duration),
            "billedDurationMs": millis(done.duration).ceil() as u64,
            "memorySizeMB": done.memory_size_mb,
            "maxMemoryUsedMB": done.max_memory_used_mb,
        });
        if let Some(init) = done.init_duration {
            metrics["initDurationMs"] = json!(millis(init));
        }
        finished["metrics"] = metrics;
        self.emit("platform.report", finished);
    }

    /// Records `platform.extension` for an extension that registered.
    pub(crate) fn extension_registered(&self, name: &str, events: &[String]) {
        self.emit(
            "platform.extension",
            json!({"name": name, "state": "Ready", "events": events}),
        );
    }

    /// Records an event of `type` (`platform.*`, `function` or `extension`) at this time.
    pub(crate) fn emit(&self, kind: &str, record: Value) {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        self.emit_raw(json!({"time": time, "type": kind, "record": record}));
    }

    /// Records an event as it is, whatever its shape (tests send malformed ones this way).
    pub(crate) fn emit_raw(&self, event: Value) {
        let category = category_of(&event);
        let mut state = lock(&self.state);
        state.subscribers.retain(|subscriber| {
            !subscriber.types.contains(&category) || subscriber.sender.send(event.clone()).is_ok()
        });
        state.history.push(event);
    }

    /// How many batches were dropped after every delivery attempt failed.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn dropped_batches(&self) -> usize {
        lock(&self.state).dropped_batches
    }

    /// `PUT /2022-07-01/telemetry` from the extension `name`: validates the request, starts
    /// delivering to its destination, and records `platform.telemetrySubscription`.
    pub(crate) fn subscribe(&self, name: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let request = match Subscription::parse(body) {
            Ok(request) => request,
            Err(message) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    error_json("ValidationError", &message),
                );
            }
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        {
            let mut state = lock(&self.state);
            for past in &state.history {
                if request
                    .types
                    .iter()
                    .any(|wanted| *wanted == category_of(past))
                {
                    let _ = sender.send(past.clone());
                }
            }
            state.subscribers.push(Subscriber {
                types: request.types.clone(),
                sender,
            });
        }
        tokio::spawn(deliver(
            request.clone(),
            receiver,
            std::sync::Arc::clone(&self.state),
        ));
        self.emit(
            "platform.telemetrySubscription",
            json!({"name": name, "state": "Subscribed", "types": request.types}),
        );
        reply(StatusCode::OK, "\"OK\"")
    }
}

/// What `platform.runtimeDone` and `platform.report` say about one invocation.
pub(crate) struct InvocationDone<'a> {
    pub(crate) request_id: &'a str,
    /// `success`, `error`, `failure` or `timeout`.
    pub(crate) status: &'a str,
    pub(crate) error_type: Option<&'a str>,
    pub(crate) duration: Duration,
    pub(crate) init_duration: Option<Duration>,
    pub(crate) memory_size_mb: u32,
    pub(crate) max_memory_used_mb: u64,
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// `platform`, `function` or `extension`: what a subscription's `types` select.
fn category_of(event: &Value) -> String {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    kind.split('.').next().unwrap_or_default().to_owned()
}

/// A validated subscription request.
#[derive(Clone)]
struct Subscription {
    types: Vec<String>,
    /// `host:port` to connect to (`sandbox.localdomain` is this machine).
    authority: String,
    /// The `Host` header and path, as the URI gave them.
    host: String,
    path: String,
    max_items: usize,
}

impl Subscription {
    fn parse(body: &[u8]) -> Result<Self, String> {
        let request: Value = serde_json::from_slice(body)
            .map_err(|error| format!("the subscription is not JSON: {error}"))?;
        let schema = request
            .get("schemaVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !SCHEMA_VERSIONS.contains(&schema) {
            return Err(format!(
                "schemaVersion {schema:?} is not one of {SCHEMA_VERSIONS:?}"
            ));
        }
        let types: Vec<String> = match request.get("types").and_then(Value::as_array) {
            Some(types) if !types.is_empty() => types
                .iter()
                .map(|kind| match kind.as_str() {
                    Some(kind @ ("platform" | "function" | "extension")) => Ok(kind.to_owned()),
                    _ => Err(format!(
                        "{kind} is not a telemetry type: expected platform, function or extension"
                    )),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err("types must be a non-empty list".into()),
        };
        let destination = request.get("destination").ok_or("destination is missing")?;
        if destination.get("protocol").and_then(Value::as_str) != Some("HTTP") {
            return Err("destination.protocol must be HTTP".into());
        }
        let uri = destination
            .get("URI")
            .and_then(Value::as_str)
            .ok_or("destination.URI is missing")?;
        let uri: http::Uri = uri
            .parse()
            .map_err(|_| format!("destination.URI {uri:?} is not a URI"))?;
        if uri.scheme_str() != Some("http") {
            return Err("destination.URI must be http://".into());
        }
        let host = uri.host().ok_or("destination.URI has no host")?;
        let port = uri.port_u16().unwrap_or(80);
        let connect_host = if host == "sandbox.localdomain" {
            "127.0.0.1"
        } else {
            host
        };
        let buffering = request.get("buffering");
        let bounded = |key: &str,
                       range: std::ops::RangeInclusive<u64>,
                       default: u64|
         -> Result<u64, String> {
            match buffering.and_then(|buffering| buffering.get(key)) {
                None => Ok(default),
                Some(value) => value
                    .as_u64()
                    .filter(|value| range.contains(value))
                    .ok_or_else(|| {
                        format!(
                            "buffering.{key} is {value}, expected {}..={}",
                            range.start(),
                            range.end()
                        )
                    }),
            }
        };
        let max_items = bounded("maxItems", 1_000..=10_000, 10_000)?;
        bounded("maxBytes", 262_144..=1_048_576, 262_144)?;
        bounded("timeoutMs", 25..=30_000, 1_000)?;
        Ok(Subscription {
            types,
            authority: format!("{connect_host}:{port}"),
            host: format!("{host}:{port}"),
            path: uri
                .path_and_query()
                .map_or("/".to_owned(), ToString::to_string),
            max_items: usize::try_from(max_items).unwrap_or(usize::MAX),
        })
    }
}

/// Posts what is pending for one subscriber, batch by batch, until the server is dropped.
async fn deliver(
    subscription: Subscription,
    mut receiver: mpsc::UnboundedReceiver<Value>,
    state: std::sync::Arc<Mutex<State>>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < subscription.max_items {
            match receiver.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let body = Bytes::from(Value::Array(batch).to_string());
        let mut delivered = false;
        for attempt in 1..=DELIVERY_ATTEMPTS {
            if post(&subscription, body.clone()).await {
                delivered = true;
                break;
            }
            // Lambda too retries a listener that is not up yet or failed, with backoff.
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
        }
        if !delivered {
            lock(&state).dropped_batches += 1;
        }
    }
}

/// One POST of a batch; whether the listener answered with success.
async fn post(subscription: &Subscription, body: Bytes) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(&subscription.authority).await else {
        return false;
    };
    let io = hyper_util::rt::TokioIo::new(stream);
    let Ok((mut sender, connection)) = hyper::client::conn::http1::handshake(io).await else {
        return false;
    };
    tokio::spawn(connection);
    let request = Request::post(&subscription.path)
        .header(http::header::HOST, &subscription.host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body));
    let Ok(request) = request else { return false };
    match sender.send_request(request).await {
        Ok(response) => {
            let success = response.status().is_success();
            let _ = response.into_body().collect().await;
            success
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_validated() {
        let good = br#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}}"#;
        let parsed = Subscription::parse(good).expect("valid");
        assert_eq!(parsed.authority, "127.0.0.1:8080");
        assert_eq!(parsed.host, "sandbox.localdomain:8080");
        assert_eq!(parsed.path, "/t");
        let bad: [&[u8]; 7] = [
            b"nope",
            br#"{"schemaVersion":"2020-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://h:1"}}"#,
            br#"{"schemaVersion":"2022-12-13","types":[],"destination":{"protocol":"HTTP","URI":"http://h:1"}}"#,
            br#"{"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://h:1"}}"#,
            br#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":1}}"#,
            br#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"https://h:1"}}"#,
            br#"{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":5},"destination":{"protocol":"HTTP","URI":"http://h:1"}}"#,
        ];
        for body in bad {
            assert!(
                Subscription::parse(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn categories() {
        assert_eq!(category_of(&json!({"type": "platform.report"})), "platform");
        assert_eq!(category_of(&json!({"type": "function"})), "function");
        assert_eq!(category_of(&json!({})), "");
    }
}
