//! X-Ray documents as the daemon receives them: a real UDP socket on 127.0.0.1 stands in
//! for the daemon while the real loop serves invocations from the fake Runtime API.

use std::borrow::Cow;

use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi};
use lambda_kit::xray::{MAX_DATAGRAM_BYTES, XRay};
use lambda_kit::{Context, Diagnostic, Error, Runtime, handler_fn};
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

fn sampled() -> String {
    format!("Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1")
}

struct Daemon {
    socket: UdpSocket,
}

impl Daemon {
    /// The next document, checking the datagram's framing and size on the way.
    async fn next_document(&self) -> Value {
        let mut buffer = vec![0u8; 70_000];
        let (size, _) = self
            .socket
            .recv_from(&mut buffer)
            .await
            .expect("a datagram");
        assert!(size <= MAX_DATAGRAM_BYTES, "{size} bytes");
        let datagram = &buffer[..size];
        let newline = datagram
            .iter()
            .position(|b| *b == b'\n')
            .expect("a header line");
        let header: Value = serde_json::from_slice(&datagram[..newline]).expect("header JSON");
        assert_eq!(header, json!({"format": "json", "version": 1}));
        serde_json::from_slice(&datagram[newline + 1..]).expect("document JSON")
    }
}

async fn serve<F, Fut>(handler: F) -> (FakeRuntimeApi, Daemon, tracing::subscriber::DefaultGuard)
where
    F: FnMut(Value, Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    serve_with(&[], handler).await
}

async fn serve_with<F, Fut>(
    vars: &[(&str, &str)],
    handler: F,
) -> (FakeRuntimeApi, Daemon, tracing::subscriber::DefaultGuard)
where
    F: FnMut(Value, Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    let api = FakeRuntimeApi::start().await.expect("starts");
    let daemon = UdpSocket::bind("127.0.0.1:0").await.expect("binds");
    let address = daemon.local_addr().expect("address").to_string();
    let config = tests::config_with(&api.address(), vars);
    let layer = XRay::from_lookup(&config, |_| None)
        .daemon_address(address)
        .service("payments")
        .tracing_layer()
        .expect("a valid daemon address");
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    tokio::spawn(
        Runtime::from_config(config)
            .expect("runtime")
            .run(handler_fn(handler)),
    );
    (api, Daemon { socket: daemon }, guard)
}

fn is_hex16(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn ok(_: Value, _: Context) -> Result<Value, Error> {
    Ok(Value::Null)
}

#[tokio::test]
async fn the_invocation_is_a_subsegment_of_the_function_segment() {
    let (api, daemon, _guard) = serve(ok).await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &sampled()),
    );
    api.answer(&id).await;
    let document = daemon.next_document().await;
    assert_eq!(document["type"], "subsegment");
    assert_eq!(document["trace_id"], ROOT);
    assert_eq!(document["parent_id"], PARENT);
    assert!(is_hex16(&document["id"]));
    assert!(document["name"].as_str().expect("name").starts_with("## "));
    let (start, end) = (
        document["start_time"].as_f64().expect("start"),
        document["end_time"].as_f64().expect("end"),
    );
    assert!(
        start > 1.7e9 && start <= end,
        "epoch seconds: {start} {end}"
    );
    assert_eq!(
        document["annotations"],
        json!({"ColdStart": true, "Service": "payments"})
    );
    assert!(document.get("fault").is_none());

    let second = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &sampled()),
    );
    api.answer(&second).await;
    assert_eq!(
        daemon.next_document().await["annotations"]["ColdStart"],
        false
    );
}

async fn with_subsegment(_: Value, _: Context) -> Result<Value, Error> {
    let span = tracing::info_span!(
        "fetch-price",
        xray = true,
        annotation.order_id = 7,
        metadata.channel = "web"
    );
    let header = span.in_scope(lambda_kit::xray::current_trace_header);
    async { tokio::task::yield_now().await }
        .instrument(span)
        .await;
    Ok(json!(header))
}

#[tokio::test]
async fn marked_spans_become_nested_subsegments_and_downstream_headers() {
    let (api, daemon, _guard) = serve(with_subsegment).await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &sampled()),
    );
    let outgoing = api.response_json(&id).await;
    let child = daemon.next_document().await;
    let parent = daemon.next_document().await;
    assert_eq!(child["name"], "fetch-price");
    assert_eq!(child["parent_id"], parent["id"]);
    assert_eq!(child["trace_id"], ROOT);
    assert!(is_hex16(&child["id"]) && child["id"] != parent["id"]);
    assert_eq!(child["annotations"], json!({"order_id": 7}));
    assert_eq!(child["metadata"], json!({"default": {"channel": "web"}}));
    assert_eq!(
        outgoing,
        json!(format!(
            "Root={ROOT};Parent={};Sampled=1;Lineage=a87bd80c:1",
            child["id"].as_str().expect("id")
        ))
    );
}

#[tokio::test]
async fn unsampled_and_malformed_traces_send_nothing() {
    let (api, daemon, _guard) = serve(with_subsegment).await;
    let unsampled = format!("Root={ROOT};Parent={PARENT};Sampled=0");
    let first = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &unsampled),
    );
    assert_eq!(
        api.response_json(&first).await,
        json!(unsampled),
        "the decision is passed on"
    );
    let broken = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", "Root=nonsense"),
    );
    assert_eq!(api.response_json(&broken).await, Value::Null);
    let untraced = api.push_invocation(
        FakeInvocation::json(&json!({})).without_header("lambda-runtime-trace-id"),
    );
    assert_eq!(api.response_json(&untraced).await, Value::Null);
    let root = "1-6759e988-cd862e3fe1be46a994272794";
    let traced = api.push_invocation(FakeInvocation::json(&json!({})).header(
        "lambda-runtime-trace-id",
        &format!("Root={root};Parent={PARENT};Sampled=1"),
    ));
    api.answer(&traced).await;
    // Datagrams from one socket arrive in order: the first one is the sampled trace's.
    assert_eq!(daemon.next_document().await["trace_id"], root);
}

#[derive(Debug, thiserror::Error)]
#[error("order {0} is unknown")]
struct UnknownOrder(u32);

impl Diagnostic for UnknownOrder {
    fn error_type(&self) -> Cow<'_, str> {
        "Order.Unknown".into()
    }

    fn is_client_error(&self) -> bool {
        true
    }
}

async fn failing(event: Value, _: Context) -> Result<Value, Error> {
    match event["kind"].as_str() {
        Some("client") => Err(Error::from_diagnostic(UnknownOrder(9))),
        Some("panic") => panic!("lost the ledger"),
        _ => Err(Error::new("Ledger.Unavailable", "the ledger is down")),
    }
}

#[tokio::test]
async fn failures_are_faults_and_client_errors_are_errors() {
    let (api, daemon, _guard) = serve(failing).await;
    for (kind, error_type, fault) in [
        ("server", "Ledger.Unavailable", true),
        ("panic", "Runtime.Panic", true),
        ("client", "Order.Unknown", false),
    ] {
        let id = api.push_invocation(
            FakeInvocation::json(&json!({"kind": kind}))
                .header("lambda-runtime-trace-id", &sampled()),
        );
        api.answer(&id).await;
        let document = daemon.next_document().await;
        assert_eq!(document.get("fault").is_some(), fault, "{kind}: {document}");
        assert_eq!(
            document.get("error").is_some(),
            !fault,
            "{kind}: {document}"
        );
        let exception = &document["cause"]["exceptions"][0];
        assert_eq!(exception["type"], error_type);
        assert!(is_hex16(&exception["id"]));
        assert!(!exception["message"].as_str().expect("message").is_empty());
    }
}

#[tokio::test]
async fn oversized_metadata_is_trimmed_never_sent_oversized() {
    let big = |_: Value, _: Context| async move {
        let payload = "x".repeat(100_000);
        tracing::info_span!(
            "upload",
            xray = true,
            metadata.payload = payload.as_str(),
            annotation.size = 100_000u64
        )
        .in_scope(|| {});
        Ok::<Value, Error>(Value::Null)
    };
    let (api, daemon, _guard) = serve(big).await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &sampled()),
    );
    api.answer(&id).await;
    let child = daemon.next_document().await;
    assert_eq!(child["name"], "upload");
    assert!(child.get("metadata").is_none());
    assert_eq!(child["annotations"]["size"], 100_000);
}

#[tokio::test]
async fn provisioned_concurrency_annotates_no_cold_start() {
    let (api, daemon, _guard) = serve_with(
        &[("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")],
        ok,
    )
    .await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", &sampled()),
    );
    api.answer(&id).await;
    assert_eq!(
        daemon.next_document().await["annotations"]["ColdStart"],
        false
    );
}
