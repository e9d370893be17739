//! Logging once per execution: code between operations runs again on every replay, and so
//! would its log lines. These macros log through `tracing` unless the context is replaying
//! ([`DurableContext::is_replaying`](crate::DurableContext::is_replaying)).
//!
//! ```
//! # async fn charge(ctx: lambda_kit_durable::DurableContext) {
//! lambda_kit_durable::info!(ctx, order = 7, "charging the card");
//! # }
//! ```

/// `tracing::error!`, unless `ctx` is replaying.
#[macro_export]
macro_rules! error {
    ($ctx:expr, $($arg:tt)+) => {
        if !$crate::DurableContext::is_replaying(&$ctx) {
            $crate::__private::tracing::error!($($arg)+);
        }
    };
}

/// `tracing::warn!`, unless `ctx` is replaying.
#[macro_export]
macro_rules! warn {
    ($ctx:expr, $($arg:tt)+) => {
        if !$crate::DurableContext::is_replaying(&$ctx) {
            $crate::__private::tracing::warn!($($arg)+);
        }
    };
}

/// `tracing::info!`, unless `ctx` is replaying.
#[macro_export]
macro_rules! info {
    ($ctx:expr, $($arg:tt)+) => {
        if !$crate::DurableContext::is_replaying(&$ctx) {
            $crate::__private::tracing::info!($($arg)+);
        }
    };
}

/// `tracing::debug!`, unless `ctx` is replaying.
#[macro_export]
macro_rules! debug {
    ($ctx:expr, $($arg:tt)+) => {
        if !$crate::DurableContext::is_replaying(&$ctx) {
            $crate::__private::tracing::debug!($($arg)+);
        }
    };
}
