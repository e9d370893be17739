//! The default `tracing` subscriber: the log layer, the X-Ray layer and (with the `otel`
//! feature, when the environment asks for it) the OpenTelemetry layer side by side.
//! Composing them is the runtime's job, so that no layer knows another.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Config;
use crate::logging::Logging;
use crate::xray::XRay;

/// Installs the default subscriber for `config` (logging, X-Ray, OpenTelemetry), unless
/// the program installed one already.
pub(super) fn install_default(config: &Config) {
    let xray = match XRay::from_env(config).tracing_layer() {
        Ok(layer) => Some(layer),
        Err(error) => {
            // Logging is not up yet; stderr is where Lambda shows this.
            eprintln!("lambda-kit: X-Ray is off: {error}");
            None
        }
    };
    let _ = tracing_subscriber::registry()
        .with(xray)
        .with(otel_layer(config))
        .with(Logging::from_env(config).tracing_layer())
        .try_init();
}

/// The OpenTelemetry layer, when the environment turns it on.
#[cfg(feature = "otel")]
fn otel_layer(config: &Config) -> Option<crate::otel::OtelTracingLayer> {
    // Two lookups before reading the rest of the OTEL_* environment: most functions built
    // with the feature but not configured for it pay only these at start-up.
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some());
    if !configured {
        return None;
    }
    let otel = crate::otel::Otel::from_env(config);
    if !otel.is_enabled_by_env() {
        return None;
    }
    match otel.tracing_layer() {
        Ok(layer) => Some(layer),
        Err(error) => {
            eprintln!("lambda-kit: OpenTelemetry is off: {error}");
            None
        }
    }
}

/// Without the `otel` feature there is no OpenTelemetry layer.
#[cfg(not(feature = "otel"))]
fn otel_layer(_: &Config) -> Option<tracing_subscriber::layer::Identity> {
    None
}
