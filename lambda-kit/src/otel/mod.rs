//! OpenTelemetry: the invocation and the `tracing` spans inside it as OTLP traces, with the
//! FaaS and AWS Lambda semantic conventions, exported over OTLP/HTTP after each answer.
//!
//! Inside Lambda the usual receiver is a collector extension listening on
//! `localhost:4318` (the ADOT layer, or any OpenTelemetry collector layer), which can
//! forward to X-Ray's OTLP endpoint or any backend. [`Runtime::from_env`](crate::Runtime::from_env)
//! turns this on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! is set (and `OTEL_SDK_DISABLED` is not `true`); the standard variables say the rest:
//!
//! | Variable | Meaning | Default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; `/v1/traces` is appended | `http://localhost:4318` |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the traces URL, as it is | |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` (or `_TRACES_PROTOCOL`) | `http/protobuf` or `http/json` | `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_HEADERS` (or `_TRACES_HEADERS`) | `key=value,...`, percent-encoded values | |
//! | `OTEL_SERVICE_NAME` | `service.name` | one in `OTEL_RESOURCE_ATTRIBUTES`, else `POWERTOOLS_SERVICE_NAME`, else the function name |
//! | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `key=value,...` | |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | `always_on`, `always_off`, `traceidratio`, `parentbased_*` | `parentbased_always_on` |
//! | `OTEL_PROPAGATORS` | `xray` (the header Lambda passes), `tracecontext` (`traceparent` in the event), `none` | `xray` |
//! | `OTEL_BSP_EXPORT_TIMEOUT` | the bound on each flush, in milliseconds | 200 |
//! | `LAMBDA_KIT_OTEL_EVENT_LEVEL` | `tracing` events at or above it become span events | `info` |
//!
//! With the default sampler the X-Ray header's `Sampled` flag decides: with active tracing
//! off, Lambda passes `Sampled=0` and nothing is recorded. Turn active tracing on, take the
//! parent from the event instead (`OTEL_PROPAGATORS=tracecontext`: the X-Ray context is
//! then a link, as the conventions ask), or sample regardless (`OTEL_TRACES_SAMPLER=always_on`).
//!
//! Ended spans are buffered and sent in one request after the invocation's answer is
//! posted and before the next `/next` (Lambda freezes the environment while `/next` is
//! pending): the caller never waits for the export, and a receiver that is down or slow
//! costs at most the flush bound, with one warning, never a failed invocation.
//!
//! ```
//! use tracing::Instrument as _;
//! # async fn charge(_: u64, _: &http::HeaderMap) {}
//!
//! async fn pay(order_id: u64) {
//!     async {
//!         // Pass the trace on: `traceparent` and `X-Amzn-Trace-Id` for a downstream call.
//!         let mut headers = http::HeaderMap::new();
//!         lambda_kit::otel::inject(&mut headers);
//!         charge(order_id, &headers).await;
//!     }
//!     // A child span of the invocation, with an attribute.
//!     .instrument(tracing::info_span!("charge", order_id))
//!     .await
//! }
//! ```

mod export;
mod layer;
mod propagation;
mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter as _};
use tracing::Level;

pub use layer::OtelTracingLayer;
/// The samplers [`Otel::sampler`] takes (the OpenTelemetry SDK's).
pub use opentelemetry_sdk::trace::Sampler;
pub use settings::{OtlpProtocol, Propagator};

use self::export::{BufferingProcessor, Exporting, SpanBuffer};
use self::layer::OtelSpan;
use self::settings::Settings;
use crate::config::Config;
use crate::telemetry::flush::FlushHandle;

/// Builds the OpenTelemetry layer; every setting starts from the environment.
#[derive(Debug, Clone)]
pub struct Otel {
    settings: Settings,
    function_name: String,
    function_version: String,
    region: String,
    memory_mb: u32,
    log_stream: Option<String>,
}

/// The OpenTelemetry layer cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The traces endpoint is not an `http://` URL.
    #[error(
        "the OTLP traces endpoint {endpoint:?} is not an http:// URL ({reason}); inside Lambda, \
         send to a collector extension on http://localhost:4318, which can forward over TLS"
    )]
    Endpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OTLP exporter refused its configuration.
    #[error("the OTLP exporter cannot be built: {0}")]
    Exporter(String),
}

impl Otel {
    /// Settings from the process environment and `config`.
    pub fn from_env(config: &Config) -> Self {
        Self::from_lookup(config, |name| std::env::var(name).ok())
    }

    /// Settings from `config` and the variables `lookup` returns (tests pass a map).
    pub fn from_lookup(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Self {
        Otel {
            settings: Settings::read(lookup),
            function_name: config.function_name().to_owned(),
            function_version: config.function_version().to_owned(),
            region: config.region().to_owned(),
            memory_mb: config.memory_size_mb(),
            log_stream: config.log_stream_name().map(str::to_owned),
        }
    }

    /// Whether the environment asks for OpenTelemetry (an OTLP endpoint is set and
    /// `OTEL_SDK_DISABLED` is not `true`). [`Runtime::from_env`](crate::Runtime::from_env)
    /// installs the layer only then; a layer built in code exports either way.
    pub fn is_enabled_by_env(&self) -> bool {
        self.settings.enabled
    }

    /// Exports to this traces URL (`http://host:port/v1/traces`).
    pub fn traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.traces_endpoint = url.into();
        self
    }

    /// Encodes export requests this way.
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.settings.protocol = protocol;
        self
    }

    /// Sends this header with every export request (an API key, say).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        settings::set(&mut self.settings.headers, name.into(), value.into());
        self
    }

    /// Sets `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.settings.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (replacing one of the same key).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        settings::set(
            &mut self.settings.resource_attributes,
            key.into(),
            value.into(),
        );
        self
    }

    /// Samples with `sampler` (default: parent-based, always on).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.settings.sampler = sampler;
        self
    }

    /// Reads invocation parents with these propagators, in order, a later one's context
    /// replacing an earlier one's (as OpenTelemetry's composite propagator does).
    pub fn propagators(mut self, propagators: &[Propagator]) -> Self {
        self.settings.propagators = propagators.to_vec();
        self
    }

    /// Bounds each flush (default 200 ms).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.settings.flush_timeout = timeout;
        self
    }

    /// Turns `tracing` events at or above `level` into span events (default INFO).
    pub fn event_level(mut self, level: Level) -> Self {
        self.settings.event_level = level;
        self
    }

    /// The `service.name` the spans carry: `OTEL_SERVICE_NAME` (or [`Otel::service_name`]),
    /// else a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else `POWERTOOLS_SERVICE_NAME`,
    /// else the function's name.
    fn resolved_service_name(&self) -> String {
        let from_attributes = self
            .settings
            .resource_attributes
            .iter()
            .find(|(key, _)| key == "service.name")
            .map(|(_, value)| value.clone());
        self.settings
            .service_name
            .clone()
            .or(from_attributes)
            .or_else(|| self.settings.powertools_service_name.clone())
            .unwrap_or_else(|| self.function_name.clone())
    }

    /// The resource: the FaaS and cloud conventions, then `OTEL_RESOURCE_ATTRIBUTES`
    /// (which may replace them), then `service.name`.
    fn resource(&self) -> Resource {
        let mut attributes = vec![
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_lambda"),
            KeyValue::new("cloud.region", self.region.clone()),
            KeyValue::new("faas.name", self.function_name.clone()),
            KeyValue::new("faas.version", self.function_version.clone()),
            KeyValue::new("faas.max_memory", i64::from(self.memory_mb) * 1024 * 1024),
        ];
        if let Some(stream) = &self.log_stream {
            attributes.push(KeyValue::new("faas.instance", stream.clone()));
        }
        for (key, value) in &self.settings.resource_attributes {
            attributes.push(KeyValue::new(key.clone(), value.clone()));
        }
        Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(attributes)
            .with_service_name(self.resolved_service_name())
            .build()
    }

    /// The `tracing` layer, whose buffered spans the runtime's loop flushes after each
    /// answer. Settings that could not be used are reported on stderr (logging may not be up
    /// yet) and their defaults taken.
    pub fn tracing_layer(self) -> Result<OtelTracingLayer, OtelError> {
        for note in &self.settings.notes {
            eprintln!("lambda-kit: OpenTelemetry: {note}");
        }
        let endpoint = self.settings.traces_endpoint.clone();
        let uri: http::Uri =
            endpoint
                .parse()
                .map_err(|error: http::uri::InvalidUri| OtelError::Endpoint {
                    endpoint: endpoint.clone(),
                    reason: error.to_string(),
                })?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(OtelError::Endpoint {
                endpoint,
                reason: "the exporter speaks plain HTTP to a host".into(),
            });
        }
        let headers: HashMap<String, String> = self.settings.headers.iter().cloned().collect();
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_protocol(match self.settings.protocol {
                OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
                OtlpProtocol::HttpJson => Protocol::HttpJson,
            })
            .with_headers(headers)
            .with_timeout(self.settings.flush_timeout)
            // One attempt: the flush is bounded, and a retry would wait inside the bound.
            .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
            .build()
            .map_err(|error| OtelError::Exporter(error.to_string()))?;
        let resource = self.resource();
        exporter.set_resource(&resource);
        let buffer = Arc::new(SpanBuffer::default());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(BufferingProcessor(Arc::clone(&buffer)))
            .with_sampler(self.settings.sampler.clone())
            .with_resource(resource)
            .build();
        let scope = opentelemetry::InstrumentationScope::builder("lambda-kit")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = provider.tracer_with_scope(scope);
        let flush = FlushHandle::new(Arc::new(Exporting::new(
            buffer,
            exporter,
            self.settings.flush_timeout,
        )));
        crate::telemetry::event::want_event_facts();
        crate::telemetry::spans_carry_trace_ids();
        Ok(OtelTracingLayer {
            tracer,
            flush,
            function_name: self.function_name,
            function_version: self.function_version,
            propagators: self.settings.propagators.into(),
            event_level: self.settings.event_level,
        })
    }
}

/// Writes `traceparent` (and `tracestate`) and `X-Amzn-Trace-Id` for a downstream call made
/// inside the current span, so that the callee joins this trace whether it reads W3C or
/// X-Ray headers. Returns whether there was a trace to pass on: not outside an invocation,
/// without the OpenTelemetry layer, or when the subscriber is not built on
/// `tracing_subscriber::Registry`.
pub fn inject(headers: &mut http::HeaderMap) -> bool {
    let Some(context) = current_span_context() else {
        return false;
    };
    let mut insert = |name: &'static str, value: String| {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    };
    insert("traceparent", propagation::to_traceparent(&context));
    let state = context.trace_state().header();
    if !state.is_empty() {
        insert("tracestate", state);
    }
    insert("x-amzn-trace-id", propagation::to_xray(&context));
    true
}

/// The trace id and span id (hex) of the current span, as log lines carry them: `None`
/// outside a traced invocation.
pub fn current_ids() -> Option<(String, String)> {
    let context = current_span_context()?;
    Some((
        context.trace_id().to_string(),
        context.span_id().to_string(),
    ))
}

/// The OpenTelemetry span context of the innermost traced span around the current one.
fn current_span_context() -> Option<opentelemetry::trace::SpanContext> {
    crate::telemetry::find_in_current_scope(|extensions| {
        let otel = extensions.get::<OtelSpan>()?;
        let context = otel.context.span().span_context().clone();
        context.is_valid().then_some(context)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otel(vars: &[(&str, &str)]) -> Otel {
        Otel::from_lookup(&Config::local_defaults(), settings::tests::lookup_in(vars))
    }

    #[test]
    fn an_endpoint_the_exporter_cannot_reach_is_refused_with_the_reason() {
        for endpoint in [
            "https://api.example.com/v1/traces",
            "localhost:4318",
            "not a url",
        ] {
            let error = otel(&[])
                .traces_endpoint(endpoint)
                .tracing_layer()
                .expect_err(endpoint);
            assert!(
                matches!(error, OtelError::Endpoint { .. }),
                "{endpoint}: {error}"
            );
            assert!(error.to_string().contains(endpoint), "{error}");
        }
    }

    #[test]
    fn the_service_name_comes_from_otel_then_powertools_then_the_function() {
        let name = |vars: &[(&str, &str)]| otel(vars).resolved_service_name();
        assert_eq!(name(&[]), Config::local_defaults().function_name());
        assert_eq!(name(&[("POWERTOOLS_SERVICE_NAME", "pay")]), "pay");
        assert_eq!(
            name(&[
                ("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr"),
                ("POWERTOOLS_SERVICE_NAME", "pay")
            ]),
            "attr"
        );
        assert_eq!(
            name(&[
                ("OTEL_SERVICE_NAME", "otel"),
                ("POWERTOOLS_SERVICE_NAME", "pay")
            ]),
            "otel"
        );
    }
}
