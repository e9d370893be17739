//! SnapStart: the hooks around a snapshot, and the restore call.
//!
//! Only when `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start` and a hook is registered,
//! after init and before the first `/next`:
//!
//! 1. before-snapshot hooks, the last registered first (a failure goes to `/init/error`);
//! 2. `GET /runtime/restore/next`, which returns once the snapshot has been restored (any
//!    other answer goes to `/init/error`);
//! 3. after-restore hooks, in registration order (a failure goes to
//!    `/runtime/restore/error`);
//! 4. the loop, on connections opened after the restore.
//!
//! Without hooks, `/restore/next` is not called, which Lambda reads as "not interested".
//! What lambda-kit itself needs after a restore it already has: every Runtime API
//! connection of the loop is opened after this sequence; random ids and sampling draw from
//! the operating system on every call, so no generator state is copied between restored
//! environments.

use std::future::Future;
use std::pin::Pin;

use super::client::ApiClient;
use super::endpoint::Endpoint;
use crate::error::{Error, error_type};
use crate::panic::guarded;

type Hook = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// The SnapStart hooks, in registration order. (In a mutex only to keep the runtime
/// `Sync`, as the shutdown hooks are.)
#[derive(Default)]
pub(crate) struct SnapStartHooks {
    hooks: std::sync::Mutex<Hooks>,
}

#[derive(Default)]
struct Hooks {
    before_snapshot: Vec<Hook>,
    after_restore: Vec<Hook>,
}

impl std::fmt::Debug for SnapStartHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = self
            .hooks
            .lock()
            .map(|hooks| (hooks.before_snapshot.len(), hooks.after_restore.len()))
            .unwrap_or_default();
        f.debug_struct("SnapStartHooks")
            .field("before_snapshot", &counts.0)
            .field("after_restore", &counts.1)
            .finish()
    }
}

/// Where the sequence failed, and how the failure is reported.
#[derive(Debug)]
pub(crate) enum SnapStartError {
    /// Before the snapshot: reported like an init error.
    BeforeSnapshot(Error),
    /// After the restore: reported to `/runtime/restore/error`.
    AfterRestore(Error),
}

impl SnapStartHooks {
    /// Adds a hook run before the snapshot.
    pub(crate) fn before_snapshot(
        &mut self,
        hook: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        self.hooks_mut().before_snapshot.push(Box::pin(hook));
    }

    fn hooks_mut(&mut self) -> &mut Hooks {
        self.hooks
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a hook run after a restore.
    pub(crate) fn after_restore(
        &mut self,
        hook: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        self.hooks_mut().after_restore.push(Box::pin(hook));
    }

    /// Runs the sequence when this environment is a SnapStart one and hooks exist.
    pub(crate) async fn run(
        self,
        endpoint: &Endpoint,
        initialization_type: Option<&str>,
    ) -> Result<(), SnapStartError> {
        let hooks = self
            .hooks
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let none = hooks.before_snapshot.is_empty() && hooks.after_restore.is_empty();
        if none || initialization_type != Some("snap-start") {
            return Ok(());
        }
        for hook in hooks.before_snapshot.into_iter().rev() {
            run_hook("a before-snapshot hook", hook)
                .await
                .map_err(SnapStartError::BeforeSnapshot)?;
        }
        // Its own client, dropped at the end of this function: no connection from before
        // the snapshot is used after it.
        let mut client = ApiClient::new(endpoint.clone());
        let restored = client.restore_next().await.map_err(|error| {
            SnapStartError::BeforeSnapshot(Error::new(
                error_type::RESTORE_FAILED,
                error.to_string(),
            ))
        })?;
        if !restored.status.is_success() {
            return Err(SnapStartError::BeforeSnapshot(Error::new(
                error_type::RESTORE_FAILED,
                format!(
                    "the Runtime API answered /runtime/restore/next with {}: {}",
                    restored.status,
                    String::from_utf8_lossy(&restored.body)
                ),
            )));
        }
        drop(client);
        for hook in hooks.after_restore {
            if let Err(error) = run_hook("an after-restore hook", hook).await {
                post_restore_error(endpoint, &error).await;
                return Err(SnapStartError::AfterRestore(error));
            }
        }
        Ok(())
    }
}

async fn run_hook(what: &str, hook: Hook) -> Result<(), Error> {
    guarded(what, || hook).await.and_then(|outcome| outcome)
}

/// Posts an after-restore failure; a refusal is logged, since the process ends either way.
async fn post_restore_error(endpoint: &Endpoint, error: &Error) {
    let mut client = ApiClient::new(endpoint.clone());
    let posted = client.post_restore_error(&error.to_body()).await;
    super::lambda::log_final_post("restore error", posted);
}
