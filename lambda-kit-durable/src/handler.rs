//! A durable handler served by lambda-kit's runtime.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use lambda_kit::LambdaEvent;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::execution;
use crate::plugin::{Plugin, Plugins};
use crate::protocol::{InvocationInput, InvocationOutput};
use crate::service::CheckpointService;

/// The `errorType` of an invocation whose checkpoints failed: Lambda invokes it again.
pub const CHECKPOINT_FAILED: &str = "Durable.CheckpointFailed";

/// Makes a lambda-kit handler of a durable `async fn(event, DurableContext)`: each
/// invocation's event is the durable envelope, the handler runs against the execution's
/// history, and the answer is the durable output. Checkpoints go to `service`.
///
/// ```no_run
/// # async fn main_() -> Result<(), lambda_kit::Error> {
/// # #[cfg(feature = "aws")] {
/// use std::sync::Arc;
/// use lambda_kit_durable::{DurableContext, DurableError, aws::LambdaCheckpoints, durable_fn};
///
/// async fn greet(name: String, ctx: DurableContext) -> Result<String, DurableError> {
///     ctx.step("greet", |_| async move { Ok::<_, std::io::Error>(format!("Hello, {name}!")) })
///         .await
/// }
///
/// let checkpoints = Arc::new(LambdaCheckpoints::from_env().await);
/// lambda_kit::Runtime::from_env()?.run(durable_fn(checkpoints, greet)).await?;
/// # }
/// # Ok(())
/// # }
/// ```
pub fn durable_fn<F, E, R, Fut>(service: Arc<dyn CheckpointService>, handler: F) -> DurableFn<F, E>
where
    F: FnOnce(E, DurableContext) -> Fut,
    Fut: Future<Output = Result<R, DurableError>>,
{
    DurableFn {
        service,
        handler,
        plugins: Plugins::default(),
        event: PhantomData,
    }
}

/// The handler [`durable_fn`] makes; `E` is the execution's input type.
pub struct DurableFn<F, E> {
    service: Arc<dyn CheckpointService>,
    handler: F,
    plugins: Plugins,
    event: PhantomData<fn(E)>,
}

impl<F, E> DurableFn<F, E> {
    /// Tells `plugin` of every invocation's events (after the plugins registered before).
    pub fn plugin(mut self, plugin: impl Plugin + 'static) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }
}

impl<F: Clone, E> Clone for DurableFn<F, E> {
    fn clone(&self) -> Self {
        DurableFn {
            service: Arc::clone(&self.service),
            handler: self.handler.clone(),
            plugins: self.plugins.clone(),
            event: PhantomData,
        }
    }
}

impl<F, E> std::fmt::Debug for DurableFn<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableFn").finish_non_exhaustive()
    }
}

impl<F, E, R, Fut> tower::Service<LambdaEvent<InvocationInput>> for DurableFn<F, E>
where
    F: FnOnce(E, DurableContext) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<R, DurableError>> + Send + 'static,
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
{
    type Response = InvocationOutput;
    type Error = lambda_kit::Error;
    type Future = Pin<Box<dyn Future<Output = Result<InvocationOutput, lambda_kit::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<InvocationInput>) -> Self::Future {
        let service = Arc::clone(&self.service);
        let handler = self.handler.clone();
        let plugins = self.plugins.clone();
        Box::pin(async move {
            execution::run_with_plugins(event.payload, service, plugins, handler)
                .await
                .map_err(|error| lambda_kit::Error::new(CHECKPOINT_FAILED, error.to_string()))
        })
    }
}
