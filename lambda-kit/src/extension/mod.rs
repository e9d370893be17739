//! Lambda extensions: the Extensions API (lifecycle events) and the Telemetry API
//! (platform records, function and extension logs), with an async fn per event kind.
//!
//! An **external** extension is its own executable, shipped in a layer as
//! `extensions/NAME`; Lambda starts it before the runtime, and it registers under its file
//! name ([`Extension::from_env`]). An **internal** one runs inside the function's process
//! ([`Extension::internal`]), must be started before the runtime serves, and gets `INVOKE`
//! only.
//!
//! ```no_run
//! use lambda_kit::Error;
//! use lambda_kit::extension::{Extension, TelemetryRecord, TelemetrySubscription, TelemetryType};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Error> {
//!     Extension::from_env()?
//!         .telemetry(TelemetrySubscription::new([TelemetryType::Platform]), |batch| async move {
//!             for event in batch {
//!                 if let TelemetryRecord::Report(report) = event.record {
//!                     eprintln!("{} took {} ms", report.request_id, report.metrics.duration_ms);
//!                 }
//!             }
//!             Ok::<_, Error>(())
//!         })
//!         .on_shutdown(|_shutdown| async { Ok::<_, Error>(()) })
//!         .run()
//!         .await
//! }
//! ```
//!
//! What happens, in order: register (with the events that have a handler), start the
//! telemetry listener and subscribe, then poll `event/next`, calling the handler of each
//! event. A `SHUTDOWN` ends the loop after its handler. A handler's error is posted to
//! `/extension/exit/error` and ends the extension; a listener or subscription that fails
//! is posted to `/extension/init/error`. An event this version cannot read is logged and
//! skipped. `lambda_kit::testing::FakeRuntimeApi` serves both APIs, so an extension is
//! tested like a function, and `bootstrap --serve --extension PATH` runs it beside one.
//!
//! A telemetry handler subscribed to `extension` logs should not log through the same
//! process's stdout for every batch: its own lines would come back as the next batch.

mod events;
mod listener;
mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

pub use self::events::{InvokeEvent, ShutdownEvent, ShutdownReason, Tracing};
pub use self::telemetry::{
    ExtensionState, InitStart, LogLine, LogsDropped, PhaseDone, PhaseMetrics, PhaseReport,
    PlatformSpan, Report, ReportMetrics, RestoreStart, RuntimeDone, RuntimeDoneMetrics, Start,
    Subscription, TelemetryEvent, TelemetryRecord, TraceContext, parse_event,
};
pub use crate::runtime::ExtensionApiError;

use self::events::NextEvent;
use self::listener::BatchHandler;
use crate::error::Error;
use crate::protocol::TELEMETRY_SCHEMA_VERSION;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::extensions_api::ExtensionsClient;

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
type InvokeHandler = Box<dyn FnMut(InvokeEvent) -> BoxFuture + Send>;
type ShutdownHandler = Box<dyn FnOnce(ShutdownEvent) -> BoxFuture + Send>;

/// The error type an extension reports when it cannot start or must stop.
pub mod error_type {
    /// The telemetry listener could not bind, or the subscription was refused.
    pub const TELEMETRY: &str = "Extension.TelemetrySubscriptionFailed";
}

/// A Lambda extension under construction: its name, its handlers, then
/// [`run`](Extension::run).
pub struct Extension {
    name: String,
    endpoint: Endpoint,
    on_invoke: Option<InvokeHandler>,
    on_shutdown: Option<ShutdownHandler>,
    telemetry: Option<(TelemetrySubscription, BatchHandler)>,
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extension")
            .field("name", &self.name)
            .field("on_invoke", &self.on_invoke.is_some())
            .field("on_shutdown", &self.on_shutdown.is_some())
            .field(
                "telemetry",
                &self
                    .telemetry
                    .as_ref()
                    .map(|(subscription, _)| subscription),
            )
            .finish_non_exhaustive()
    }
}

impl Extension {
    /// An external extension, named after its executable's file name as Lambda requires,
    /// at the API `AWS_LAMBDA_RUNTIME_API` names.
    pub fn from_env() -> Result<Self, Error> {
        let name = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
            .ok_or_else(|| Error::new(crate::error::error_type::CONFIG_INVALID, "cannot tell this executable's file name, which an external extension registers under"))?;
        Self::named(&name)
    }

    /// An extension registering as `name` at the API `AWS_LAMBDA_RUNTIME_API` names.
    /// Lambda treats it as external when `name` is the file name of an executable it
    /// launched from `/opt/extensions`, and as internal otherwise.
    pub fn named(name: &str) -> Result<Self, Error> {
        let address = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
            Error::new(
                crate::error::error_type::CONFIG_INVALID,
                "AWS_LAMBDA_RUNTIME_API is not set: an extension runs inside Lambda, under `bootstrap --serve --extension PATH`, or against lambda_kit::testing::FakeRuntimeApi",
            )
        })?;
        Self::at(name, &address)
    }

    /// An internal extension, inside the function's process: start it (with
    /// [`start`](Extension::start), awaited) before the runtime serves. It can take
    /// `INVOKE` only; Lambda refuses `SHUTDOWN` for internal extensions (use
    /// `Runtime::on_shutdown`).
    pub fn internal(name: &str) -> Result<Self, Error> {
        Self::named(name)
    }

    /// An extension registering as `name` at `runtime_api` (`host:port`, or a URL).
    pub fn at(name: &str, runtime_api: &str) -> Result<Self, Error> {
        Ok(Extension {
            name: name.to_owned(),
            endpoint: Endpoint::parse(runtime_api)?,
            on_invoke: None,
            on_shutdown: None,
            telemetry: None,
        })
    }

    /// Calls `handler` for every `INVOKE` (registering for it).
    pub fn on_invoke<F, Fut, E>(mut self, mut handler: F) -> Self
    where
        F: FnMut(InvokeEvent) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Error>,
    {
        self.on_invoke = Some(Box::new(move |event| {
            let future = handler(event);
            Box::pin(async move { future.await.map_err(Into::into) })
        }));
        self
    }

    /// Calls `handler` on `SHUTDOWN` (registering for it), before the extension ends.
    pub fn on_shutdown<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: FnOnce(ShutdownEvent) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Error>,
    {
        self.on_shutdown = Some(Box::new(move |event| {
            let future = handler(event);
            Box::pin(async move { future.await.map_err(Into::into) })
        }));
        self
    }

    /// Subscribes to the Telemetry API as `subscription` says, and calls `handler` with
    /// every batch Lambda posts.
    pub fn telemetry<F, Fut, E>(mut self, subscription: TelemetrySubscription, handler: F) -> Self
    where
        F: Fn(Vec<TelemetryEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Error>,
    {
        let handler: BatchHandler = Arc::new(move |batch| {
            let future = handler(batch);
            Box::pin(async move { future.await.map_err(Into::into) })
        });
        self.telemetry = Some((subscription, handler));
        self
    }

    /// Registers, subscribes, and serves events until `SHUTDOWN` or an error.
    pub async fn run(self) -> Result<(), Error> {
        self.start().await?.await
    }

    /// Registers and subscribes, then serves events on a task of its own; the returned
    /// [`Running`] ends with it. For internal extensions, which must be registered before
    /// the runtime's first poll.
    pub async fn start(self) -> Result<Running, Error> {
        let Extension {
            name,
            endpoint,
            on_invoke,
            on_shutdown,
            telemetry,
        } = self;
        let mut client = ExtensionsClient::new(&endpoint);
        let mut events = Vec::new();
        if on_invoke.is_some() {
            events.push("INVOKE");
        }
        if on_shutdown.is_some() {
            events.push("SHUTDOWN");
        }
        client.register(&name, &events, false).await?;
        if let Some((subscription, handler)) = telemetry {
            if let Err(error) = subscribe(&mut client, &subscription, handler).await {
                let _ = client.init_error(&error.to_body()).await;
                return Err(error);
            }
        }
        let task = tokio::spawn(serve(client, on_invoke, on_shutdown));
        Ok(Running { task })
    }
}

/// Starts the listener and subscribes to it. An API that does not serve the Telemetry
/// API (AWS's emulator answers 202 `Telemetry.NotSupported`) is logged, not fatal.
async fn subscribe(
    client: &mut ExtensionsClient,
    subscription: &TelemetrySubscription,
    handler: BatchHandler,
) -> Result<(), Error> {
    let port = listener::start(subscription.listen_on, handler)
        .await
        .map_err(|error| {
            Error::new(
                error_type::TELEMETRY,
                format!(
                    "the telemetry listener cannot listen on {}: {error}",
                    subscription.listen_on
                ),
            )
        })?;
    let (status, answer) = client
        .subscribe_telemetry(subscription.request(port))
        .await?;
    let said = String::from_utf8_lossy(&answer);
    if status == http::StatusCode::OK {
        return Ok(());
    }
    if status.is_success() && said.contains("NotSupported") {
        tracing::warn!(answer = %said, "this Runtime API does not serve the Telemetry API; no telemetry will come");
        return Ok(());
    }
    Err(Error::new(
        error_type::TELEMETRY,
        format!("the Telemetry API refused the subscription with {status}: {said}"),
    ))
}

/// The event loop: each event to its handler, until `SHUTDOWN`.
async fn serve(
    mut client: ExtensionsClient,
    mut on_invoke: Option<InvokeHandler>,
    mut on_shutdown: Option<ShutdownHandler>,
) -> Result<(), Error> {
    loop {
        let body = client.next_event().await?;
        let outcome = match NextEvent::parse(&body) {
            Ok(NextEvent::Invoke(event)) => match on_invoke.as_mut() {
                Some(handler) => run_handler("the INVOKE handler", handler(event)).await,
                None => Ok(()),
            },
            Ok(NextEvent::Shutdown(event)) => {
                let outcome = match on_shutdown.take() {
                    Some(handler) => run_handler("the SHUTDOWN handler", handler(event)).await,
                    None => Ok(()),
                };
                return report_exit(&mut client, outcome).await;
            }
            Err(unreadable) => {
                tracing::warn!(%unreadable, body = %String::from_utf8_lossy(&body), "the Extensions API sent an event that cannot be read; skipped");
                Ok(())
            }
        };
        if outcome.is_err() {
            return report_exit(&mut client, outcome).await;
        }
    }
}

async fn run_handler(what: &str, handler: BoxFuture) -> Result<(), Error> {
    crate::panic::guarded(what, || handler)
        .await
        .and_then(|outcome| outcome)
}

/// Posts a handler's error to `/extension/exit/error` before the extension ends with it.
async fn report_exit(
    client: &mut ExtensionsClient,
    outcome: Result<(), Error>,
) -> Result<(), Error> {
    if let Err(error) = &outcome {
        if let Err(post_error) = client.exit_error(&error.to_body()).await {
            tracing::warn!(%post_error, "could not post the extension's exit error");
        }
    }
    outcome
}

/// A started extension; awaiting it waits for its end (after `SHUTDOWN`, or an error).
#[derive(Debug)]
pub struct Running {
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Future for Running {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|joined| {
            joined.unwrap_or_else(|join_error| {
                Err(Error::new(
                    crate::error::error_type::PANIC,
                    format!("the extension's task ended: {join_error}"),
                ))
            })
        })
    }
}

/// What a Telemetry API subscription asks for.
#[derive(Debug, Clone)]
pub struct TelemetrySubscription {
    types: Vec<TelemetryType>,
    max_items: u32,
    max_bytes: u32,
    timeout_ms: u32,
    listen_on: SocketAddr,
}

/// The kinds of telemetry to subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetryType {
    /// `platform.*` records: init, invocations, reports.
    Platform,
    /// The function's log lines.
    Function,
    /// Extensions' log lines.
    Extension,
}

impl TelemetryType {
    fn name(self) -> &'static str {
        match self {
            TelemetryType::Platform => "platform",
            TelemetryType::Function => "function",
            TelemetryType::Extension => "extension",
        }
    }
}

impl TelemetrySubscription {
    /// A subscription to `types`, with Lambda's default buffering (10,000 items,
    /// 262,144 bytes, 1,000 ms), its listener on `0.0.0.0` at a port the OS chooses.
    pub fn new(types: impl IntoIterator<Item = TelemetryType>) -> Self {
        TelemetrySubscription {
            types: types.into_iter().collect(),
            max_items: 10_000,
            max_bytes: 262_144,
            timeout_ms: 1_000,
            listen_on: SocketAddr::from(([0, 0, 0, 0], 0)),
        }
    }

    /// How Lambda buffers before posting: at most `max_items` (1,000..=10,000) events,
    /// `max_bytes` (262,144..=1,048,576) bytes, or `timeout_ms` (25..=30,000) ms. Lambda
    /// refuses values outside those ranges.
    pub fn buffering(mut self, max_items: u32, max_bytes: u32, timeout_ms: u32) -> Self {
        self.max_items = max_items;
        self.max_bytes = max_bytes;
        self.timeout_ms = timeout_ms;
        self
    }

    /// Where the listener binds (the default is `0.0.0.0:0`). Port 9001 is Lambda's own.
    pub fn listen_on(mut self, address: SocketAddr) -> Self {
        self.listen_on = address;
        self
    }

    /// The `PUT /telemetry` body for a listener on `port`.
    fn request(&self, port: u16) -> bytes::Bytes {
        let types: Vec<&str> = self.types.iter().map(|kind| kind.name()).collect();
        let request = serde_json::json!({
            "schemaVersion": TELEMETRY_SCHEMA_VERSION,
            "types": types,
            "buffering": {"maxItems": self.max_items, "maxBytes": self.max_bytes, "timeoutMs": self.timeout_ms},
            "destination": {"protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{port}/telemetry")},
        });
        serde_json::to_vec(&request)
            .map(Into::into)
            .unwrap_or_default()
    }
}
