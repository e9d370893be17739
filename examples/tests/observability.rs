//! The `observability` binary: its JSON logs, EMF document and X-Ray subsegment.

use std::process::Stdio;

use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi};
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tokio::process::Command;

fn order() -> Value {
    json!({"order_id": "o-1", "channel": "web", "items": [{"sku": "apple", "cents": 30, "quantity": 2}]})
}

#[tokio::test]
async fn local_run_prints_the_receipt_and_logs_and_metrics_on_stderr() {
    let output = Command::new(env!("CARGO_BIN_EXE_observability"))
        .env_clear()
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("POWERTOOLS_SERVICE_NAME", "checkout")
        .env("POWERTOOLS_METRICS_NAMESPACE", "Shop")
        .args(["--event", &order().to_string()])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let receipt: Value = serde_json::from_slice(&output.stdout).expect("receipt JSON");
    assert_eq!(receipt, json!({"order_id": "o-1", "total_cents": 60}));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let log = lines
        .iter()
        .find(|line| line["message"] == "checking out")
        .expect("a log line");
    assert_eq!(log["order_id"], "o-1");
    assert_eq!(log["service"], "checkout");
    assert!(log["requestId"].is_string());
    let emf = lines
        .iter()
        .find(|line| line.get("OrderValueCents").is_some())
        .expect("an EMF document");
    assert_eq!(emf["OrderValueCents"], 60.0);
    assert_eq!(emf["channel"], "web");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shop");
}

#[tokio::test]
async fn as_a_bootstrap_a_sampled_invocation_sends_its_subsegments() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let daemon = UdpSocket::bind("127.0.0.1:0").await.expect("binds");
    let _child = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_observability")))
        .env(
            "AWS_XRAY_DAEMON_ADDRESS",
            daemon.local_addr().expect("addr").to_string(),
        )
        .env("POWERTOOLS_METRICS_NAMESPACE", "Shop")
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let id = api
        .push_invocation(FakeInvocation::json(&order()).header("lambda-runtime-trace-id", header));
    assert_eq!(api.response_json(&id).await["total_cents"], 60);
    let mut buffer = vec![0u8; 65_536];
    let mut documents = Vec::new();
    for _ in 0..2 {
        let (size, _) = daemon.recv_from(&mut buffer).await.expect("a datagram");
        let body = buffer[..size]
            .splitn(2, |b| *b == b'\n')
            .nth(1)
            .expect("a document");
        documents.push(serde_json::from_slice::<Value>(body).expect("JSON"));
    }
    assert_eq!(documents[0]["name"], "price-order");
    assert_eq!(documents[0]["annotations"], json!({"order_id": "o-1"}));
    assert_eq!(documents[0]["parent_id"], documents[1]["id"]);
    assert_eq!(documents[1]["parent_id"], "53995c3f42cd8ad8");
    assert_eq!(documents[1]["annotations"]["ColdStart"], true);
}
