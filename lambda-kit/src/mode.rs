//! The façade: what this process does, chosen once from `AWS_LAMBDA_RUNTIME_API` and the
//! command line.
//!
//! - Inside Lambda (the variable set, no arguments): the Lambda loop of
//!   `runtime/lambda.rs`.
//! - `--event`: one invocation from the command line (`local/`).
//! - `--serve`: the emulator (`local/serve.rs`), which runs this binary again as its
//!   function process; this process runs neither init nor the handler.
//! - `--help`, or anything else: the usage text.
//!
//! [`Runtime`](crate::Runtime) asks the mode what to do before init, where an init error
//! goes, and how to serve, so that `runtime/` and `local/` never import each other. Nothing
//! here ends the process: every outcome comes back as a `Result`, which [`Exit`] turns into
//! the exit status that `main` returns.

use std::process::{ExitCode, Termination};
use std::sync::Arc;

use crate::config::Config;
use crate::drive::Drivable;
use crate::error::Error;
use crate::local::Cli;
use crate::metrics::Metrics;
use crate::runtime::Lifecycle;
use crate::runtime::endpoint::Endpoint;
use crate::runtime::lambda;
use crate::runtime::shutdown::{ShutdownHooks, grace_deadline};
use crate::signal::Termination as Signals;

/// What this process does.
pub(crate) enum Mode {
    /// Serve invocations from the Runtime API at this endpoint.
    Lambda(Endpoint),
    /// Act on the command line: invoke once, emulate, or print the usage text.
    Local(Cli),
}

impl Mode {
    /// Chooses from the arguments and `AWS_LAMBDA_RUNTIME_API`: any argument means the
    /// command line; none means Lambda when the variable is set, else the usage text.
    ///
    /// Fails only when `AWS_LAMBDA_RUNTIME_API` is not an address.
    pub(crate) fn from_env() -> Result<Mode, Error> {
        Ok(match Cli::parse(std::env::args_os().skip(1)) {
            Some(cli) => Mode::Local(cli),
            None => match std::env::var("AWS_LAMBDA_RUNTIME_API") {
                Ok(address) if !address.is_empty() => Mode::Lambda(Endpoint::parse(&address)?),
                _ => Mode::Local(Cli::Usage(None)),
            },
        })
    }

    /// The metrics settings for this mode: outside Lambda, EMF lines go to stderr, so
    /// that stdout holds only the answer.
    pub(crate) fn metrics(&self, config: &Config) -> Metrics {
        let metrics = Metrics::from_env(config);
        match self {
            Mode::Lambda(_) => metrics,
            Mode::Local(_) => metrics.writing_to_stderr(),
        }
    }

    /// Does what the command line asks for before init: prints the usage text, or runs
    /// the emulator. Either way nothing else is to run, so that comes back as an error
    /// (carrying its exit status) for `init` and `run` to return.
    pub(crate) async fn start(&self, config: &Config) -> Result<(), Error> {
        match self {
            Mode::Lambda(_) => Ok(()),
            #[cfg(emulator)]
            Mode::Local(Cli::Serve(options)) => Err(crate::local::serve(options, config).await),
            #[cfg(not(emulator))]
            Mode::Local(Cli::Serve(_)) => {
                let _ = config;
                Cli::Usage(Some(crate::local::SERVE_NOT_BUILT.into())).unless_invoking()
            }
            Mode::Local(cli) => cli.unless_invoking(),
        }
    }

    /// Reports an error of init where this mode's caller sees it: the Runtime API's init
    /// error endpoint, or stdout as Lambda's error JSON.
    pub(crate) async fn report_init_error(&self, error: &Error) {
        match self {
            Mode::Lambda(endpoint) => lambda::post_init_error(endpoint, error).await,
            Mode::Local(_) => crate::local::print_error(error),
        }
    }

    /// Serves `service`: invocations one at a time from the Runtime API, or the one the
    /// command line names.
    pub(crate) async fn serve<S, E, R>(
        self,
        service: S,
        config: Arc<Config>,
        metrics: Metrics,
        lifecycle: Lifecycle,
    ) -> Result<(), Error>
    where
        S: Drivable<E, R>,
    {
        match self {
            Mode::Lambda(endpoint) => {
                lambda::serve(service, endpoint, config, metrics, lifecycle).await
            }
            Mode::Local(cli) => {
                let invocation = crate::local::invoke_once(service, cli, config, metrics);
                invoke_then_shut_down(invocation, lifecycle.shutdown).await
            }
        }
    }

    /// Like [`Mode::serve`], with `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once when
    /// Lambda Managed Instances set it above 1.
    pub(crate) async fn serve_concurrently<S, E, R>(
        self,
        service: S,
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
        // Each arm awaits its loop directly (not through `Mode::serve`): every poll of an
        // invocation passes through each async fn between `main` and the worker.
        match self {
            Mode::Lambda(endpoint) if config.max_concurrency() > 1 => {
                lambda::serve_concurrently(service, endpoint, config, metrics, lifecycle).await
            }
            Mode::Lambda(endpoint) => {
                lambda::serve(service, endpoint, config, metrics, lifecycle).await
            }
            Mode::Local(cli) => {
                let invocation = crate::local::invoke_once(service, cli, config, metrics);
                invoke_then_shut_down(invocation, lifecycle.shutdown).await
            }
        }
    }
}

/// `--event` with shutdown hooks: the environment ends with its one invocation, so the
/// hooks run after it, or as soon as SIGTERM or Ctrl-C arrives (the invocation is then
/// abandoned, and the process exits 1).
async fn invoke_then_shut_down(
    invocation: impl std::future::Future<Output = Result<(), Error>>,
    hooks: ShutdownHooks,
) -> Result<(), Error> {
    if hooks.is_empty() {
        return invocation.await;
    }
    let mut termination = Signals::listen(true);
    let outcome = tokio::select! {
        outcome = invocation => outcome,
        signal = termination.received() => {
            let error = Error::new(
                crate::error::error_type::INTERRUPTED,
                format!("{signal} arrived before the invocation answered; running the shutdown hooks"),
            );
            crate::local::print_error(&error);
            Err(error.reported(1))
        }
    };
    hooks.run(grace_deadline()).await;
    outcome
}

/// The exit status of a Lambda function's process, for `main` to return.
///
/// `0` when the process did what it was asked; `1` when init failed, the `--event`
/// invocation failed, or the Runtime API said the environment is broken; `2` when the
/// command line made no sense (after printing the usage text). An error not shown yet is
/// printed on stderr first, as `main` returning `Err` would print it.
///
/// `#[lambda_kit::handler]`'s `main` returns one; a hand-written `main` can too:
///
/// ```no_run
/// use lambda_kit::{Context, Error, Exit, Runtime, handler_fn};
///
/// async fn echo(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
///     Ok(event)
/// }
///
/// fn main() -> Exit {
///     let served = lambda_kit::tokio::runtime::Builder::new_current_thread()
///         .enable_all()
///         .build()
///         .map_err(Error::from)
///         .and_then(|executor| {
///             executor.block_on(async { Runtime::from_env()?.run(handler_fn(echo)).await })
///         });
///     Exit::from(served)
/// }
/// ```
///
/// A `main` that returns `Result<(), Error>` works as well; it exits 1 for every error,
/// the usage text included, and prints each error once more.
pub struct Exit {
    outcome: Result<(), Error>,
}

impl Exit {
    /// The status the process ends with.
    pub fn code(&self) -> u8 {
        match &self.outcome {
            Ok(()) => 0,
            Err(error) => error.reported_exit_status().unwrap_or(1),
        }
    }
}

impl From<Result<(), Error>> for Exit {
    fn from(outcome: Result<(), Error>) -> Self {
        Exit { outcome }
    }
}

impl std::fmt::Debug for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exit")
            .field("code", &self.code())
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        let code = self.code();
        if let Err(error) = &self.outcome {
            if error.reported_exit_status().is_none() {
                eprintln!("Error: {error:?}");
            }
        }
        ExitCode::from(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(Exit::from(Ok(())).code(), 0);
        assert_eq!(
            Exit::from(Err(Error::new("Init.Failed", "no table"))).code(),
            1
        );
        let usage = Error::new(crate::error::error_type::COMMAND_LINE, "bad flag").reported(2);
        assert_eq!(Exit::from(Err(usage)).code(), 2);
        let help = Error::new(crate::error::error_type::COMMAND_LINE, "help").reported(0);
        assert_eq!(Exit::from(Err(help)).code(), 0);
    }
}
