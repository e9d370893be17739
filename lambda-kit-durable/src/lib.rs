//! Durable executions for AWS Lambda: one handler runs a multi-step workflow for up to a
//! year. Each step's result is checkpointed with the Lambda service, waits suspend the
//! function at no compute cost, and a later invocation replays the checkpoints to resume
//! where the execution left off.
//!
//! The operations are on [`DurableContext`]: `step` (with retries), `wait`, child contexts,
//! `wait_for_condition`, callbacks, chained invokes, `map` and `parallel`, and `now` and
//! `random` for values a replay must see again. Replay uses deterministic operation ids
//! and fails loudly when the code takes another path than its history. Around them: the
//! Lambda client (feature `aws`), a lambda-kit handler ([`durable_fn`], or
//! `#[lambda_kit::handler(durable)]`), logging once per execution ([`info!`] and its
//! siblings), instrumentation [`plugin`]s, and a local runner (feature `testing`).
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use lambda_kit_durable::{DurableContext, DurableError};
//!
//! async fn order(order_id: u64, ctx: DurableContext) -> Result<String, DurableError> {
//!     let reserved: String = ctx
//!         .step("reserve", |_| async move { Ok::<_, std::io::Error>(format!("r-{order_id}")) })
//!         .await?;
//!     ctx.wait("cool-off", Duration::from_secs(60)).await?;
//!     Ok(reserved)
//! }
//!
//! let runner = lambda_kit_durable::testing::LocalRunner::new();
//! let run = runner.run(&7, order).await.expect("the run ends");
//! assert_eq!(run.output.result.as_deref(), Some("\"r-7\""));
//! assert_eq!(run.invocations, 2); // the wait suspended the first
//! # });
//! ```

#[cfg(feature = "aws")]
pub mod aws;
mod batch;
mod callback;
mod child;
mod concurrent;
mod condition;
mod context;
mod error;
pub mod execution;
mod handler;
pub mod id;
mod invoke;
mod log;
pub mod plugin;
pub mod protocol;
mod retry;
mod serdes;
pub mod service;
mod state;
mod step;
#[cfg(feature = "testing")]
pub mod testing;
mod wait;

pub use batch::{
    BatchConfig, BatchItem, BatchItemStatus, BatchResult, Branch, BranchFuture, CompletionConfig,
    CompletionReason, Nesting,
};
pub use callback::{Callback, CallbackConfig};
pub use condition::{PollStrategy, WaitDecision};
pub use context::DurableContext;
pub use error::DurableError;
pub use handler::{CHECKPOINT_FAILED, DurableFn, durable_fn};
pub use invoke::InvokeConfig;
pub use retry::RetryStrategy;
pub use serdes::{JsonSerdes, Serdes};
pub use step::{StepConfig, StepContext, StepSemantics};

/// What the logging macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
