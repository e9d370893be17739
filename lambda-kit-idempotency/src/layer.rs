//! The tower layer: idempotency around a whole handler, keyed on its event.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use lambda_kit::{Error, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::Idempotency;

/// Makes a handler idempotent: each event's key is taken from the event (as JSON), and a
/// replay is answered with the first response without calling the handler.
///
/// ```no_run
/// use lambda_kit::{Context, Error, Runtime, handler_fn};
/// use lambda_kit_idempotency::{Idempotency, IdempotencyLayer, MemoryStore};
/// use serde_json::Value;
///
/// async fn charge(event: Value, _ctx: Context) -> Result<Value, Error> {
///     Ok(event)
/// }
///
/// # async fn start() -> Result<(), Error> {
/// let idempotency = Idempotency::builder(MemoryStore::new())
///     .key_jmespath("order_id")
///     .build()?;
/// Runtime::from_env()?
///     .layer(IdempotencyLayer::new(idempotency))
///     .run(handler_fn(charge))
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct IdempotencyLayer {
    idempotency: Idempotency,
}

impl IdempotencyLayer {
    /// A layer that runs handlers through `idempotency`.
    pub fn new(idempotency: Idempotency) -> Self {
        IdempotencyLayer { idempotency }
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotent<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Idempotent {
            inner,
            idempotency: self.idempotency.clone(),
        }
    }
}

/// A handler service wrapped by [`IdempotencyLayer`].
#[derive(Debug, Clone)]
pub struct Idempotent<S> {
    inner: S,
    idempotency: Idempotency,
}

impl<S, E, R> Service<LambdaEvent<E>> for Idempotent<S>
where
    S: Service<LambdaEvent<E>, Response = R> + Clone + Send + 'static,
    S::Error: Into<Error> + Send,
    S::Future: Send,
    E: Serialize + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Response = R;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<R, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<E>) -> Self::Future {
        // The ready service answers this call; the clone waits for the next poll_ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let idempotency = self.idempotency.clone();
        Box::pin(async move {
            let data = idempotency.data(&event.payload)?;
            let deadline = event.context.deadline();
            idempotency
                .run_value(deadline, &data, move || inner.call(event))
                .await
        })
    }
}
