//! Ended spans wait in a buffer and leave in one OTLP/HTTP request per flush, which the
//! loop runs after each answer (see `telemetry::flush`). A batch span processor would
//! export on its own timer, which in Lambda fires while the environment is frozen, or
//! delays the answer when flushed before it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::telemetry::flush::Flush;

/// The most spans kept between two flushes; past it, spans are counted and dropped, so
/// that an exporter that keeps failing cannot grow the process without bound.
pub(crate) const MAX_BUFFERED_SPANS: usize = 4096;

/// Ended spans, shared by the processor (which fills it) and the flush (which empties it).
#[derive(Debug, Default)]
pub(crate) struct SpanBuffer {
    spans: Mutex<Vec<SpanData>>,
    dropped: AtomicU64,
}

impl SpanBuffer {
    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The span processor: buffers every ended span that was sampled.
#[derive(Debug)]
pub(crate) struct BufferingProcessor(pub(crate) Arc<SpanBuffer>);

impl SpanProcessor for BufferingProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut spans = self.0.spans.lock().unwrap_or_else(PoisonError::into_inner);
        if spans.len() < MAX_BUFFERED_SPANS {
            spans.push(span);
        } else {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Sends the buffer with the OTLP exporter, within `timeout`.
pub(crate) struct Exporting<X> {
    buffer: Arc<SpanBuffer>,
    exporter: X,
    timeout: Duration,
    /// Whether the last flush failed: failures are logged when they start and when they
    /// end, not once per invocation.
    failing: AtomicBool,
}

impl<X> Exporting<X> {
    pub(crate) fn new(buffer: Arc<SpanBuffer>, exporter: X, timeout: Duration) -> Self {
        Exporting {
            buffer,
            exporter,
            timeout,
            failing: AtomicBool::new(false),
        }
    }
}

impl<X: SpanExporter + 'static> Exporting<X> {
    async fn export_buffered(&self) {
        let batch = self.buffer.take();
        let dropped = self.buffer.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                limit = MAX_BUFFERED_SPANS,
                "OpenTelemetry spans were dropped: more ended between two flushes than the buffer holds"
            );
        }
        if batch.is_empty() {
            return;
        }
        let spans = batch.len();
        let outcome = match tokio::time::timeout(self.timeout, self.exporter.export(batch)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "no answer within {} ms (OTEL_BSP_EXPORT_TIMEOUT)",
                self.timeout.as_millis()
            )),
        };
        match outcome {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("OpenTelemetry export works again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        spans,
                        "OpenTelemetry export failed; these spans are dropped, and further failures \
                         are not logged until an export succeeds"
                    );
                }
            }
        }
    }
}

impl<X: SpanExporter + 'static> Flush for Exporting<X> {
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.export_buffered())
    }
}
