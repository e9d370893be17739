//! CloudWatch metrics in Embedded Metric Format: one JSON line per flush, which CloudWatch
//! Logs turns into metrics with no API call.
//!
//! ```
//! use lambda_kit::metrics::{self, Unit};
//!
//! async fn charge(amount_cents: u64) -> Result<(), metrics::MetricsError> {
//!     metrics::add_dimension("payment_method", "card")?;
//!     metrics::add("Charges", Unit::Count, 1.0)?;
//!     metrics::add("ChargedCents", Unit::None, amount_cents as f64)?;
//!     Ok(())
//! }
//! ```
//!
//! Metrics belong to the invocation they are added in, and are written when it ends
//! (also when it fails), or earlier when a document reaches EMF's limits:
//! - 100 metrics;
//! - 100 values per metric;
//! - 1 MB.
//!
//! The namespace comes from `POWERTOOLS_METRICS_NAMESPACE` or [`Metrics::namespace`].
//! Without one, metrics go to [`DEFAULT_NAMESPACE`], with one warning per process (as
//! Powertools for TypeScript does): a missing setting never turns a successful invocation
//! into a failure. The `ColdStart` count is written only under a namespace you chose. Every
//! document has the dimension `service` (`POWERTOOLS_SERVICE_NAME`). The first invocation
//! of an environment also writes a `ColdStart` count of its own, dimensioned by
//! `function_name` and `service`. Adding a metric outside an invocation (in init, or in a
//! task spawned by the handler) is [`MetricsError::NotInInvocation`].

mod set;
mod unit;

/// The namespace of metrics added with no namespace configured, as Powertools for
/// TypeScript names it.
pub const DEFAULT_NAMESPACE: &str = "default_namespace";

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

pub use unit::{Resolution, Unit, UnknownUnit};

use self::set::{MAX_DIMENSIONS, MetricSet, cold_start_document};
use crate::config::Config;

/// A metric could not be recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// The metric's name cannot be used.
    #[error("metric name {name:?} is invalid: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// What a valid name looks like.
        reason: &'static str,
    },
    /// The value is NaN or infinite.
    #[error("metric {name:?} got {value}, expected a finite number")]
    InvalidValue {
        /// The metric.
        name: String,
        /// The value.
        value: f64,
    },
    /// The metric was already recorded with another unit or resolution in this invocation.
    #[error(
        "metric {name:?} was recorded as {unit} at {resolution:?} resolution in this invocation; use one unit and resolution per metric"
    )]
    Conflict {
        /// The metric.
        name: String,
        /// The unit it has.
        unit: Unit,
        /// The resolution it has.
        resolution: Resolution,
    },
    /// The dimension's key or value cannot be used.
    #[error("dimension {key:?} is invalid: {reason}")]
    InvalidDimension {
        /// The key.
        key: String,
        /// What a valid dimension looks like.
        reason: &'static str,
    },
    /// A document may have at most 30 dimensions.
    #[error("a metrics document may have at most {limit} dimensions")]
    TooManyDimensions {
        /// The limit.
        limit: usize,
    },
    /// The name is already a member of the document as something else: every metric,
    /// dimension and metadata key is a top-level member of one EMF document, beside `_aws`,
    /// so two of them under one name would make a document CloudWatch cannot read (and
    /// its metrics would be lost without a word).
    #[error(
        "{kind} {name:?} would collide with {taken_by} of that name in the metrics document; use another name"
    )]
    NameCollision {
        /// What was being added: `metric`, `dimension` or `metadata`.
        kind: &'static str,
        /// The name.
        name: String,
        /// What holds the name already: `a metric`, `a dimension`, `metadata` or `the EMF
        /// directive`.
        taken_by: &'static str,
    },
    /// Metrics can only be added while an invocation runs.
    #[error("metrics can only be added inside an invocation (not in init or in a spawned task)")]
    NotInInvocation,
}

/// Where EMF lines go.
#[derive(Clone)]
enum Sink {
    Stdout,
    Stderr,
    Custom(Arc<dyn Fn(&str) + Send + Sync>),
}

/// Metrics settings; every setting starts from the environment.
#[derive(Clone)]
pub struct Metrics {
    namespace: Option<String>,
    service: String,
    function_name: String,
    default_dimensions: Vec<(String, String)>,
    cold_start_metric: bool,
    sink: Sink,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .field("default_dimensions", &self.default_dimensions)
            .field("cold_start_metric", &self.cold_start_metric)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Settings from the process environment and `config`.
    pub fn from_env(config: &Config) -> Self {
        Self::from_lookup(config, |name| std::env::var(name).ok())
    }

    /// Settings from `config` and the variables `lookup` returns (tests pass a map).
    pub fn from_lookup(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let service = config.service_name().to_owned();
        Metrics {
            namespace: lookup("POWERTOOLS_METRICS_NAMESPACE").filter(|ns| !ns.trim().is_empty()),
            default_dimensions: vec![("service".into(), service.clone())],
            service,
            function_name: config.function_name().to_owned(),
            cold_start_metric: true,
            sink: Sink::Stdout,
        }
    }

    /// Sets the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Adds a dimension to every document (replacing one of the same key).
    pub fn default_dimension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.default_dimensions
            .retain(|(existing, _)| *existing != key);
        self.default_dimensions.push((key, value.into()));
        self.default_dimensions.truncate(MAX_DIMENSIONS);
        self
    }

    /// Turns the `ColdStart` metric on or off (on by default).
    pub fn cold_start_metric(mut self, enabled: bool) -> Self {
        self.cold_start_metric = enabled;
        self
    }

    /// Sends each EMF line (with its newline) to `sink` instead of stdout.
    pub fn sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.sink = Sink::Custom(Arc::new(sink));
        self
    }

    /// Writes to stderr: outside Lambda, stdout is the invocation's answer.
    pub(crate) fn writing_to_stderr(mut self) -> Self {
        if matches!(self.sink, Sink::Stdout) {
            self.sink = Sink::Stderr;
        }
        self
    }

    /// The namespace for the metrics an invocation adds: the configured one, or
    /// [`DEFAULT_NAMESPACE`] (warned about once per process).
    pub(crate) fn namespace_name(&self) -> &str {
        match self.namespace.as_deref() {
            Some(namespace) => namespace,
            None => {
                static WARNED: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(
                        namespace = DEFAULT_NAMESPACE,
                        "no metrics namespace is set (POWERTOOLS_METRICS_NAMESPACE or \
                         Metrics::namespace); metrics go to the default namespace"
                    );
                }
                DEFAULT_NAMESPACE
            }
        }
    }

    fn write(&self, line: &str) {
        // Metrics must never fail the invocation; a closed stream loses them.
        match &self.sink {
            Sink::Stdout => drop(std::io::stdout().lock().write_all(line.as_bytes())),
            Sink::Stderr => drop(std::io::stderr().lock().write_all(line.as_bytes())),
            Sink::Custom(sink) => sink(line),
        }
    }

    /// Runs `invocation` with its own metric set, writing what it recorded when it ends.
    /// The settings are shared, not copied: this runs for every invocation.
    pub(crate) async fn scope<F: Future>(
        self: Arc<Self>,
        cold_start: bool,
        invocation: F,
    ) -> F::Output {
        let current = Current {
            config: Arc::clone(&self),
            set: RefCell::new(MetricSet::default()),
        };
        CURRENT
            .scope(current, async move {
                if cold_start && self.cold_start_metric {
                    // Only under a namespace the user chose: a function that uses no
                    // metrics would otherwise pay for a custom metric it never asked for.
                    if let Some(namespace) = self.namespace.as_deref() {
                        self.write(&cold_start_document(
                            namespace,
                            &self.function_name,
                            &self.service,
                        ));
                    }
                }
                let output = invocation.await;
                let _ = CURRENT.try_with(|current| {
                    let document = current.set.borrow_mut().flush(&current.config);
                    if let Some(document) = document {
                        current.config.write(&document);
                    }
                });
                output
            })
            .await
    }
}

impl Metrics {
    pub(crate) fn default_dimensions(&self) -> &[(String, String)] {
        &self.default_dimensions
    }
}

struct Current {
    config: Arc<Metrics>,
    set: RefCell<MetricSet>,
}

tokio::task_local! {
    static CURRENT: Current;
}

fn with_current<T>(f: impl FnOnce(&Current) -> Result<T, MetricsError>) -> Result<T, MetricsError> {
    CURRENT
        .try_with(f)
        .unwrap_or(Err(MetricsError::NotInInvocation))
}

fn record(name: &str, unit: Unit, resolution: Resolution, value: f64) -> Result<(), MetricsError> {
    with_current(|current| {
        let flushed =
            current
                .set
                .borrow_mut()
                .add(&current.config, name, unit, resolution, value)?;
        if let Some(document) = flushed {
            current.config.write(&document);
        }
        Ok(())
    })
}

/// Records `value` for the metric `name` in the current invocation.
///
/// ```
/// use lambda_kit::metrics::{self, Unit};
///
/// # fn charge() -> Result<(), lambda_kit::metrics::MetricsError> {
/// // Inside a handler: written with the invocation's other metrics, as one EMF line.
/// metrics::add("Charges", Unit::Count, 1.0)?;
/// # Ok(())
/// # }
/// ```
pub fn add(name: &str, unit: Unit, value: f64) -> Result<(), MetricsError> {
    record(name, unit, Resolution::Standard, value)
}

/// Records `value` for the high-resolution (one-second) metric `name`.
pub fn add_high_resolution(name: &str, unit: Unit, value: f64) -> Result<(), MetricsError> {
    record(name, unit, Resolution::High, value)
}

/// Adds a dimension to the current invocation's metrics.
pub fn add_dimension(key: &str, value: &str) -> Result<(), MetricsError> {
    with_current(|current| {
        current
            .set
            .borrow_mut()
            .add_dimension(&current.config, key, value)
    })
}

/// Adds an unindexed member (searchable in CloudWatch Logs) to the current invocation's
/// metrics documents.
pub fn add_metadata(key: &str, value: impl Into<Value>) -> Result<(), MetricsError> {
    let value = value.into();
    with_current(|current| {
        current
            .set
            .borrow_mut()
            .add_metadata(&current.config, key, value)
    })
}
