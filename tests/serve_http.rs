//! `bootstrap --serve-http`: the function behind a local HTTP API, driven with real HTTP
//! requests as a browser or `curl` sends them.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tests::local::LocalServer;

async fn serve_http(program: &str, integration: &str) -> LocalServer {
    LocalServer::start(
        program,
        &["--serve-http", "127.0.0.1:0", "--integration", integration],
        &[],
    )
    .await
}

fn echo() -> &'static str {
    env!("CARGO_BIN_EXE_event-echo")
}

/// The event the function got for a request, as `event-echo` answers it.
async fn event_for(
    server: &LocalServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Value {
    let (status, _, body) = server.request(method, path, headers, body).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("the echoed event")
}

#[tokio::test]
async fn every_integration_serves_every_path_and_method() {
    for integration in ["http", "rest", "url", "alb"] {
        let server = serve_http(env!("CARGO_BIN_EXE_form-http"), integration).await;
        for method in ["GET", "DELETE"] {
            let (status, headers, body) = server.request(method, "/orders/7", &[], "").await;
            assert_eq!(status, StatusCode::OK, "{integration} {method}");
            assert_eq!(headers["content-type"], "text/plain", "{integration}");
            assert_eq!(body, "Hello from /orders/7", "{integration} {method}");
        }
    }
}

const HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("cookie", "a=1; b=2"),
    ("x-multi", "one"),
    ("x-multi", "two"),
    ("user-agent", "serve-http-test"),
];

#[tokio::test]
async fn an_http_api_event_carries_payload_2_0() {
    let server = serve_http(echo(), "http").await;
    let event = event_for(
        &server,
        "POST",
        "/orders/7%20b?tag=a&tag=b&q=x%26y",
        HEADERS,
        r#"{"n":1}"#,
    )
    .await;
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /{proxy+}");
    assert_eq!(event["rawPath"], "/orders/7%20b");
    assert_eq!(event["rawQueryString"], "tag=a&tag=b&q=x%26y");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert!(
        event["headers"].get("cookie").is_none(),
        "cookies are not headers"
    );
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert_eq!(
        event["queryStringParameters"],
        json!({"tag": "a,b", "q": "x&y"})
    );
    assert_eq!(event["pathParameters"], json!({"proxy": "orders/7 b"}));
    let context = &event["requestContext"];
    assert_eq!(context["http"]["method"], "POST");
    assert_eq!(context["http"]["path"], "/orders/7 b");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "serve-http-test");
    assert_eq!(context["stage"], "$default");
    assert!(
        context["requestId"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(context["timeEpoch"].as_u64().is_some());
    assert!(
        context["time"]
            .as_str()
            .is_some_and(|time| time.ends_with(" +0000"))
    );
    assert_eq!(event["body"], r#"{"n":1}"#);
    assert_eq!(event["isBase64Encoded"], false);
}

#[tokio::test]
async fn a_rest_api_event_carries_multi_value_maps_and_the_stage() {
    let server = serve_http(echo(), "rest").await;
    let event = event_for(&server, "PUT", "/orders/7?tag=a&tag=b", HEADERS, "x").await;
    assert_eq!(event["resource"], "/{proxy+}");
    assert_eq!(event["path"], "/orders/7");
    assert_eq!(event["httpMethod"], "PUT");
    assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["one", "two"]));
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert_eq!(event["headers"]["cookie"], "a=1; b=2");
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        json!(["a", "b"])
    );
    // The single-value map keeps the last value, as API Gateway's does.
    assert_eq!(event["queryStringParameters"]["tag"], "b");
    assert_eq!(event["pathParameters"], json!({"proxy": "orders/7"}));
    let context = &event["requestContext"];
    assert_eq!(context["stage"], "Prod");
    assert_eq!(context["path"], "/Prod/orders/7");
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["httpMethod"], "PUT");
    // A request without a query has null maps, as a REST API sends them.
    let bare = event_for(&server, "GET", "/", &[], "").await;
    assert_eq!(bare["queryStringParameters"], Value::Null);
    assert_eq!(bare["body"], Value::Null);
}

#[tokio::test]
async fn a_function_url_event_has_its_domain_and_no_route() {
    let server = serve_http(echo(), "url").await;
    let event = event_for(&server, "GET", "/widgets?size=2", &[], "").await;
    assert_eq!(event["routeKey"], "$default");
    assert!(
        event["requestContext"]["domainName"]
            .as_str()
            .is_some_and(|domain| domain.contains(".lambda-url.")),
        "{event}"
    );
    assert!(event.get("pathParameters").is_none());
    assert_eq!(event["queryStringParameters"], json!({"size": "2"}));
}

#[tokio::test]
async fn a_load_balancer_event_keeps_the_query_as_sent() {
    let server = serve_http(echo(), "alb").await;
    let event = event_for(&server, "GET", "/health?q=x%26y", &[], "").await;
    assert!(
        event["requestContext"]["elb"]["targetGroupArn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with("arn:aws:elasticloadbalancing:"))
    );
    assert_eq!(event["queryStringParameters"], json!({"q": "x%26y"}));
    assert_eq!(event["path"], "/health");
}

#[tokio::test]
async fn binary_bodies_arrive_base64_encoded() {
    let server = serve_http(echo(), "http").await;
    let event = event_for(
        &server,
        "POST",
        "/upload",
        &[("content-type", "application/octet-stream")],
        vec![0u8, 159, 146, 150, 255],
    )
    .await;
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slv8=");
}

#[tokio::test]
async fn bad_input_gets_what_api_gateway_gives_and_the_server_keeps_serving() {
    let mut server = serve_http(echo(), "http").await;
    let (status, _, body) = server.request("GET", "/fail", &[], "").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, r#"{"message":"Internal Server Error"}"#);
    let logged = server.lines_until("answered 502").await;
    assert!(
        logged
            .last()
            .is_some_and(|line| line.contains("Echo.Refused")),
        "{logged:?}"
    );
    let (status, _, _) = server.request("GET", "/malformed", &[], "").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let logged = server.lines_until("answered 502").await;
    assert!(
        logged
            .last()
            .is_some_and(|line| line.contains("statusCode")),
        "{logged:?}"
    );
    let (status, _, body) = server
        .request("POST", "/big", &[], vec![b'a'; 7 * 1024 * 1024])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, r#"{"message":"Request Too Long"}"#);
    let event = event_for(&server, "GET", "/after", &[], "").await;
    assert_eq!(event["rawPath"], "/after");
}

#[tokio::test]
async fn routes_name_the_route_key_and_path_parameters_and_other_paths_get_404() {
    let routes = [
        "--route",
        "GET /orders/{id}",
        "--route",
        "ANY /files/{path+}",
    ];
    let mut args = vec!["--serve-http", "127.0.0.1:0", "--integration", "http"];
    args.extend(routes);
    let mut server = LocalServer::start(echo(), &args, &[]).await;
    let order = event_for(&server, "GET", "/orders/7", &[], "").await;
    assert_eq!(order["routeKey"], "GET /orders/{id}");
    assert_eq!(order["requestContext"]["routeKey"], "GET /orders/{id}");
    assert_eq!(order["pathParameters"], json!({"id": "7"}));
    let file = event_for(&server, "PUT", "/files/a/b.txt", &[], "").await;
    assert_eq!(file["routeKey"], "ANY /files/{path+}");
    assert_eq!(file["pathParameters"], json!({"path": "a/b.txt"}));
    for (method, path) in [("GET", "/nothing"), ("POST", "/orders/7"), ("GET", "/")] {
        let (status, _, body) = server.request(method, path, &[], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body, r#"{"message":"Not Found"}"#);
        server.lines_until("no route takes it").await;
    }
    let again = event_for(&server, "GET", "/orders/8", &[], "").await;
    assert_eq!(again["pathParameters"], json!({"id": "8"}));

    let mut args = vec!["--serve-http", "127.0.0.1:0", "--integration", "rest"];
    args.extend(routes);
    let server = LocalServer::start(echo(), &args, &[]).await;
    let order = event_for(&server, "GET", "/orders/7", &[], "").await;
    assert_eq!(order["resource"], "/orders/{id}");
    assert_eq!(order["requestContext"]["resourcePath"], "/orders/{id}");
    assert_eq!(order["pathParameters"], json!({"id": "7"}));
}

#[tokio::test]
async fn a_rest_api_returns_502_with_its_own_message() {
    let server = serve_http(echo(), "rest").await;
    let (status, _, body) = server.request("GET", "/fail", &[], "").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, r#"{"message": "Internal server error"}"#);
}

#[tokio::test]
async fn streaming_integrations_pass_a_stream_on_and_the_others_get_it_buffered() {
    for integration in ["url", "rest", "http", "alb"] {
        let server = serve_http(env!("CARGO_BIN_EXE_form-http-streaming"), integration).await;
        let (status, headers, body) = server.request("GET", "/lines", &[], "").await;
        assert_eq!(status, StatusCode::OK, "{integration}");
        assert_eq!(headers["content-type"], "text/plain", "{integration}");
        assert_eq!(body, "/lines 1\n/lines 2\n/lines 3\n", "{integration}");
        let streamed = headers
            .get("transfer-encoding")
            .is_some_and(|value| value == "chunked");
        assert_eq!(
            streamed,
            matches!(integration, "url" | "rest"),
            "{integration}: {headers:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_that_fails_part_way_is_cut_off_and_the_server_keeps_serving() {
    let mut server = serve_http(env!("CARGO_BIN_EXE_form-http-streaming"), "url").await;
    let request = http::Request::get("/fail")
        .header("host", &server.address)
        .body(http_body_util::Full::new(Bytes::new()))
        .expect("a request");
    let response = server.send(request).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the head was sent already"
    );
    let mut body = response.into_body();
    let first = body
        .frame()
        .await
        .expect("a first frame")
        .expect("its bytes");
    assert_eq!(first.into_data().expect("data"), "/fail 1\n");
    // Then the connection is cut: the client sees the body end in an error, not a clean end.
    let mut rest = Vec::new();
    let ended_cleanly = loop {
        match body.frame().await {
            None => break true,
            Some(Err(_)) => break false,
            Some(Ok(frame)) => rest.extend(frame.into_data().unwrap_or_default()),
        }
    };
    assert!(!ended_cleanly, "the body ended as if whole after {rest:?}");
    let logged = server.lines_until("cut off").await;
    assert!(
        logged
            .last()
            .is_some_and(|line| line.contains("Lines.SourceGone")),
        "{logged:?}"
    );
    let (status, _, body) = server.request("GET", "/after", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "/after 1\n/after 2\n/after 3\n");
}

/// Every key `sam local generate-event` puts in its event is in ours, with a value of the
/// same JSON type (null on either side matches anything): the local API's events have the
/// shape the AWS tools generate. Needs `sam` (aws-sam-cli); the test command installs it.
#[tokio::test]
async fn events_have_the_shape_sam_generates() {
    let Some(sam) = which("sam") else {
        eprintln!("sam (aws-sam-cli) is not installed: the event shapes are not compared");
        return;
    };
    let cases = [
        ("http", &["apigateway", "http-api-proxy"][..], "POST"),
        ("rest", &["apigateway", "aws-proxy"][..], "POST"),
        ("alb", &["alb", "request"][..], "GET"),
    ];
    for (integration, generate, method) in cases {
        let output = std::process::Command::new(&sam)
            .args(["local", "generate-event"])
            .args(generate)
            .output()
            .expect("sam runs");
        assert!(output.status.success(), "sam {generate:?}: {output:?}");
        let generated: Value = serde_json::from_slice(&output.stdout).expect("sam prints JSON");
        let server = serve_http(echo(), integration).await;
        let ours = event_for(
            &server,
            method,
            "/path/to/resource?foo=bar",
            HEADERS,
            "body",
        )
        .await;
        let mut missing = Vec::new();
        compare_shape(&generated, &ours, String::new(), &mut missing);
        missing.retain(|path| !NOT_LOCAL.iter().any(|skip| path.starts_with(skip)));
        assert!(
            missing.is_empty(),
            "{integration}: fields sam generates that the local API's event lacks or types \
             differently: {missing:?}"
        );
    }
}

/// What sam's generated HTTP API event has that a local API cannot know: the authorizer and
/// the mutual-TLS authentication of a deployed API, and its stage variables.
const NOT_LOCAL: &[&str] = &[
    ".requestContext.authorizer",
    ".requestContext.authentication",
    ".stageVariables",
];

/// The maps whose keys come from the request (or the deployed API): sam's example names
/// are not expected in ours.
const REQUEST_MAPS: &[&str] = &[
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
];

/// Collects the paths of `expected`'s keys that `actual` lacks or types differently.
fn compare_shape(expected: &Value, actual: &Value, path: String, missing: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let path = format!("{path}.{key}");
                match actual.get(key) {
                    None => missing.push(path),
                    // A map of the request's own names: its type is the shape, not its keys.
                    Some(actual) if REQUEST_MAPS.contains(&key.as_str()) => {
                        if !(actual.is_object() || actual.is_null()) {
                            missing.push(format!("{path} (not a map: {actual})"));
                        }
                    }
                    Some(actual) => compare_shape(value, actual, path, missing),
                }
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Array(_), Value::Array(_))
        | (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (expected, actual) => missing.push(format!("{path} ({expected} vs {actual})")),
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|path| path.is_file())
}
