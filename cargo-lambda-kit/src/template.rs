//! The functions of a SAM template that HTTP reaches, read as `sam local start-api` reads
//! them: each `AWS::Serverless::Function` with its `Api` events (REST API routes), its
//! `HttpApi` events (HTTP API routes) and its `FunctionUrlConfig`; the binary it is built
//! from (`Metadata.BuildProperties.Binary`, as cargo-lambda's build method names it) and
//! its code folder (`CodeUri`, relative to the template).

use std::path::{Path, PathBuf};

use serde_norway::Value;

/// A function that HTTP reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its logical id in the template.
    pub name: String,
    /// The binary target it is built from.
    pub binary: String,
    /// The folder of the package that has the binary.
    pub code_dir: PathBuf,
    /// `METHOD /path` of each `Api` event (REST API).
    pub rest_routes: Vec<String>,
    /// `METHOD /path` of each `HttpApi` event (HTTP API).
    pub http_routes: Vec<String>,
    /// Whether it has a function URL.
    pub function_url: bool,
}

/// Why a template cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("cannot read the template {path}: {source}")]
    Read {
        /// The template's path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not YAML (or JSON).
    #[error("the template {path} is not YAML: {source}")]
    Parse {
        /// The template's path.
        path: PathBuf,
        /// Where and why.
        source: serde_norway::Error,
    },
    /// A function's event has a shape that cannot be routed.
    #[error("{function}: {problem}")]
    Event {
        /// The function's logical id.
        function: String,
        /// What is wrong with the event.
        problem: String,
    },
}

/// Reads the functions HTTP reaches from the template at `path`, in the template's order.
pub fn read(path: &Path) -> Result<Vec<Function>, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
        path: path.to_owned(),
        source,
    })?;
    let template: Value = serde_norway::from_str(&text).map_err(|source| TemplateError::Parse {
        path: path.to_owned(),
        source,
    })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let globals = template
        .get("Globals")
        .and_then(|globals| globals.get("Function"));
    let mut functions = Vec::new();
    let resources = template.get("Resources").and_then(Value::as_mapping);
    for (name, resource) in resources.into_iter().flatten() {
        let (Some(name), Some("AWS::Serverless::Function")) =
            (name.as_str(), resource.get("Type").and_then(Value::as_str))
        else {
            continue;
        };
        let properties = resource.get("Properties");
        let property = |key: &str| {
            properties
                .and_then(|properties| properties.get(key))
                .or_else(|| globals.and_then(|globals| globals.get(key)))
        };
        let mut function = Function {
            name: name.to_owned(),
            binary: resource
                .get("Metadata")
                .and_then(|metadata| metadata.get("BuildProperties"))
                .and_then(|build| build.get("Binary"))
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned(),
            code_dir: folder.join(property("CodeUri").and_then(Value::as_str).unwrap_or(".")),
            rest_routes: Vec::new(),
            http_routes: Vec::new(),
            function_url: property("FunctionUrlConfig").is_some(),
        };
        let events = property("Events").and_then(Value::as_mapping);
        for event in events.into_iter().flatten().map(|(_, event)| event) {
            let kind = event.get("Type").and_then(Value::as_str);
            let event_properties = event.get("Properties");
            let route = |problem: &str| -> Result<String, TemplateError> {
                route_of(event_properties).map_err(|detail| TemplateError::Event {
                    function: name.to_owned(),
                    problem: format!("{problem}: {detail}"),
                })
            };
            match kind {
                Some("Api") => function.rest_routes.push(route("an Api event")?),
                Some("HttpApi") => function.http_routes.push(route("an HttpApi event")?),
                _ => {}
            }
        }
        let reached = !function.rest_routes.is_empty()
            || !function.http_routes.is_empty()
            || function.function_url;
        if reached {
            functions.push(function);
        }
    }
    Ok(functions)
}

/// `METHOD /path` of an event's `Method` and `Path`: an `HttpApi` event without them is
/// the API's default route, which takes every path and method.
fn route_of(properties: Option<&Value>) -> Result<String, String> {
    let get = |key: &str| properties.and_then(|properties| properties.get(key));
    let method = match get("Method") {
        None => "ANY".to_owned(),
        Some(method) => method
            .as_str()
            .ok_or("its Method is not a string")?
            .to_ascii_uppercase(),
    };
    let method = if method == "*" {
        "ANY".to_owned()
    } else {
        method
    };
    let path = match get("Path") {
        None => "/{proxy+}",
        Some(path) => path.as_str().ok_or("its Path is not a string")?,
    };
    Ok(format!("{method} {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_template_is_read_as_sam_reads_it() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/template.yaml");
        let functions = read(&path).expect("the examples' template reads");
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["HttpApiFunction", "SseFunction"]);
        let api = &functions[0];
        assert_eq!(api.binary, "http-api");
        assert!(api.code_dir.ends_with("http"));
        assert_eq!(api.http_routes, ["ANY /{proxy+}"]);
        assert!(api.function_url);
        assert!(functions[1].function_url && functions[1].http_routes.is_empty());
    }
}
