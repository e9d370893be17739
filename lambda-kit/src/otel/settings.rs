//! The standard OpenTelemetry environment, read once: where to export, how, and what the
//! resource, sampler and propagators are. Problems are collected as notes (printed when
//! the layer is built) and the documented default is used instead, as the OpenTelemetry
//! specification asks of SDKs.

use std::time::Duration;

use opentelemetry_sdk::trace::Sampler;
use percent_encoding::percent_decode_str;
use tracing::Level;

/// The endpoint collector extensions (the ADOT layer, any OTel collector layer) listen on.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// How long a flush may take when nothing says otherwise: small, because it is time the
/// environment is billed for before it asks for the next invocation.
pub(crate) const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_millis(200);

/// The OTLP encoding of the export requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf` (the default).
    #[default]
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

/// Where an invocation's parent trace context is read from (`OTEL_PROPAGATORS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagator {
    /// W3C `traceparent` and `tracestate`, from an HTTP event's headers or an SQS or SNS
    /// message's attributes (`tracecontext`).
    TraceContext,
    /// The X-Ray header Lambda passes with the invocation (`xray`, or `xray-lambda`).
    XRay,
}

/// Settings read from the environment, before the builder's methods change them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Whether the environment asks for export (an OTLP endpoint is set and the SDK is not
    /// disabled).
    pub(crate) enabled: bool,
    /// The full traces URL.
    pub(crate) traces_endpoint: String,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: Vec<(String, String)>,
    /// `OTEL_SERVICE_NAME`.
    pub(crate) service_name: Option<String>,
    /// `POWERTOOLS_SERVICE_NAME`, used when neither `OTEL_SERVICE_NAME` nor a `service.name`
    /// resource attribute names the service.
    pub(crate) powertools_service_name: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) sampler: Sampler,
    pub(crate) propagators: Vec<Propagator>,
    pub(crate) flush_timeout: Duration,
    pub(crate) event_level: Level,
    /// What could not be used, each with what is used instead.
    pub(crate) notes: Vec<String>,
}

impl Settings {
    pub(crate) fn read(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut notes = Vec::new();
        let traces = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let general = lookup("OTEL_EXPORTER_OTLP_ENDPOINT");
        let disabled = lookup("OTEL_SDK_DISABLED").is_some_and(|value| is_true(&value));
        let enabled = !disabled && (traces.is_some() || general.is_some());
        // The signal's own variable is the URL as it is; the general one is a base that
        // `/v1/traces` is appended to (the OTLP exporter specification).
        let traces_endpoint =
            traces.unwrap_or_else(|| traces_url(general.as_deref().unwrap_or(DEFAULT_ENDPOINT)));
        let protocol = lookup("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| lookup("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .map_or(OtlpProtocol::HttpProtobuf, |value| match value.trim() {
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "http/json" => OtlpProtocol::HttpJson,
                other => {
                    notes.push(format!(
                        "OTLP protocol {other:?} is not supported (grpc needs a gRPC client; \
                         collector extensions also listen for http/protobuf on port 4318); \
                         using http/protobuf"
                    ));
                    OtlpProtocol::HttpProtobuf
                }
            });
        let mut headers = lookup("OTEL_EXPORTER_OTLP_HEADERS")
            .map(|value| key_values(&value))
            .unwrap_or_default();
        for (name, value) in lookup("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .map(|value| key_values(&value))
            .unwrap_or_default()
        {
            set(&mut headers, name, value);
        }
        let service_name = lookup("OTEL_SERVICE_NAME");
        let powertools_service_name = lookup("POWERTOOLS_SERVICE_NAME");
        let resource_attributes = lookup("OTEL_RESOURCE_ATTRIBUTES")
            .map(|value| key_values(&value))
            .unwrap_or_default();
        let sampler = sampler(
            lookup("OTEL_TRACES_SAMPLER").as_deref(),
            lookup("OTEL_TRACES_SAMPLER_ARG").as_deref(),
            &mut notes,
        );
        let propagators = propagators(lookup("OTEL_PROPAGATORS").as_deref(), &mut notes);
        let flush_timeout = lookup("OTEL_BSP_EXPORT_TIMEOUT").map_or(DEFAULT_FLUSH_TIMEOUT, |ms| {
            match ms.trim().parse::<u64>() {
                Ok(ms) => Duration::from_millis(ms),
                Err(_) => {
                    notes.push(format!(
                        "OTEL_BSP_EXPORT_TIMEOUT={ms:?} is not a number of milliseconds; using {} ms",
                        DEFAULT_FLUSH_TIMEOUT.as_millis()
                    ));
                    DEFAULT_FLUSH_TIMEOUT
                }
            }
        });
        let event_level = lookup("LAMBDA_KIT_OTEL_EVENT_LEVEL").map_or(Level::INFO, |value| {
            value.trim().parse::<Level>().unwrap_or_else(|_| {
                notes.push(format!(
                    "LAMBDA_KIT_OTEL_EVENT_LEVEL={value:?} is not a level; using info"
                ));
                Level::INFO
            })
        });
        Settings {
            enabled,
            traces_endpoint,
            protocol,
            headers,
            service_name,
            powertools_service_name,
            resource_attributes,
            sampler,
            propagators,
            flush_timeout,
            event_level,
            notes,
        }
    }
}

/// `base` with `/v1/traces` appended (one slash between them).
pub(crate) fn traces_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim().trim_end_matches('/'))
}

fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

/// `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage form the OTel
/// variables use); entries without `=` are skipped.
fn key_values(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for entry in text.split(',') {
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        let value = percent_decode_str(value.trim())
            .decode_utf8_lossy()
            .into_owned();
        set(&mut pairs, key.to_owned(), value);
    }
    pairs
}

/// Sets `key`, replacing an earlier value.
pub(crate) fn set(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    match pairs.iter_mut().find(|(existing, _)| *existing == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key, value)),
    }
}

/// `OTEL_TRACES_SAMPLER` and its argument; the default is `parentbased_always_on`, which
/// follows the caller's (for Lambda: X-Ray's) decision.
fn sampler(name: Option<&str>, argument: Option<&str>, notes: &mut Vec<String>) -> Sampler {
    let default = || Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
    let mut ratio = || match argument.map(|arg| arg.trim().parse::<f64>()) {
        None => 1.0,
        Some(Ok(ratio)) if (0.0..=1.0).contains(&ratio) => ratio,
        Some(_) => {
            notes.push(format!(
                "OTEL_TRACES_SAMPLER_ARG={:?} is not a ratio from 0 to 1; using 1.0",
                argument.unwrap_or_default()
            ));
            1.0
        }
    };
    match name.map(str::trim) {
        None | Some("parentbased_always_on") => default(),
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::TraceIdRatioBased(ratio()),
        Some("parentbased_always_off") => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        Some("parentbased_traceidratio") => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio())))
        }
        Some(other) => {
            notes.push(format!(
                "OTEL_TRACES_SAMPLER={other:?} is not a sampler lambda-kit knows; using parentbased_always_on"
            ));
            default()
        }
    }
}

/// `OTEL_PROPAGATORS`: where parents come from. Unset, only the X-Ray header Lambda passes
/// is read.
fn propagators(text: Option<&str>, notes: &mut Vec<String>) -> Vec<Propagator> {
    let Some(text) = text else {
        return vec![Propagator::XRay];
    };
    let mut chosen = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let propagator = match name {
            "tracecontext" => Propagator::TraceContext,
            "xray" | "xray-lambda" => Propagator::XRay,
            "none" => return Vec::new(),
            // Baggage carries no parent; nothing of lambda-kit reads it.
            "baggage" => continue,
            other => {
                notes.push(format!(
                    "OTEL_PROPAGATORS names {other:?}, which lambda-kit does not read; it is skipped"
                ));
                continue;
            }
        };
        if !chosen.contains(&propagator) {
            chosen.push(propagator);
        }
    }
    chosen
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A lookup of exactly these variables.
    pub(crate) fn lookup_in(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn read(vars: &[(&str, &str)]) -> Settings {
        Settings::read(lookup_in(vars))
    }

    #[test]
    fn nothing_set_is_off_with_the_documented_defaults() {
        let settings = read(&[]);
        assert!(!settings.enabled);
        assert_eq!(settings.traces_endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(settings.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(settings.propagators, [Propagator::XRay]);
        assert_eq!(settings.flush_timeout, DEFAULT_FLUSH_TIMEOUT);
        assert_eq!(settings.event_level, Level::INFO);
        assert!(matches!(settings.sampler, Sampler::ParentBased(_)));
        assert!(settings.notes.is_empty());
    }

    #[test]
    fn an_endpoint_turns_it_on_and_the_signal_variable_is_taken_as_it_is() {
        let general = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]);
        assert!(general.enabled);
        assert_eq!(general.traces_endpoint, "http://127.0.0.1:4318/v1/traces");
        let signal = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:2/custom"),
        ]);
        assert_eq!(signal.traces_endpoint, "http://b:2/custom");
        let disabled = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ]);
        assert!(!disabled.enabled);
    }

    #[test]
    fn headers_resource_attributes_and_names_are_read() {
        let settings = read(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-team=a%20b, api-key=1,broken",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=2"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,team=pay%2Cments",
            ),
            ("POWERTOOLS_SERVICE_NAME", "payments"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("LAMBDA_KIT_OTEL_EVENT_LEVEL", "warn"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "50"),
        ]);
        assert_eq!(
            settings.headers,
            [
                ("x-team".into(), "a b".into()),
                ("api-key".into(), "2".into())
            ]
        );
        assert_eq!(
            settings.resource_attributes,
            [
                ("deployment.environment".into(), "prod".into()),
                ("team".into(), "pay,ments".into())
            ]
        );
        assert_eq!(settings.service_name, None);
        assert_eq!(
            settings.powertools_service_name.as_deref(),
            Some("payments")
        );
        assert_eq!(settings.protocol, OtlpProtocol::HttpJson);
        assert_eq!(settings.event_level, Level::WARN);
        assert_eq!(settings.flush_timeout, Duration::from_millis(50));
        let named = read(&[
            ("OTEL_SERVICE_NAME", "orders"),
            ("POWERTOOLS_SERVICE_NAME", "x"),
        ]);
        assert_eq!(named.service_name.as_deref(), Some("orders"));
    }

    #[test]
    fn samplers_and_propagators_follow_the_specification_names() {
        let ratio = read(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        let described = format!("{:?}", ratio.sampler);
        assert!(described.starts_with("ParentBased"), "{described}");
        assert!(described.contains("TraceIdRatioBased(0.25)"), "{described}");
        assert!(matches!(
            read(&[("OTEL_TRACES_SAMPLER", "always_off")]).sampler,
            Sampler::AlwaysOff
        ));
        let propagators = read(&[("OTEL_PROPAGATORS", "tracecontext,baggage,xray-lambda")]);
        assert_eq!(
            propagators.propagators,
            [Propagator::TraceContext, Propagator::XRay]
        );
        assert!(propagators.notes.is_empty());
        assert!(read(&[("OTEL_PROPAGATORS", "none")]).propagators.is_empty());
    }

    #[test]
    fn what_cannot_be_used_is_noted_and_the_default_taken() {
        let settings = read(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_TRACES_SAMPLER", "xray"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
            ("LAMBDA_KIT_OTEL_EVENT_LEVEL", "loud"),
        ]);
        assert_eq!(settings.protocol, OtlpProtocol::HttpProtobuf);
        assert!(matches!(settings.sampler, Sampler::ParentBased(_)));
        assert!(settings.propagators.is_empty());
        assert_eq!(settings.flush_timeout, DEFAULT_FLUSH_TIMEOUT);
        assert_eq!(settings.notes.len(), 5, "{:?}", settings.notes);
    }
}
