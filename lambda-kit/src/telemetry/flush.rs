//! Telemetry that is buffered in the process and sent between invocations.
//!
//! A layer that holds data back (the OpenTelemetry span buffer) carries a [`FlushHandle`]
//! and hands it out through `Layer::downcast_raw`; the loop finds it in the current
//! subscriber and runs it after an invocation's answer is posted and before it asks for
//! the next one, because Lambda freezes the environment while `/next` is pending and
//! whatever is still buffered then may never leave. Found through the subscriber, not a
//! process-wide list, the flush belongs to the subscriber that buffered the data. Layers
//! and the loop meet here, so neither imports the other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::Switch;

/// Sends what a layer has buffered. A flush bounds its own time and reports its own
/// failures: it never fails an invocation.
pub(crate) trait Flush: Send + Sync {
    /// Sends everything buffered so far.
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// What a buffering layer hands out when asked for this type by `downcast_raw`.
#[derive(Clone)]
pub(crate) struct FlushHandle(Arc<dyn Flush>);

impl FlushHandle {
    /// A handle for `flush`; from now on the loop looks for handles after each answer.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) fn new(flush: Arc<dyn Flush>) -> Self {
        ANY.turn_on();
        FlushHandle(flush)
    }
}

/// Whether any handle was ever made: until then the loop's check is one load.
static ANY: Switch = Switch::off();

/// Whether a flush handle exists at all: checked before [`flush_current`], so that the
/// loop does not even build its future when nothing buffers.
pub(crate) fn is_needed() -> bool {
    ANY.is_on()
}

/// Runs the flush of the current subscriber's buffering layer, if it has one.
pub(crate) async fn flush_current() {
    if !is_needed() {
        return;
    }
    let handle = tracing::dispatcher::get_default(|dispatch| {
        dispatch.downcast_ref::<FlushHandle>().cloned()
    });
    if let Some(FlushHandle(flush)) = handle {
        flush.flush().await;
    }
}
