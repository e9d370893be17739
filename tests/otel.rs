//! OpenTelemetry as a collector receives it: an OTLP/HTTP receiver on 127.0.0.1 decodes
//! what the real loop exports while it serves invocations from the fake Runtime API.

use std::sync::Arc;
use std::time::Duration;

use lambda_kit::logging::Logging;
use lambda_kit::otel::{Otel, OtlpProtocol, Propagator};
use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi, RecordedCall};
use lambda_kit::{Context, Error, LogFormat, Runtime, handler_fn};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::{Value, json};
use tests::Captured;
use tests::otlp::{Behaviour, Receiver, attribute, hex};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const ROOT_HEX: &str = "5759e988bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";
const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live";
const TRACEPARENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT_SPAN: &str = "b7ad6b7169203331";

/// The function's environment, as Lambda sets it.
const VARS: &[(&str, &str)] = &[
    ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
    ("AWS_REGION", "eu-west-1"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/02/[7]0123abcd"),
    ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
];

fn xray(sampled: bool) -> String {
    format!(
        "Root={ROOT};Parent={PARENT};Sampled={};Lineage=a87bd80c:1",
        u8::from(sampled)
    )
}

/// What the receiver saw of the Runtime API when an export arrived: how many polls of
/// `/next` it had had, and every call.
type Observed = (usize, Vec<RecordedCall>);

struct Traced {
    api: Arc<FakeRuntimeApi>,
    receiver: Receiver<Observed>,
    logs: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Traced {
    /// Pushes an invocation of `event` with this X-Ray header.
    fn push(&self, event: Value, trace_header: &str) -> String {
        self.api.push_invocation(
            FakeInvocation::json(&event)
                .header("Lambda-Runtime-Trace-Id", trace_header)
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN),
        )
    }
}

/// Serves `handler` with the OTel layer (as `configure` sets it up, exporting to a
/// receiver that behaves as `behaviour` says) and the JSON log layer.
async fn traced<F, Fut>(
    behaviour: Behaviour,
    configure: impl FnOnce(Otel) -> Otel,
    concurrent: bool,
    handler: F,
) -> Traced
where
    F: FnMut(Value, Context) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    let api = Arc::new(FakeRuntimeApi::start().await.expect("starts"));
    let observer = Arc::clone(&api);
    let receiver = Receiver::start(behaviour, move || (observer.polls(), observer.calls())).await;
    let config = tests::config_with(&api.address(), VARS);
    let otel =
        configure(Otel::from_lookup(&config, |_| None).traces_endpoint(receiver.traces_url()));
    let logs = Captured::default();
    let logging = Logging::from_lookup(&config, |_| None).format(LogFormat::Json);
    let subscriber = tracing_subscriber::registry()
        .with(otel.tracing_layer().expect("the layer builds"))
        .with(logging.tracing_layer_with_writer(logs.clone()));
    let guard = tracing::subscriber::set_default(subscriber);
    let runtime = Runtime::from_config(config).expect("a runtime");
    if concurrent {
        tokio::spawn(runtime.run_concurrent(handler_fn(handler)));
    } else {
        tokio::spawn(runtime.run(handler_fn(handler)));
    }
    Traced {
        api,
        receiver,
        logs,
        _guard: guard,
    }
}

fn named<'a>(spans: &[&'a Span], name: &str) -> &'a Span {
    spans
        .iter()
        .copied()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn event_names(span: &Span) -> Vec<&str> {
    span.events
        .iter()
        .map(|event| event.name.as_str())
        .collect()
}

#[tokio::test]
async fn the_invocation_and_its_spans_carry_the_lambda_conventions() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        false,
        |_event: Value, _ctx| async {
            tracing::info!(step = "start", "received");
            async {
                tracing::info!("charging");
                tracing::debug!("below the event level");
            }
            .instrument(tracing::info_span!("charge", order_id = 7_u64))
            .await;
            Ok(json!({"ok": true}))
        },
    )
    .await;
    let id = traced.push(json!({"order": 7}), &xray(true));
    let export = traced.receiver.next().await;
    assert_eq!(export.content_type, "application/x-protobuf");

    // The flush came after the answer was posted and before the next poll of `/next`.
    let (polls, calls) = &export.observed;
    assert_eq!(*polls, 1, "the export arrived after the next poll");
    let answered = calls
        .iter()
        .find(|call| call.request_id.as_deref() == Some(id.as_str()))
        .expect("the answer was posted before the export");
    assert!(answered.path.ends_with("/response"), "{}", answered.path);

    let resource = export.resource();
    for (key, value) in [
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_lambda"),
        ("cloud.region", "eu-west-1"),
        ("faas.name", "orders"),
        ("faas.version", "7"),
        ("faas.instance", "2026/12/02/[7]0123abcd"),
        ("faas.max_memory", "536870912"),
        ("service.name", "orders"),
        ("telemetry.sdk.language", "rust"),
    ] {
        assert_eq!(attribute(resource, key).as_deref(), Some(value), "{key}");
    }

    let spans = export.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let invocation = named(&spans, "orders");
    assert_eq!(invocation.kind, SpanKind::Server as i32);
    assert_eq!(hex(&invocation.trace_id), ROOT_HEX);
    assert_eq!(hex(&invocation.parent_span_id), PARENT);
    for (key, value) in [
        ("faas.invocation_id", id.as_str()),
        ("faas.coldstart", "true"),
        ("faas.trigger", "other"),
        (
            "cloud.resource_id",
            "arn:aws:lambda:eu-west-1:123456789012:function:orders:7",
        ),
        ("cloud.account.id", "123456789012"),
        ("aws.lambda.invoked_arn", ARN),
    ] {
        assert_eq!(
            attribute(&invocation.attributes, key).as_deref(),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(event_names(invocation), ["received"]);
    assert_eq!(
        attribute(&invocation.events[0].attributes, "step").as_deref(),
        Some("start")
    );
    assert_ne!(
        invocation.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32)
    );

    let charge = named(&spans, "charge");
    assert_eq!(charge.kind, SpanKind::Internal as i32);
    assert_eq!(charge.trace_id, invocation.trace_id);
    assert_eq!(charge.parent_span_id, invocation.span_id);
    assert_eq!(
        attribute(&charge.attributes, "order_id").as_deref(),
        Some("7")
    );
    assert_eq!(event_names(charge), ["charging"]);
    assert_eq!(
        attribute(&charge.events[0].attributes, "level").as_deref(),
        Some("INFO")
    );

    // Log lines carry the OTel ids of the span they were logged in.
    let lines = traced.logs.json_lines();
    let line = |message: &str| {
        lines
            .iter()
            .find(|line| line["message"] == message)
            .unwrap_or_else(|| panic!("no line {message}"))
            .clone()
    };
    assert_eq!(line("received")["trace_id"], ROOT_HEX);
    assert_eq!(line("received")["span_id"], hex(&invocation.span_id));
    assert_eq!(line("charging")["span_id"], hex(&charge.span_id));
    assert_eq!(line("charging")["requestId"], id.as_str());

    // The second invocation is warm, and its flush again comes before the next poll.
    traced.push(json!({}), &xray(true));
    let export = traced.receiver.next().await;
    assert_eq!(export.observed.0, 2);
    let invocation = named(&export.spans(), "orders");
    assert_eq!(
        attribute(&invocation.attributes, "faas.coldstart").as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn an_unsampled_xray_header_records_nothing() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        false,
        |_: Value, _| async {
            tracing::info_span!("work").in_scope(|| tracing::info!("working"));
            Ok(json!({}))
        },
    )
    .await;
    let unsampled = traced.push(json!({}), &xray(false));
    let other_root = "1-6759e988-cd862e3fe1be46a994272794";
    traced.push(
        json!({}),
        &format!("Root={other_root};Parent={PARENT};Sampled=1"),
    );
    // Both invocations flushed; only the sampled one had anything to send.
    let export = traced.receiver.next().await;
    assert_eq!(traced.api.response_json(&unsampled).await, json!({}));
    let spans = export.spans();
    assert_eq!(spans.len(), 2);
    for span in spans {
        assert_eq!(hex(&span.trace_id), "6759e988cd862e3fe1be46a994272794");
    }
    // The unsampled invocation's lines still carry its trace id.
    let lines = traced.logs.json_lines();
    assert!(
        lines
            .iter()
            .any(|line| line["requestId"] == unsampled.as_str() && line["trace_id"] == ROOT_HEX),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_traceparent_in_the_event_is_the_parent_when_configured_and_xray_is_a_link() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel.propagators(&[Propagator::XRay, Propagator::TraceContext]),
        false,
        |_: Value, _| async { Ok(json!({"statusCode": 200})) },
    )
    .await;
    let traceparent = format!("00-{TRACEPARENT_TRACE}-{TRACEPARENT_SPAN}-01");
    traced.push(
        json!({
            "version": "2.0",
            "rawPath": "/orders",
            "headers": {"traceparent": traceparent, "tracestate": "shop=1"},
            "requestContext": {"http": {"method": "GET", "path": "/orders"}},
        }),
        &xray(true),
    );
    let export = traced.receiver.next().await;
    let invocation = named(&export.spans(), "orders");
    assert_eq!(hex(&invocation.trace_id), TRACEPARENT_TRACE);
    assert_eq!(hex(&invocation.parent_span_id), TRACEPARENT_SPAN);
    assert_eq!(invocation.trace_state, "shop=1");
    assert_eq!(
        attribute(&invocation.attributes, "faas.trigger").as_deref(),
        Some("http")
    );
    let link = invocation
        .links
        .first()
        .expect("a link to the X-Ray context");
    assert_eq!(hex(&link.trace_id), ROOT_HEX);
    assert_eq!(hex(&link.span_id), PARENT);
    assert_eq!(
        attribute(&link.attributes, "source").as_deref(),
        Some("x-ray-env")
    );

    // An SQS message attribute works the same way.
    traced.push(
        json!({"Records": [{
            "eventSource": "aws:sqs",
            "body": "{}",
            "messageAttributes": {"traceparent": {"stringValue": traceparent, "dataType": "String"}},
        }]}),
        &xray(true),
    );
    let export = traced.receiver.next().await;
    let invocation = named(&export.spans(), "orders");
    assert_eq!(hex(&invocation.parent_span_id), TRACEPARENT_SPAN);
    assert_eq!(
        attribute(&invocation.attributes, "faas.trigger").as_deref(),
        Some("pubsub")
    );

    // An event without one keeps the X-Ray parent, and no link.
    traced.push(
        json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
        &xray(true),
    );
    let export = traced.receiver.next().await;
    let invocation = named(&export.spans(), "orders");
    assert_eq!(hex(&invocation.parent_span_id), PARENT);
    assert!(invocation.links.is_empty());
    assert_eq!(
        attribute(&invocation.attributes, "faas.trigger").as_deref(),
        Some("datasource")
    );
}

#[tokio::test]
async fn failures_and_panics_record_an_exception_and_an_error_status() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        false,
        |event: Value, _| async move {
            if event["panic"] == true {
                panic!("the basket is gone");
            }
            Err(Error::new("Orders.Declined", "card declined"))
        },
    )
    .await;
    for (event, error_type, message) in [
        (json!({}), "Orders.Declined", "card declined"),
        (
            json!({"panic": true}),
            "Runtime.Panic",
            "the basket is gone",
        ),
    ] {
        let id = traced.push(event, &xray(true));
        let export = traced.receiver.next().await;
        assert_eq!(traced.api.error_answer(&id).await.error_type, error_type);
        let invocation = named(&export.spans(), "orders");
        let status = invocation.status.as_ref().expect("a status");
        assert_eq!(status.code, StatusCode::Error as i32);
        assert!(status.message.contains(message), "{}", status.message);
        let exception = invocation
            .events
            .iter()
            .find(|event| event.name == "exception")
            .expect("an exception event");
        assert_eq!(
            attribute(&exception.attributes, "exception.type").as_deref(),
            Some(error_type)
        );
        let recorded = attribute(&exception.attributes, "exception.message").expect("a message");
        assert!(recorded.contains(message), "{recorded}");
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_never_fails_an_invocation_and_is_reported_once() {
    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds")
        .local_addr()
        .expect("an address");
    let traced = traced(
        Behaviour::Answer,
        |otel| otel.traces_endpoint(format!("http://{closed}/v1/traces")),
        false,
        |_: Value, _| async { Ok(json!({"ok": true})) },
    )
    .await;
    for _ in 0..3 {
        let id = traced.push(json!({}), &xray(true));
        assert_eq!(traced.api.response_json(&id).await, json!({"ok": true}));
    }
    // Answered three times means flushed at least twice; the third answer may come before
    // its flush, so wait for the poll that follows it.
    traced.api.wait_for_polls(4).await;
    let warnings = traced
        .logs
        .json_lines()
        .into_iter()
        .filter(|line| {
            line["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("OpenTelemetry export failed"))
        })
        .count();
    assert_eq!(warnings, 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_delays_the_next_poll_by_the_bound_only() {
    let mut traced = traced(
        Behaviour::Hang,
        |otel| otel.flush_timeout(Duration::from_millis(50)),
        false,
        |_: Value, _| async { Ok(json!({"ok": true})) },
    )
    .await;
    let first = traced.push(json!({}), &xray(true));
    let second = traced.push(json!({}), &xray(true));
    // Both are answered although no export is ever answered: each flush gave up.
    for id in [&first, &second] {
        let answered = tokio::time::timeout(Duration::from_secs(60), traced.api.response_json(id))
            .await
            .expect("answered within a minute");
        assert_eq!(answered, json!({"ok": true}));
    }
    let export = traced.receiver.next().await;
    assert_eq!(
        export.observed.0, 1,
        "the first flush came before the second poll"
    );
}

#[tokio::test]
async fn concurrent_invocations_keep_their_own_parents() {
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        true,
        move |event: Value, _| {
            let barrier = Arc::clone(&barrier);
            async move {
                let n = event["n"].as_u64().expect("n");
                // All four are in flight at once, inside their child spans.
                async { barrier.wait().await }
                    .instrument(tracing::info_span!("work", n))
                    .await;
                Ok(json!({"n": n}))
            }
        },
    )
    .await;
    let roots: Vec<String> = (0..4)
        .map(|n| format!("1-5759e98{n}-bd862e3fe1be46a99427279{n}"))
        .collect();
    for (n, root) in roots.iter().enumerate() {
        traced.push(
            json!({"n": n}),
            &format!("Root={root};Parent=53995c3f42cd8ad{n};Sampled=1"),
        );
    }
    let mut spans = Vec::new();
    while spans.len() < 8 {
        let export = traced.receiver.next().await;
        spans.extend(export.spans().into_iter().cloned());
    }
    assert_eq!(spans.len(), 8);
    for (n, root) in roots.iter().enumerate() {
        let trace = root.replace('-', "")[1..].to_owned();
        let invocation = spans
            .iter()
            .find(|span| span.name == "orders" && hex(&span.trace_id) == trace)
            .unwrap_or_else(|| panic!("no invocation in trace {trace}"));
        assert_eq!(
            hex(&invocation.parent_span_id),
            format!("53995c3f42cd8ad{n}")
        );
        let work = spans
            .iter()
            .find(|span| span.name == "work" && span.parent_span_id == invocation.span_id)
            .expect("the work span under its invocation");
        assert_eq!(
            attribute(&work.attributes, "n").as_deref(),
            Some(n.to_string().as_str())
        );
        assert_eq!(work.trace_id, invocation.trace_id);
    }
}

#[tokio::test]
async fn http_json_and_headers_are_sent_when_asked_for() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| {
            otel.protocol(OtlpProtocol::HttpJson)
                .header("x-honeycomb-team", "secret")
                .resource_attribute("team", "payments")
        },
        false,
        |_: Value, _| async { Ok(json!({})) },
    )
    .await;
    traced.push(json!({}), &xray(true));
    let export = traced.receiver.next().await;
    assert_eq!(export.content_type, "application/json");
    assert_eq!(export.headers["x-honeycomb-team"], "secret");
    assert_eq!(
        attribute(export.resource(), "team").as_deref(),
        Some("payments")
    );
    let invocation = named(&export.spans(), "orders");
    assert_eq!(hex(&invocation.trace_id), ROOT_HEX);
    assert_eq!(hex(&invocation.parent_span_id), PARENT);
}

#[tokio::test]
async fn inject_passes_the_current_span_on_in_both_formats() {
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        false,
        |_: Value, _| async {
            let span = tracing::info_span!("call");
            let _entered = span.enter();
            let mut headers = http::HeaderMap::new();
            assert!(lambda_kit::otel::inject(&mut headers));
            let text = |name: &str| headers[name].to_str().expect("text").to_owned();
            let (trace_id, span_id) = lambda_kit::otel::current_ids().expect("a traced span");
            Ok(json!({
                "traceparent": text("traceparent"),
                "xray": text("x-amzn-trace-id"),
                "ids": [trace_id, span_id],
            }))
        },
    )
    .await;
    let id = traced.push(json!({}), &xray(true));
    let answer = traced.api.response_json(&id).await;
    let export = traced.receiver.next().await;
    let call = named(&export.spans(), "call");
    let span_id = hex(&call.span_id);
    assert_eq!(answer["traceparent"], format!("00-{ROOT_HEX}-{span_id}-01"));
    assert_eq!(
        answer["xray"],
        format!("Root={ROOT};Parent={span_id};Sampled=1")
    );
    assert_eq!(answer["ids"], json!([ROOT_HEX, span_id]));
    assert_eq!(
        lambda_kit::otel::current_ids(),
        None,
        "no ids outside an invocation"
    );
    let mut headers = http::HeaderMap::new();
    assert!(
        !lambda_kit::otel::inject(&mut headers),
        "no trace outside an invocation"
    );
}

#[tokio::test]
async fn a_bootstrap_is_configured_by_the_standard_environment() {
    let api = Arc::new(FakeRuntimeApi::start().await.expect("starts"));
    let observer = Arc::clone(&api);
    let mut receiver = Receiver::start(Behaviour::Answer, move || {
        (observer.polls(), observer.calls())
    })
    .await;
    let mut command =
        tokio::process::Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_form-event-only")));
    let _child = command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .env("OTEL_SERVICE_NAME", "from-env")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%201")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        // Records the invocation although its X-Ray header says Sampled=0.
        .env("OTEL_TRACES_SAMPLER", "always_on")
        .env("AWS_LAMBDA_FUNCTION_NAME", "accept")
        .kill_on_drop(true)
        .spawn()
        .expect("the bootstrap starts");
    let id = api.push_invocation(
        FakeInvocation::json(&json!({"refuse": "o-9"}))
            .header("Lambda-Runtime-Trace-Id", &xray(false)),
    );
    let export = receiver.next().await;
    assert_eq!(api.error_answer(&id).await.error_type, "Order.Refused");
    assert_eq!(export.content_type, "application/json");
    assert_eq!(export.headers["x-api-key"], "k 1");
    for (key, value) in [
        ("service.name", "from-env"),
        ("deployment.environment", "test"),
        ("faas.name", "accept"),
    ] {
        assert_eq!(
            attribute(export.resource(), key).as_deref(),
            Some(value),
            "{key}"
        );
    }
    let invocation = named(&export.spans(), "accept");
    assert_eq!(hex(&invocation.parent_span_id), PARENT);
    assert_eq!(
        invocation.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32)
    );
}

#[tokio::test]
async fn a_failed_batch_record_does_not_fail_the_invocation() {
    use lambda_kit::batch::BatchProcessor;
    use lambda_kit::events::sqs::SqsEvent;
    let mut traced = traced(
        Behaviour::Answer,
        |otel| otel,
        false,
        |event: Value, _| async {
            let event: SqsEvent = serde_json::from_value(event)?;
            let response = BatchProcessor::new()
                .sqs(event, |message| async move {
                    match message.body.as_deref() {
                        Some("bad") => Err(Error::new("Record.Bad", "unreadable")),
                        _ => Ok(()),
                    }
                })
                .await?;
            Ok(serde_json::to_value(response)?)
        },
    )
    .await;
    let record =
        |id: &str, body: &str| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"});
    let id = traced.push(
        json!({"Records": [record("m-1", "good"), record("m-2", "bad")]}),
        &xray(true),
    );
    let export = traced.receiver.next().await;
    let answer = traced.api.response_json(&id).await;
    assert_eq!(answer["batchItemFailures"][0]["itemIdentifier"], "m-2");
    let invocation = named(&export.spans(), "orders");
    assert_ne!(
        invocation.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32)
    );
    assert!(!event_names(invocation).contains(&"exception"));
}
