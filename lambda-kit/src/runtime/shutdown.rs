//! Graceful shutdown: the hooks a function registers with
//! [`Runtime::on_shutdown`](crate::Runtime::on_shutdown), and how they come to run.
//!
//! Lambda sends the runtime SIGTERM before it shuts an environment down only when at least
//! one extension is registered; with none it kills the process at once. So a runtime with
//! hooks registers an internal extension for no events (`register_for_sigterm`) before its
//! first `/next`. Lambda then allows the runtime 500 ms between SIGTERM and SIGKILL; the
//! hooks share [`GRACE`], a little less, so that the flush after them and the exit still
//! fit.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::extensions_api::ExtensionsClient;

/// How long the hooks and the final flush may take after SIGTERM, in all: Lambda's 500 ms
/// with an internal extension registered, less a margin for the flush and the exit.
pub const GRACE: Duration = Duration::from_millis(450);

/// The name of the internal extension that makes Lambda send SIGTERM.
pub(crate) const EXTENSION_NAME: &str = "lambda-kit-shutdown";

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The shutdown hooks, in registration order. (In a mutex only so that the runtime stays
/// `Sync`: a future is `Send` but need not be `Sync`, and the runtime is borrowed across
/// awaits; the hooks are only ever moved, never shared.)
#[derive(Default)]
pub(crate) struct ShutdownHooks {
    hooks: std::sync::Mutex<Vec<Hook>>,
}

impl std::fmt::Debug for ShutdownHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHooks")
            .field("count", &self.len())
            .finish()
    }
}

impl ShutdownHooks {
    /// Adds a hook, run after the ones added before it.
    pub(crate) fn push(&mut self, hook: impl Future<Output = ()> + Send + 'static) {
        self.hooks_mut().push(Box::pin(hook));
    }

    fn hooks_mut(&mut self) -> &mut Vec<Hook> {
        self.hooks
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn len(&self) -> usize {
        self.hooks.lock().map_or(0, |hooks| hooks.len())
    }

    /// Whether no hook is registered (then nothing waits for SIGTERM).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs the hooks in order, each until it ends or `deadline` passes (a hook still
    /// running then is cut off, and the ones after it do not start), then flushes what
    /// lambda-kit buffers.
    pub(crate) async fn run(self, deadline: Instant) {
        let hooks = self
            .hooks
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = hooks.len();
        for (position, hook) in hooks.into_iter().enumerate() {
            if tokio::time::timeout_at(deadline, hook).await.is_err() {
                tracing::warn!(
                    hook = position + 1,
                    of = count,
                    "a shutdown hook was still running when the grace period ended; it is cut \
                     off and the hooks after it do not run"
                );
                break;
            }
        }
        flush_buffers().await;
    }
}

/// Flushes what lambda-kit holds: spans an OpenTelemetry exporter buffers, and standard
/// output. (X-Ray segments and EMF lines are written when each invocation ends, and
/// buffered debug lines belong to one invocation, so nothing of theirs waits.)
pub(crate) async fn flush_buffers() {
    crate::telemetry::flush::flush_current().await;
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

/// Registers the internal extension that makes Lambda send SIGTERM before shutdown, and
/// keeps its `event/next` poll open (registered for no events, it never answers; Lambda's
/// init waits for every registered extension to poll). A failure is logged: the function
/// still serves, and only the hooks will not run.
pub(crate) async fn register_for_sigterm(endpoint: &Endpoint) {
    let mut client = ExtensionsClient::new(endpoint);
    if let Err(error) = client.register(EXTENSION_NAME, &[], false).await {
        tracing::warn!(
            %error,
            "could not register the internal extension that makes Lambda send SIGTERM; \
             shutdown hooks will not run"
        );
        return;
    }
    tokio::spawn(async move {
        // Nothing comes for no events; an answer anyway is read and the poll made again.
        loop {
            if let Err(error) = client.next_event().await {
                tracing::debug!(%error, "the shutdown extension's poll ended");
                return;
            }
        }
    });
}

/// The deadline of the grace period that starts now.
pub(crate) fn grace_deadline() -> Instant {
    Instant::now() + GRACE
}
