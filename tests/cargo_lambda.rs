//! A bootstrap under `cargo lambda watch` and `cargo lambda invoke`: a Runtime API URL with
//! a path prefix, a constant fake deadline and a base64 client context. The test command
//! installs cargo-lambda; without it this test says so and passes without checking.

use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

fn find_in_path(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|folder| folder.join(program))
        .find(|path| path.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port` (at most about 20 s).
async fn wait_until_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cargo lambda watch did not listen on port {port}");
}

#[tokio::test]
async fn a_bootstrap_serves_cargo_lambda_invocations() {
    let Some(cargo_lambda) = find_in_path("cargo-lambda") else {
        println!("SKIPPED: cargo-lambda is not installed (pip install cargo-lambda)");
        return;
    };
    let port = free_port();
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Its own process group, detached from stdin: cargo-lambda stops scheduling otherwise.
    let _watch = Command::new(&cargo_lambda)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(&workspace)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cargo lambda watch starts");
    wait_until_listening(port).await;
    let _function = Command::new(env!("CARGO_BIN_EXE_serve-probe"))
        .env_clear()
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the bootstrap starts");
    let invoke = |data: &str| {
        let mut command = Command::new(&cargo_lambda);
        command
            .args([
                "lambda",
                "invoke",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .args([
                "--data-ascii",
                data,
                "--client-context-ascii",
                r#"{"custom":{"k":"v"}}"#,
            ])
            .current_dir(&workspace)
            .stdin(Stdio::null());
        command
    };
    let output: Output = invoke(r#"{"echo":"hi"}"#)
        .output()
        .await
        .expect("invoke runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON answer");
    assert_eq!(answer["echo"], "hi");
    assert_eq!(
        answer["clientCustom"],
        json!({"k": "v"}),
        "the base64 client context was decoded"
    );
    let failed = invoke("not json").output().await.expect("invoke runs");
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("Runtime.UnmarshalError"));
}
