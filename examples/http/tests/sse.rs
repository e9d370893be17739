//! The `sse` example, checked on the built bootstrap under the fake Runtime API: events
//! leave the function as they are produced, after a function URL's streaming prelude.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use lambda_kit::testing::FakeRuntimeApi;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

/// A function URL request for `GET path` with `query`.
fn function_url(path: &str, query: &[(&str, &str)]) -> Value {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/function-url.json");
    let mut event: Value =
        serde_json::from_slice(&std::fs::read(fixture).expect("fixture exists")).expect("JSON");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["rawQueryString"] = json!(
        query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    event["queryStringParameters"] = query
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    event
}

async fn serve() -> (FakeRuntimeApi, tokio::process::Child) {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_sse")))
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    (api, child)
}

#[tokio::test]
async fn the_first_event_arrives_while_the_function_waits_to_send_the_second() {
    let (api, _child) = serve().await;
    // A minute between events: the first can only be seen this early if it was streamed.
    let id = api.push(function_url(
        "/events",
        &[("count", "2"), ("interval_ms", "60000")],
    ));
    let arrived = api.wait_for_chunks(&id, 3).await;
    let prelude: Value = serde_json::from_slice(&arrived[0]).expect("prelude JSON");
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
    assert_eq!(arrived[2], "event: tick\ndata: 1\n\n");
    assert!(api.posts_for(&id).is_empty(), "the stream is still open");
}

#[tokio::test]
async fn every_event_then_done() {
    let (api, _child) = serve().await;
    let id = api.push(function_url(
        "/events",
        &[("count", "3"), ("interval_ms", "0")],
    ));
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    let body = String::from_utf8_lossy(&answer.chunks[2..].concat()).into_owned();
    assert_eq!(
        body,
        "event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tick\ndata: 3\n\nevent: done\ndata: 3\n\n"
    );
}

#[tokio::test]
async fn the_page_subscribes_with_event_source() {
    let (api, _child) = serve().await;
    let id = api.push(function_url("/", &[]));
    let answer = api.answer(&id).await;
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude["headers"]["content-type"],
        "text/html; charset=utf-8"
    );
    let page = String::from_utf8_lossy(&answer.chunks[2..].concat()).into_owned();
    assert!(page.contains("new EventSource(\"events\""), "{page}");
}

/// The example behind a local function URL (`--serve-http`), with room for slow streams.
const FUNCTION_URL_API: &[&str] = &[
    "--serve-http",
    "127.0.0.1:0",
    "--integration",
    "url",
    "--timeout",
    "120",
];

/// Starts the example outside Lambda with `args`; the process and the address it serves.
async fn local(args: &[&str]) -> (tokio::process::Child, String) {
    let (child, address, _lines) = local_with_lines(args).await;
    (child, address)
}

/// [`local`], with the lines it prints after the first.
async fn local_with_lines(
    args: &[&str],
) -> (
    tokio::process::Child,
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let banner = lines
        .next_line()
        .await
        .expect("reads")
        .expect("a first line");
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an address")
        .to_owned();
    // Keep reading, so that the server never blocks on a full pipe.
    let (printed, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = printed.send(line);
        }
    });
    (child, address, received)
}

/// Sends `request` to `address` and reads the response's body until `until` has arrived;
/// returns what arrived, while the response may still be under way (and is dropped, with
/// its connection, when this returns).
async fn read_until(address: &str, request: http::Request<Full<Bytes>>, until: &str) -> String {
    let stream = TcpStream::connect(address).await.expect("connects");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut arrived = Vec::new();
    while !String::from_utf8_lossy(&arrived).contains(until) {
        let frame = body
            .frame()
            .await
            .expect("more of the body")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            arrived.extend_from_slice(&data);
        }
    }
    String::from_utf8_lossy(&arrived).into_owned()
}

#[tokio::test]
async fn through_the_local_http_api_the_first_event_reaches_the_client_while_the_function_waits() {
    let (_child, address) = local(FUNCTION_URL_API).await;
    let request = http::Request::get("/events?count=2&interval_ms=60000")
        .header("host", &address)
        .body(Full::new(Bytes::new()))
        .expect("a request");
    let arrived = read_until(&address, request, "data: 1\n\n").await;
    assert_eq!(arrived, "event: tick\ndata: 1\n\n");
}

#[tokio::test]
async fn through_the_invoke_api_a_stream_reaches_the_caller_as_it_is_produced() {
    let (_child, address) = local(&["--serve", "127.0.0.1:0", "--timeout", "120"]).await;
    let event = function_url("/events", &[("count", "2"), ("interval_ms", "60000")]);
    let request = http::Request::post("/2015-03-31/functions/function/invocations")
        .header("host", &address)
        .body(Full::new(Bytes::from(event.to_string())))
        .expect("a request");
    // The prelude, its separator, then the first event, with the second a minute away.
    let arrived = read_until(&address, request, "data: 1\n\n").await;
    let (prelude, body) = arrived.split_once("\0\0\0\0\0\0\0\0").expect("a separator");
    let prelude: Value = serde_json::from_str(prelude).expect("prelude JSON");
    assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
    assert_eq!(body, "event: tick\ndata: 1\n\n");
}

/// A real browser subscribes to the events with `EventSource` on the example's page,
/// served through the local API as a function URL, and shows each event as it arrives.
/// Needs Debian's `chromium` (the test command installs it). Headless Chromium's virtual
/// time does not advance while the stream is open, so the page is read once the stream has
/// ended, whatever its pace.
#[tokio::test]
async fn a_browser_receives_every_event_through_event_source() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| std::path::Path::new(path).is_file())
    else {
        eprintln!("chromium is not installed: the browser test checks nothing");
        return;
    };
    let (_child, address) = local(FUNCTION_URL_API).await;
    let profile = std::env::temp_dir().join(format!("sse-chromium-{}", std::process::id()));
    let page = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--virtual-time-budget=10000")
        .arg("--dump-dom")
        .arg(format!("http://{address}/?count=3&interval_ms=50"))
        .kill_on_drop(true)
        .output()
        .await
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&page.stdout);
    assert!(
        dom.contains(r#"<span id="status">done after 3 events</span>"#),
        "{dom}"
    );
    assert!(
        dom.contains("<li>tick 1</li><li>tick 2</li><li>tick 3</li>"),
        "{dom}"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_leaves_the_function_to_finish_and_the_next_is_served()
{
    let (_child, address, mut lines) = local_with_lines(FUNCTION_URL_API).await;
    let request = |path: &str| {
        http::Request::get(path)
            .header("host", &address)
            .body(Full::new(Bytes::new()))
            .expect("a request")
    };
    // Read the first event, then hang up while four more are to come.
    let arrived = read_until(
        &address,
        request("/events?count=5&interval_ms=20"),
        "data: 1",
    )
    .await;
    assert!(arrived.starts_with("event: tick\ndata: 1"), "{arrived}");
    // As in Lambda, the invocation runs to its end, untroubled, and then reports.
    loop {
        let line = lines.recv().await.expect("the server prints its REPORT");
        assert!(
            !line.contains("answered 502") && !line.contains("cut off"),
            "{line}"
        );
        if line.starts_with("REPORT RequestId:") {
            break;
        }
    }
    let after = read_until(
        &address,
        request("/events?count=1&interval_ms=0"),
        "event: done",
    )
    .await;
    assert!(after.contains("data: 1"), "{after}");
}
