//! AWS X-Ray: trace headers, subsegment documents sent to the daemon over UDP, and a
//! tracing layer that turns the invocation (and spans marked `xray = true`) into
//! subsegments.
//!
//! ```
//! # async fn fetch_price(_: u64) {}
//! async fn charge(order_id: u64) {
//!     // A nested subsegment with an annotation (indexed) and metadata (not indexed).
//!     let span = tracing::info_span!(
//!         "charge",
//!         xray = true,
//!         annotation.order_id = order_id,
//!         metadata.channel = "web",
//!     );
//!     let _entered = span.enter();
//!     // Pass the trace on to a downstream call.
//!     let header = lambda_kit::xray::current_trace_header();
//!     # let _ = header;
//!     fetch_price(order_id).await;
//! }
//! ```
//!
//! Only sampled traces (`Sampled=1`) are sent. The daemon address comes from
//! `AWS_XRAY_DAEMON_ADDRESS` (default `127.0.0.1:2000`); `POWERTOOLS_TRACE_DISABLED=true`
//! turns the layer off.

mod document;
mod emitter;
mod layer;

use std::sync::Arc;

pub use crate::telemetry::trace_header::{Sampled, TraceHeader, TraceHeaderError};
pub use document::MAX_DATAGRAM_BYTES;
pub use emitter::DaemonAddressError;
pub use layer::XRayTracingLayer;

use self::emitter::{Emitter, daemon_address};
use self::layer::{InvocationTrace, OpenSubsegment};
use crate::config::Config;

/// Builds the X-Ray layer; every setting starts from the environment.
#[derive(Debug, Clone)]
pub struct XRay {
    daemon: Option<String>,
    enabled: bool,
    service: String,
    function_name: String,
}

impl XRay {
    /// Settings from the process environment and `config`.
    pub fn from_env(config: &Config) -> Self {
        Self::from_lookup(config, |name| std::env::var(name).ok())
    }

    /// Settings from `config` and the variables `lookup` returns (tests pass a map).
    pub fn from_lookup(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Self {
        XRay {
            daemon: lookup("AWS_XRAY_DAEMON_ADDRESS"),
            enabled: !lookup("POWERTOOLS_TRACE_DISABLED").is_some_and(|value| {
                value.trim().eq_ignore_ascii_case("true") || value.trim() == "1"
            }),
            service: config.service_name().to_owned(),
            function_name: config.function_name().to_owned(),
        }
    }

    /// Sends to this daemon address (`host:port`, or `tcp:... udp:...`).
    pub fn daemon_address(mut self, address: impl Into<String>) -> Self {
        self.daemon = Some(address.into());
        self
    }

    /// Sets the `Service` annotation.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The `tracing` layer that records subsegments and sends them to the daemon. An
    /// unusable daemon address is an error; a disabled layer records nothing and sends
    /// nothing.
    pub fn tracing_layer(self) -> Result<XRayTracingLayer, DaemonAddressError> {
        let emitter = if self.enabled {
            let address = daemon_address(self.daemon.as_deref())?;
            Some(Arc::new(Emitter::new(address)))
        } else {
            None
        };
        Ok(XRayTracingLayer {
            emitter,
            invocation_name: document::SubsegmentName::new(&format!("## {}", self.function_name)),
            service: self.service,
        })
    }
}

/// The `X-Amzn-Trace-Id` value for a call made from the current span: the trace of the
/// invocation, with the innermost open subsegment as `Parent`. `None` outside an invocation
/// with a valid trace header, or when the subscriber is not built on
/// `tracing_subscriber::Registry`.
///
/// ```
/// // Inside an invocation, pass it on as the `X-Amzn-Trace-Id` header of a downstream call.
/// let header = lambda_kit::xray::current_trace_header();
/// assert!(header.is_none(), "outside an invocation there is no trace");
/// ```
pub fn current_trace_header() -> Option<String> {
    crate::telemetry::find_in_current_scope(|extensions| {
        if let Some(open) = extensions.get::<OpenSubsegment>() {
            return Some(
                open.header
                    .with_parent(open.document.id.as_str())
                    .to_string(),
            );
        }
        extensions
            .get::<InvocationTrace>()
            .map(|trace| trace.header.to_string())
    })
}

/// One annotated subsegment's datagram length (for the benchmarks).
pub(crate) fn bench_datagram() -> usize {
    use crate::telemetry::trace_header::{SegmentId, TraceId};
    let (Some(trace_id), Some(parent_id)) = (
        TraceId::parse("1-5759e988-bd862e3fe1be46a994272793"),
        SegmentId::parse("53995c3f42cd8ad8"),
    ) else {
        return 0;
    };
    let mut document = document::Subsegment::start(
        document::SubsegmentName::new("## orders"),
        trace_id,
        parent_id,
    );
    document.annotate("ColdStart", serde_json::Value::Bool(false));
    document.annotate("Service", serde_json::Value::from("orders"));
    document.end();
    document
        .datagram()
        .map(|datagram| datagram.len())
        .unwrap_or_default()
}
