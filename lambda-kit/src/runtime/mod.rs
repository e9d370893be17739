//! The `Runtime` builder: reads the environment once, takes the tower layers, runs init
//! once, and serves; what "serves" means (the Lambda loop, `--event`, `--serve`) is the
//! mode's choice (`crate::mode`).
//!
//! The Runtime API client side lives here too: the loop (`lambda.rs`), the hand-written
//! HTTP/1.1 client (`client.rs`, `wire/`), where to send (`endpoint.rs`), how long to wait
//! before trying again (`backoff.rs`), and `/next` headers read into a `Context`
//! (`invocation.rs`).

mod backoff;
mod client;
pub(crate) mod endpoint;
pub(crate) mod extensions_api;
pub(crate) mod invocation;
pub(crate) mod lambda;
pub(crate) mod shutdown;
mod snapstart;
mod subscriber;
mod trace_env;
pub(crate) mod wire;

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tower::layer::util::{Identity, Stack};
use tower::{Layer, Service, ServiceBuilder};

pub use client::ApiError;
pub use endpoint::{EndpointError, encode_request_id};
pub use extensions_api::ExtensionApiError;
pub use shutdown::GRACE as SHUTDOWN_GRACE;

use self::shutdown::ShutdownHooks;
use self::snapstart::SnapStartHooks;

use self::endpoint::Endpoint;
use crate::config::{Config, ConfigError};
use crate::error::{Error, error_type};
use crate::handler::{Handler, LambdaEvent};
use crate::metrics::Metrics;
use crate::mode::Mode;
use crate::panic::guarded;
use crate::response::IntoFunctionResponse;

/// Runs a handler: against the Runtime API inside Lambda, or once from the command line
/// outside it.
///
/// ```no_run
/// use lambda_kit::{handler_fn, Context, Error, Runtime};
///
/// async fn echo(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
///     Ok(event)
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Error> {
///     Runtime::from_env()?
///         .layer(tower::layer::util::Identity::new())
///         .run(handler_fn(echo))
///         .await
/// }
/// ```
pub struct Runtime<L = Identity> {
    config: Arc<Config>,
    config_error: Option<ConfigError>,
    mode: Mode,
    layers: ServiceBuilder<L>,
    metrics: Metrics,
    lifecycle: Lifecycle,
}

/// What runs around the loop rather than per invocation: shutdown and SnapStart hooks.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// Run after SIGTERM.
    pub(crate) shutdown: ShutdownHooks,
    /// Run around a SnapStart snapshot.
    pub(crate) snapstart: SnapStartHooks,
}

impl<L> std::fmt::Debug for Runtime<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .field("config_error", &self.config_error)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Reads the environment and the command line once, and sets up logging.
    ///
    /// With `AWS_LAMBDA_RUNTIME_API` set and no arguments, [`Runtime::run`] serves
    /// invocations. Outside Lambda, `--event '<json>'` (or `@file`, or `-` for stdin)
    /// invokes the handler once and `--serve` runs the emulator; anything else prints a
    /// usage text. Where nothing else is to run, `init` and `run` return an error that
    /// [`Exit`](crate::Exit) turns into the exit status (2 for a usage error).
    ///
    /// Fails only when `AWS_LAMBDA_RUNTIME_API` is not an address, since there is then
    /// nowhere to report anything; every other problem is reported by `init` or `run`.
    pub fn from_env() -> Result<Self, Error> {
        let (config, config_error) = match Config::from_env() {
            Ok(config) => (config, None),
            Err(error) => (Config::local_defaults(), Some(error)),
        };
        subscriber::install_default(&config);
        crate::panic::install_hook();
        let mode = Mode::from_env()?;
        let metrics = mode.metrics(&config);
        Ok(Runtime {
            config: Arc::new(config),
            config_error,
            mode,
            layers: ServiceBuilder::new(),
            metrics,
            lifecycle: Lifecycle::default(),
        })
    }

    /// A runtime serving the Runtime API named by `config`, ignoring the command line.
    ///
    /// For embedding and tests; it does not set up logging.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        let address = config.runtime_api().ok_or_else(|| {
            Error::new(
                error_type::CONFIG_INVALID,
                "the configuration has no Runtime API address (AWS_LAMBDA_RUNTIME_API)",
            )
        })?;
        let endpoint = Endpoint::parse(address)?;
        crate::panic::install_hook();
        Ok(Runtime {
            metrics: Metrics::from_env(&config),
            config: Arc::new(config),
            config_error: None,
            mode: Mode::Lambda(endpoint),
            layers: ServiceBuilder::new(),
            lifecycle: Lifecycle::default(),
        })
    }
}

impl<L> Runtime<L> {
    /// The configuration read from the environment.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Wraps the handler in a tower layer. The first layer added is the outermost.
    pub fn layer<T>(self, layer: T) -> Runtime<Stack<T, L>> {
        Runtime {
            config: self.config,
            config_error: self.config_error,
            mode: self.mode,
            layers: self.layers.layer(layer),
            metrics: self.metrics,
            lifecycle: self.lifecycle,
        }
    }

    /// Runs `hook` when the execution environment shuts down, after the hooks added before
    /// it.
    ///
    /// Adding a hook makes the runtime register an internal extension (Lambda sends
    /// SIGTERM before shutdown only when one is registered). On SIGTERM the runtime stops
    /// taking invocations, lets those in hand post their answers, runs the hooks in order,
    /// flushes what lambda-kit buffers, and exits 0; all of it within [`SHUTDOWN_GRACE`]
    /// (450 ms; Lambda kills the process 500 ms after SIGTERM). A hook still running then
    /// is cut off. Outside Lambda, `--event` runs the hooks after its invocation (or on
    /// SIGTERM or Ctrl-C), and `--serve` sends its function process SIGTERM when it stops.
    ///
    /// ```no_run
    /// use lambda_kit::{Context, Error, Runtime, handler_fn};
    ///
    /// async fn echo(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
    ///     Ok(event)
    /// }
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> Result<(), Error> {
    ///     Runtime::from_env()?
    ///         .on_shutdown(async {
    ///             // Close pools, send what is batched.
    ///             tracing::info!("shutting down");
    ///         })
    ///         .run(handler_fn(echo))
    ///         .await
    /// }
    /// ```
    pub fn on_shutdown(mut self, hook: impl Future<Output = ()> + Send + 'static) -> Self {
        self.lifecycle.shutdown.push(hook);
        self
    }

    /// Runs `hook` before a SnapStart snapshot is taken (only when
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start`), after init and before the first
    /// invocation. Hooks run the last added first; a failure is reported as an init
    /// error and ends the process.
    pub fn before_snapshot<E: Into<Error>>(
        mut self,
        hook: impl Future<Output = Result<(), E>> + Send + 'static,
    ) -> Self {
        self.lifecycle
            .snapstart
            .before_snapshot(async move { hook.await.map_err(Into::into) });
        self
    }

    /// Runs `hook` after this environment was restored from a SnapStart snapshot, before
    /// its first invocation: re-open connections, refresh credentials and anything else
    /// that must not be shared between restored copies. Hooks run in the order added; a
    /// failure is posted to `/runtime/restore/error` and ends the process.
    pub fn after_restore<E: Into<Error>>(
        mut self,
        hook: impl Future<Output = Result<(), E>> + Send + 'static,
    ) -> Self {
        self.lifecycle
            .snapstart
            .after_restore(async move { hook.await.map_err(Into::into) });
        self
    }

    /// Replaces the metrics settings read from the environment.
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Runs `setup` once for this execution environment and returns its state, shared by
    /// reference with every invocation for the life of the process.
    ///
    /// If `setup` fails or panics, the error is posted to `/runtime/init/error` (outside
    /// Lambda: printed) and returned; the caller should then end the process, which is
    /// what returning it from `main` does.
    ///
    /// ```no_run
    /// use lambda_kit::{Context, Error, Runtime, handler_fn};
    /// use serde_json::{Value, json};
    ///
    /// struct Prices { tax: f64 }
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> Result<(), Error> {
    ///     let runtime = Runtime::from_env()?;
    ///     // Once per environment: clients, configuration, caches.
    ///     let prices: &'static Prices = runtime.init(|| async { Ok::<_, Error>(Prices { tax: 0.2 }) }).await?;
    ///     runtime
    ///         .run_concurrent(handler_fn(move |event: Value, _ctx: Context| async move {
    ///             let net = event["net"].as_f64().unwrap_or_default();
    ///             Ok::<_, Error>(json!({ "gross": net * (1.0 + prices.tax) }))
    ///         }))
    ///         .await
    /// }
    /// ```
    pub async fn init<S: 'static, F, Fut, E>(&self, setup: F) -> Result<&'static S, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<S, E>>,
        E: Into<Error>,
    {
        self.start().await?;
        match guarded("init", setup)
            .await
            .and_then(|r| r.map_err(Into::into))
        {
            // Leaked on purpose: the state lives exactly as long as the environment, and a
            // `'static` reference lets every invocation borrow it without reference counting.
            Ok(state) => Ok(Box::leak(Box::new(state))),
            Err(error) => Err(self.report_init_error(error).await),
        }
    }

    /// Serves invocations with `handler` (wrapped in the added layers) until the Runtime API
    /// says the environment is broken; outside Lambda, invokes it once (see
    /// [`Runtime::from_env`]).
    pub async fn run<H, E, R>(self, handler: H) -> Result<(), Error>
    where
        L: Layer<H>,
        L::Service: Handler<E, R>,
        E: DeserializeOwned,
        R: IntoFunctionResponse,
    {
        self.start().await?;
        let service = self.layers.service(handler);
        self.mode
            .serve(service, self.config, self.metrics, self.lifecycle)
            .await
    }

    /// Like [`Runtime::run`], but serves `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once
    /// when Lambda Managed Instances set it above 1 (each on its own connection, sharing the
    /// handler); otherwise exactly like `run`. The handler must then be `Clone + Send`.
    pub async fn run_concurrent<H, E, R>(self, handler: H) -> Result<(), Error>
    where
        L: Layer<H>,
        L::Service: Handler<E, R> + Clone + Send + 'static,
        <L::Service as Service<LambdaEvent<E>>>::Future: Send,
        <L::Service as Service<LambdaEvent<E>>>::Error: Send,
        E: DeserializeOwned + Send + 'static,
        R: IntoFunctionResponse + Send + 'static,
    {
        self.start().await?;
        let service = self.layers.service(handler);
        self.mode
            .serve_concurrently(service, self.config, self.metrics, self.lifecycle)
            .await
    }

    /// What has to happen before init or the first poll: the command line is acted on,
    /// and an unusable configuration is reported.
    async fn start(&self) -> Result<(), Error> {
        self.mode.start(&self.config).await?;
        match &self.config_error {
            None => Ok(()),
            Some(error) => {
                let error = Error::new(error_type::CONFIG_INVALID, error.to_string());
                Err(self.report_init_error(error).await)
            }
        }
    }

    async fn report_init_error(&self, error: Error) -> Error {
        tracing::error!(
            errorType = error.error_type(),
            errorMessage = error.message(),
            "initialization failed"
        );
        self.mode.report_init_error(&error).await;
        error
    }
}
