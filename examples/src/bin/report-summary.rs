//! An external extension: one line per invocation from the Telemetry API's
//! `platform.report` records, and a total when the environment shuts down.
//!
//! Shipped as a layer with the binary at `extensions/report-summary` (see
//! `scripts/package.sh --extension`), Lambda starts it before the function. Locally it
//! runs beside any lambda-kit function:
//!
//! ```sh
//! cargo build -p examples --features extension --bin report-summary --bin hello
//! target/debug/hello --serve --extension target/debug/report-summary
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_kit::Error;
use lambda_kit::extension::{Extension, TelemetryRecord, TelemetrySubscription, TelemetryType};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let invocations = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&invocations);
    Extension::from_env()?
        .telemetry(
            TelemetrySubscription::new([TelemetryType::Platform]),
            move |batch| {
                let counted = Arc::clone(&counted);
                async move {
                    for event in batch {
                        if let TelemetryRecord::Report(report) = event.record {
                            counted.fetch_add(1, Ordering::Relaxed);
                            // stdout, which Lambda sends to CloudWatch Logs; not to the
                            // Telemetry API, since this subscribes to platform records only.
                            println!(
                                "report-summary: {} {} {:.2} ms, {} MB of {} MB",
                                report.request_id,
                                report.status,
                                report.metrics.duration_ms,
                                report.metrics.max_memory_used_mb.unwrap_or_default(),
                                report.metrics.memory_size_mb.unwrap_or_default(),
                            );
                        }
                    }
                    Ok::<_, Error>(())
                }
            },
        )
        .on_shutdown(move |shutdown| async move {
            println!(
                "report-summary: {} invocations, shutting down ({})",
                invocations.load(Ordering::Relaxed),
                shutdown.shutdown_reason
            );
            Ok::<_, Error>(())
        })
        .run()
        .await
}
