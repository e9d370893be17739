//! One invocation's metrics, and their rendering as EMF documents.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::unit::{Resolution, Unit};
use super::{Metrics, MetricsError};

/// Metric definitions per document.
pub(crate) const MAX_METRICS: usize = 100;
/// Values per metric per document.
pub(crate) const MAX_VALUES: usize = 100;
/// Keys per dimension set.
pub(crate) const MAX_DIMENSIONS: usize = 30;
/// Bytes per document.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 1_000_000;
const MAX_NAME_CHARS: usize = 1024;
const MAX_DIMENSION_KEY_CHARS: usize = 250;
const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// The kinds of top-level member a document holds besides `_aws`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Metric,
    Dimension,
    Metadata,
}

struct Metric {
    name: String,
    unit: Unit,
    resolution: Resolution,
    values: Vec<f64>,
}

/// What an invocation recorded since the last flush.
#[derive(Default)]
pub(crate) struct MetricSet {
    metrics: Vec<Metric>,
    dimensions: Vec<(String, String)>,
    metadata: Map<String, Value>,
}

impl MetricSet {
    /// Records a value; returns a document to write first when a limit was reached.
    pub(crate) fn add(
        &mut self,
        config: &Metrics,
        name: &str,
        unit: Unit,
        resolution: Resolution,
        value: f64,
    ) -> Result<Option<String>, MetricsError> {
        check_name(name)?;
        self.check_free(config, "metric", name, Member::Metric)?;
        if !value.is_finite() {
            return Err(MetricsError::InvalidValue {
                name: name.to_owned(),
                value,
            });
        }
        let mut flushed = None;
        let existing = self.metrics.iter().position(|metric| metric.name == name);
        match existing {
            Some(index) => {
                let metric = &self.metrics[index];
                if metric.unit != unit || metric.resolution != resolution {
                    return Err(MetricsError::Conflict {
                        name: name.to_owned(),
                        unit: metric.unit,
                        resolution: metric.resolution,
                    });
                }
                if metric.values.len() >= MAX_VALUES {
                    flushed = self.flush(config);
                }
            }
            None if self.metrics.len() >= MAX_METRICS => flushed = self.flush(config),
            None => {}
        }
        match self.metrics.iter_mut().find(|metric| metric.name == name) {
            Some(metric) => metric.values.push(value),
            None => self.metrics.push(Metric {
                name: name.to_owned(),
                unit,
                resolution,
                values: vec![value],
            }),
        }
        Ok(flushed)
    }

    /// Adds a dimension to this invocation's documents.
    pub(crate) fn add_dimension(
        &mut self,
        config: &Metrics,
        key: &str,
        value: &str,
    ) -> Result<(), MetricsError> {
        let invalid = |reason| MetricsError::InvalidDimension {
            key: key.to_owned(),
            reason,
        };
        if key.is_empty() || key.chars().count() > MAX_DIMENSION_KEY_CHARS || key.starts_with(':') {
            return Err(invalid(
                "keys are 1 to 250 characters and do not start with ':'",
            ));
        }
        if value.trim().is_empty() || value.chars().count() > MAX_DIMENSION_VALUE_CHARS {
            return Err(invalid(
                "values are 1 to 1024 characters, not only white space",
            ));
        }
        self.check_free(config, "dimension", key, Member::Dimension)?;
        let present = self
            .dimensions
            .iter()
            .position(|(existing, _)| existing == key);
        let defaults = config
            .default_dimensions()
            .iter()
            .filter(|(k, _)| k != key)
            .count();
        if present.is_none() && defaults + self.dimensions.len() >= MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions {
                limit: MAX_DIMENSIONS,
            });
        }
        match present {
            Some(index) => self.dimensions[index].1 = value.to_owned(),
            None => self.dimensions.push((key.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// Adds an unindexed member to this invocation's documents.
    pub(crate) fn add_metadata(
        &mut self,
        config: &Metrics,
        key: &str,
        value: Value,
    ) -> Result<(), MetricsError> {
        if key.is_empty() {
            return Err(MetricsError::InvalidName {
                name: String::new(),
                reason: "metadata keys are not empty",
            });
        }
        self.check_free(config, "metadata", key, Member::Metadata)?;
        self.metadata.insert(key.to_owned(), value);
        Ok(())
    }

    /// Refuses `name` for a new member of kind `adding` when the document already holds it
    /// as a member of another kind (the same kind may repeat: that updates it).
    fn check_free(
        &self,
        config: &Metrics,
        kind: &'static str,
        name: &str,
        adding: Member,
    ) -> Result<(), MetricsError> {
        let collision = |taken_by| MetricsError::NameCollision {
            kind,
            name: name.to_owned(),
            taken_by,
        };
        if name == "_aws" {
            return Err(collision("the EMF directive"));
        }
        let is_metric = self.metrics.iter().any(|metric| metric.name == name);
        let is_dimension = self.dimensions.iter().any(|(key, _)| key == name)
            || config
                .default_dimensions()
                .iter()
                .any(|(key, _)| key == name);
        let is_metadata = self.metadata.contains_key(name);
        match adding {
            _ if is_metric && adding != Member::Metric => Err(collision("a metric")),
            _ if is_dimension && adding != Member::Dimension => Err(collision("a dimension")),
            _ if is_metadata && adding != Member::Metadata => Err(collision("metadata")),
            _ => Ok(()),
        }
    }

    /// The EMF document for everything recorded, emptying the metrics; `None` if there
    /// were none. Dimensions and metadata stay for the rest of the invocation.
    pub(crate) fn flush(&mut self, config: &Metrics) -> Option<String> {
        if self.metrics.is_empty() {
            return None;
        }
        let metrics = std::mem::take(&mut self.metrics);
        let namespace = config.namespace_name();
        let mut dimensions: Vec<(String, String)> = config
            .default_dimensions()
            .iter()
            .filter(|(key, _)| !self.dimensions.iter().any(|(own, _)| own == key))
            .cloned()
            .collect();
        dimensions.extend(self.dimensions.iter().cloned());
        let document = render(namespace, &dimensions, &metrics, &self.metadata);
        if document.len() <= MAX_DOCUMENT_BYTES {
            return Some(document);
        }
        // Only metadata can grow a document this far; it is the part to give up.
        Some(render(namespace, &dimensions, &metrics, &Map::new()))
    }
}

/// The document for a single `ColdStart` count, dimensioned by function and service.
pub(crate) fn cold_start_document(namespace: &str, function_name: &str, service: &str) -> String {
    let dimensions = [
        ("function_name".to_owned(), function_name.to_owned()),
        ("service".to_owned(), service.to_owned()),
    ];
    let metric = Metric {
        name: "ColdStart".into(),
        unit: Unit::Count,
        resolution: Resolution::Standard,
        values: vec![1.0],
    };
    render(namespace, &dimensions, &[metric], &Map::new())
}

fn render(
    namespace: &str,
    dimensions: &[(String, String)],
    metrics: &[Metric],
    metadata: &Map<String, Value>,
) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let mut definition = json!({"Name": metric.name, "Unit": metric.unit.as_str()});
            if metric.resolution == Resolution::High {
                definition["StorageResolution"] = json!(metric.resolution.seconds());
            }
            definition
        })
        .collect();
    let keys: Vec<&str> = dimensions.iter().map(|(key, _)| key.as_str()).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": epoch_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [keys],
                "Metrics": definitions,
            }],
        }),
    );
    for (key, value) in metadata {
        root.insert(key.clone(), value.clone());
    }
    for (key, value) in dimensions {
        root.insert(key.clone(), Value::from(value.as_str()));
    }
    for metric in metrics {
        let value = match metric.values.as_slice() {
            [single] => json!(single),
            several => json!(several),
        };
        root.insert(metric.name.clone(), value);
    }
    let mut line = Value::Object(root).to_string();
    line.push('\n');
    line
}

fn check_name(name: &str) -> Result<(), MetricsError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS || name == "_aws" {
        return Err(MetricsError::InvalidName {
            name: name.to_owned(),
            reason: "names are 1 to 1024 characters, not only white space, and not `_aws`",
        });
    }
    Ok(())
}

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or_default()
}
