//! The `otel` binary as a bootstrap: its spans reach an OTLP receiver, under the parent
//! Lambda's X-Ray header names.
#![cfg(feature = "otel")]

use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi};
use serde_json::json;
use tests::otlp::{Behaviour, Receiver, attribute, hex};

#[tokio::test]
async fn the_invocation_and_its_step_are_exported_and_the_trace_passed_on() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let mut receiver = Receiver::start(Behaviour::Answer, || ()).await;
    let _child = tokio::process::Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_otel")))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .env("OTEL_SERVICE_NAME", "orders")
        .env("AWS_LAMBDA_FUNCTION_NAME", "order-status")
        .kill_on_drop(true)
        .spawn()
        .expect("the bootstrap starts");
    let id = api.push_invocation(FakeInvocation::json(&json!({"order_id": "o-1"})).header(
        "Lambda-Runtime-Trace-Id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    ));
    let export = receiver.next().await;
    let response = api.response_json(&id).await;
    let spans = export.spans();
    let invocation = spans
        .iter()
        .find(|span| span.name == "order-status")
        .expect("the invocation span");
    let step = spans
        .iter()
        .find(|span| span.name == "load-order")
        .expect("the step's span");
    assert_eq!(
        hex(&invocation.trace_id),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(hex(&invocation.parent_span_id), "53995c3f42cd8ad8");
    assert_eq!(step.parent_span_id, invocation.span_id);
    assert_eq!(
        attribute(&step.attributes, "order.id").as_deref(),
        Some("o-1")
    );
    assert_eq!(
        attribute(export.resource(), "service.name").as_deref(),
        Some("orders")
    );
    assert_eq!(response["state"], "shipped");
    assert_eq!(
        response["downstream_traceparent"],
        format!(
            "00-5759e988bd862e3fe1be46a994272793-{}-01",
            hex(&invocation.span_id)
        )
    );
}

#[tokio::test]
async fn a_local_run_exports_before_the_process_exits() {
    let mut receiver = Receiver::start(Behaviour::Answer, || ()).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_otel"))
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .args(["--event", r#"{"order_id":"o-2"}"#])
        .kill_on_drop(true)
        .output()
        .await
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let response: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(response["state"], "shipped");
    // The export was received while the process ran: it waited for it before exiting.
    let export = receiver.next().await;
    let names: Vec<&str> = export
        .spans()
        .iter()
        .map(|span| span.name.as_str())
        .collect();
    assert!(names.contains(&"load-order"), "{names:?}");
}
