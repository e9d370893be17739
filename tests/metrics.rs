//! EMF documents as CloudWatch would read them, from the real loop: structure, cold start,
//! flushing at the end of invocations and at the limits, and typed errors.

use std::sync::{Arc, Mutex};

use lambda_kit::metrics::{self, Metrics, MetricsError, Unit};
use lambda_kit::testing::FakeRuntimeApi;
use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde_json::{Value, json};

type Documents = Arc<Mutex<Vec<String>>>;

async fn serve<F, Fut>(namespace: Option<&str>, handler: F) -> (FakeRuntimeApi, Documents)
where
    F: FnMut(Value, Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    serve_with(&[], namespace, handler).await
}

async fn serve_with<F, Fut>(
    vars: &[(&str, &str)],
    namespace: Option<&str>,
    handler: F,
) -> (FakeRuntimeApi, Documents)
where
    F: FnMut(Value, Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    let api = FakeRuntimeApi::start().await.expect("starts");
    // The service name is read once, with the rest of the function's configuration.
    let mut vars = vars.to_vec();
    vars.push(("POWERTOOLS_SERVICE_NAME", "shop"));
    let config = tests::config_with(&api.address(), &vars);
    let documents = Documents::default();
    let sink = Arc::clone(&documents);
    let mut settings = Metrics::from_lookup(&config, |_| None)
        .sink(move |line| sink.lock().expect("lock").push(line.to_owned()));
    if let Some(namespace) = namespace {
        settings = settings.namespace(namespace);
    }
    let runtime = Runtime::from_config(config)
        .expect("runtime")
        .metrics(settings);
    tokio::spawn(runtime.run(handler_fn(handler)));
    (api, documents)
}

/// Parses every document, checking EMF's rules: one line, `_aws` with an integer
/// Timestamp, and every dimension and metric named by a directive present at the top
/// level with the right type.
fn emf(documents: &Documents) -> Vec<Value> {
    documents
        .lock()
        .expect("lock")
        .iter()
        .map(|line| {
            assert!(
                line.ends_with('\n') && line.matches('\n').count() == 1,
                "one line: {line}"
            );
            assert!(line.len() <= 1_000_000);
            let document: Value = serde_json::from_str(line).expect("JSON");
            assert!(document["_aws"]["Timestamp"].is_u64());
            for directive in document["_aws"]["CloudWatchMetrics"]
                .as_array()
                .expect("directives")
            {
                assert!(directive["Namespace"].is_string());
                let sets = directive["Dimensions"].as_array().expect("dimension sets");
                assert!(!sets.is_empty());
                for key in sets
                    .iter()
                    .flat_map(|set| set.as_array().expect("a set").iter())
                {
                    assert!(
                        document[key.as_str().expect("key")].is_string(),
                        "dimension {key} is a string member"
                    );
                }
                let definitions = directive["Metrics"].as_array().expect("metrics");
                assert!(definitions.len() <= 100);
                for definition in definitions {
                    let target = &document[definition["Name"].as_str().expect("name")];
                    let values = target
                        .as_array()
                        .cloned()
                        .unwrap_or_else(|| vec![target.clone()]);
                    assert!(
                        values.len() <= 100 && values.iter().all(Value::is_number),
                        "{definition}: {target}"
                    );
                }
            }
            document
        })
        .collect()
}

async fn charge(event: Value, _: Context) -> Result<Value, Error> {
    metrics::add_dimension("payment_method", "card")?;
    metrics::add("Charges", Unit::Count, 1.0)?;
    metrics::add("ChargedCents", Unit::None, 1250.0)?;
    metrics::add_high_resolution("Latency", Unit::Milliseconds, 12.5)?;
    metrics::add_metadata("order_id", "o-7")?;
    if event["fail"] == true {
        return Err(Error::new("Payment.Declined", "declined"));
    }
    Ok(Value::Null)
}

#[tokio::test]
async fn an_invocation_writes_one_document_and_the_first_a_cold_start() {
    let (api, documents) = serve(Some("Shop"), charge).await;
    let id = api.push(json!({}));
    api.answer(&id).await;
    let docs = emf(&documents);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let cold = &docs[0];
    assert_eq!(cold["ColdStart"], 1.0);
    assert_eq!(
        cold["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["function_name", "service"]])
    );
    assert_eq!(cold["service"], "shop");

    let document = &docs[1];
    let directive = &document["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Shop");
    assert_eq!(
        directive["Dimensions"],
        json!([["service", "payment_method"]])
    );
    assert_eq!(
        directive["Metrics"],
        json!([
            {"Name": "Charges", "Unit": "Count"},
            {"Name": "ChargedCents", "Unit": "None"},
            {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1},
        ])
    );
    assert_eq!(document["Charges"], 1.0);
    assert_eq!(document["payment_method"], "card");
    assert_eq!(document["order_id"], "o-7");

    let second = api.push(json!({}));
    api.answer(&second).await;
    let docs = emf(&documents);
    assert_eq!(docs.len(), 3, "no second cold start");
    assert!(docs[2].get("ColdStart").is_none());
}

#[tokio::test]
async fn provisioned_concurrency_writes_no_cold_start_metric() {
    let vars = [("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")];
    let (api, documents) = serve_with(&vars, Some("Shop"), charge).await;
    let id = api.push(json!({}));
    api.answer(&id).await;
    let docs = emf(&documents);
    assert_eq!(
        docs.len(),
        1,
        "only the invocation's own document: {docs:?}"
    );
    assert!(docs[0].get("ColdStart").is_none());
}

#[tokio::test]
async fn a_failed_first_invocation_still_writes_its_cold_start() {
    let (api, documents) = serve(Some("Shop"), charge).await;
    let id = api.push(json!({"fail": true}));
    api.answer(&id).await;
    let docs = emf(&documents);
    assert_eq!(docs[0]["ColdStart"], 1.0, "{docs:?}");
}

#[tokio::test]
async fn a_failed_invocation_still_writes_its_metrics() {
    let (api, documents) = serve(Some("Shop"), charge).await;
    let id = api.push(json!({"fail": true}));
    assert_eq!(api.error_answer(&id).await.error_type, "Payment.Declined");
    let docs = emf(&documents);
    assert_eq!(docs.last().expect("a document")["Charges"], 1.0);
}

#[tokio::test]
async fn documents_are_flushed_at_100_metrics_and_100_values() {
    let many = |_: Value, _: Context| async move {
        for n in 0..150 {
            metrics::add(&format!("Metric{n}"), Unit::Count, 1.0)?;
        }
        for n in 0..250 {
            metrics::add("Samples", Unit::Milliseconds, f64::from(n))?;
        }
        Ok::<Value, Error>(Value::Null)
    };
    let (api, documents) = serve(Some("Shop"), many).await;
    let id = api.push(json!({}));
    api.answer(&id).await;
    let docs: Vec<Value> = emf(&documents)
        .into_iter()
        .filter(|doc| doc.get("ColdStart").is_none())
        .collect();
    let others: usize = docs
        .iter()
        .flat_map(|doc| {
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .expect("metrics")
                .iter()
        })
        .filter(|definition| definition["Name"] != "Samples")
        .count();
    assert_eq!(others, 150, "every other metric is written exactly once");
    let samples: usize = docs
        .iter()
        .filter_map(|doc| doc["Samples"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(samples, 250);
}

#[tokio::test]
async fn bad_input_is_a_typed_error_and_the_invocation_goes_on() {
    let misuse = |_: Value, _: Context| async move {
        let mut errors = Vec::new();
        errors.push(metrics::add("", Unit::Count, 1.0).expect_err("empty name"));
        errors.push(metrics::add("Latency", Unit::Count, f64::NAN).expect_err("NaN"));
        metrics::add("Latency", Unit::Milliseconds, 1.0)?;
        errors.push(metrics::add("Latency", Unit::Seconds, 1.0).expect_err("unit conflict"));
        errors.push(metrics::add_dimension("region", " ").expect_err("blank value"));
        for n in 0..29 {
            metrics::add_dimension(&format!("d{n}"), "v")?;
        }
        errors.push(metrics::add_dimension("one_too_many", "v").expect_err("30 dimensions"));
        Ok::<Value, Error>(json!(
            errors.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>()
        ))
    };
    let (api, _documents) = serve(Some("Shop"), misuse).await;
    let id = api.push(json!({}));
    let errors = api.response_json(&id).await;
    let kinds: Vec<&str> = errors
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            e.as_str()
                .expect("text")
                .split([' ', '{'])
                .next()
                .expect("kind")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "InvalidName",
            "InvalidValue",
            "Conflict",
            "InvalidDimension",
            "TooManyDimensions"
        ]
    );
}

/// Every metric, dimension and metadata key is a top-level member of the document, beside
/// `_aws`: a name used twice across kinds would make a document CloudWatch cannot read.
#[tokio::test]
async fn names_that_would_break_the_document_are_refused() {
    let collide = |_: Value, _: Context| async move {
        let mut refused = Vec::new();
        let mut record = |outcome: Result<(), MetricsError>, what: &str| match outcome {
            Err(error) => refused.push(format!("{what}: {error:?}")),
            Ok(()) => refused.push(format!("{what}: accepted")),
        };
        metrics::add("Orders", Unit::Count, 1.0)?;
        metrics::add_dimension("region", "eu-west-1")?;
        metrics::add_metadata("note", "kept")?;
        record(metrics::add_dimension("_aws", "v"), "dimension _aws");
        record(metrics::add_metadata("_aws", "v"), "metadata _aws");
        record(metrics::add("_aws", Unit::Count, 1.0), "metric _aws");
        record(metrics::add_dimension("Orders", "v"), "dimension vs metric");
        record(metrics::add_metadata("Orders", "v"), "metadata vs metric");
        record(
            metrics::add("region", Unit::Count, 1.0),
            "metric vs dimension",
        );
        record(
            metrics::add_metadata("region", "v"),
            "metadata vs dimension",
        );
        record(metrics::add("note", Unit::Count, 1.0), "metric vs metadata");
        record(metrics::add_dimension("note", "v"), "dimension vs metadata");
        record(
            metrics::add("service", Unit::Count, 1.0),
            "metric vs default dimension",
        );
        record(
            metrics::add_metadata("service", "v"),
            "metadata vs default dimension",
        );
        record(metrics::add_metadata("", "v"), "empty metadata key");
        record(metrics::add("", Unit::Count, 1.0), "empty metric name");
        record(metrics::add_dimension("", "v"), "empty dimension key");
        record(
            metrics::add(&"m".repeat(1025), Unit::Count, 1.0),
            "metric name over 1024",
        );
        record(
            metrics::add_dimension(&"d".repeat(251), "v"),
            "dimension key over 250",
        );
        record(
            metrics::add("Latency", Unit::Count, f64::INFINITY),
            "infinite value",
        );
        // The same kind again updates it.
        record(metrics::add("Orders", Unit::Count, 2.0), "metric again");
        record(
            metrics::add_dimension("region", "us-east-1"),
            "dimension again",
        );
        record(metrics::add_metadata("note", "updated"), "metadata again");
        Ok::<Value, Error>(json!(refused))
    };
    let (api, documents) = serve(Some("Shop"), collide).await;
    let id = api.push(json!({}));
    let refused = api.response_json(&id).await;
    let outcome = |what: &str| {
        refused
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .find_map(|line| line.strip_prefix(&format!("{what}: ")))
            .unwrap_or_else(|| panic!("no outcome for {what}: {refused}"))
            .split([' ', '{'])
            .next()
            .expect("kind")
            .to_owned()
    };
    for what in [
        "dimension _aws",
        "metadata _aws",
        "dimension vs metric",
        "metadata vs metric",
        "metric vs dimension",
        "metadata vs dimension",
        "metric vs metadata",
        "dimension vs metadata",
        "metric vs default dimension",
        "metadata vs default dimension",
    ] {
        assert_eq!(outcome(what), "NameCollision", "{what}");
    }
    for what in [
        "metric _aws",
        "empty metadata key",
        "empty metric name",
        "metric name over 1024",
    ] {
        assert_eq!(outcome(what), "InvalidName", "{what}");
    }
    assert_eq!(outcome("empty dimension key"), "InvalidDimension");
    assert_eq!(outcome("dimension key over 250"), "InvalidDimension");
    assert_eq!(outcome("infinite value"), "InvalidValue");
    for what in ["metric again", "dimension again", "metadata again"] {
        assert_eq!(outcome(what), "accepted", "{what}");
    }
    // What was accepted makes a document CloudWatch can read.
    let document = emf(&documents)
        .into_iter()
        .find(|document| document.get("Orders").is_some())
        .expect("the invocation's document");
    assert_eq!(document["Orders"], json!([1.0, 2.0]));
    assert_eq!(document["region"], "us-east-1");
    assert_eq!(document["note"], "updated");
    assert_eq!(document["service"], "shop");
}

#[tokio::test]
async fn without_a_namespace_metrics_go_to_the_default_one_and_the_invocation_succeeds() {
    let add = |_: Value, _: Context| async move {
        metrics::add("Charges", Unit::Count, 1.0)?;
        Ok::<Value, Error>(json!("charged"))
    };
    let (api, documents) = serve(None, add).await;
    let id = api.push(json!({}));
    assert_eq!(api.response_json(&id).await, json!("charged"));
    let docs = emf(&documents);
    // No ColdStart count under a namespace nobody chose: only the invocation's document.
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(
        docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        metrics::DEFAULT_NAMESPACE
    );
    assert_eq!(docs[0]["Charges"], 1.0);
}

#[tokio::test]
async fn oversized_metadata_is_left_out_of_the_document() {
    let big = |_: Value, _: Context| async move {
        metrics::add_metadata("dump", "x".repeat(2_000_000))?;
        metrics::add("Charges", Unit::Count, 1.0)?;
        Ok::<Value, Error>(Value::Null)
    };
    let (api, documents) = serve(Some("Shop"), big).await;
    let id = api.push(json!({}));
    api.answer(&id).await;
    let last = emf(&documents).pop().expect("a document");
    assert_eq!(last["Charges"], 1.0);
    assert!(last.get("dump").is_none());
}

#[tokio::test]
async fn outside_an_invocation_metrics_are_refused() {
    assert_eq!(
        metrics::add("Charges", Unit::Count, 1.0),
        Err(MetricsError::NotInInvocation)
    );
    let spawned = |_: Value, _: Context| async move {
        let outcome = tokio::spawn(async { metrics::add("Charges", Unit::Count, 1.0) })
            .await
            .expect("joins");
        Ok::<Value, Error>(json!(outcome == Err(MetricsError::NotInInvocation)))
    };
    let (api, _documents) = serve(Some("Shop"), spawned).await;
    let id = api.push(json!({}));
    assert_eq!(api.response_json(&id).await, json!(true));
}
