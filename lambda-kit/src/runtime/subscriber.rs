//! The default `tracing` subscriber: the log layer and the X-Ray layer side by side.
//! Composing them is the runtime's job, so that neither layer knows the other.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Config;
use crate::logging::Logging;
use crate::xray::XRay;

/// Installs the default subscriber for `config` (logging and X-Ray), unless the program
/// installed one already.
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
        .with(Logging::from_env(config).tracing_layer())
        .try_init();
}
