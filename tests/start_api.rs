//! `cargo lambda-kit start-api`: two functions of a SAM template behind one local API,
//! each request routed to its function as API Gateway routes it, each function URL on an
//! address of its own. The functions are this package's built binaries.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use cargo_lambda_kit::{Binaries, Options};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tests::local::send_to;

async fn get(address: &str, method: &str, path: &str) -> (StatusCode, http::HeaderMap, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", address)
        .body(Full::new(Bytes::new()))
        .expect("a request");
    let (parts, body) = send_to(address, request).await.into_parts();
    let body = body.collect().await.expect("the body").to_bytes();
    (parts.status, parts.headers, body)
}

fn built_binaries() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_event-echo"))
        .parent()
        .expect("the binaries' folder")
        .to_owned()
}

#[tokio::test]
async fn a_template_s_functions_are_routed_as_api_gateway_routes_them() {
    let options = Options {
        template: Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/start-api/template.yaml"),
        address: "127.0.0.1:0".into(),
        binaries: Binaries::In(built_binaries()),
        timeout_seconds: 30,
    };
    let api = cargo_lambda_kit::start(&options).await.expect("starts");
    let address = api.address.to_string();
    assert_eq!(
        api.routes,
        [
            ("EchoFunction".to_owned(), "GET /orders/{id}".to_owned()),
            ("EchoFunction".to_owned(), "ANY /items/{proxy+}".to_owned()),
            ("LinesFunction".to_owned(), "GET /lines".to_owned()),
        ]
    );
    let function_url = api.function_urls[0].1.clone();
    assert_eq!(api.function_urls[0].0, "LinesFunction");
    let _serving = tokio::spawn(api.serve());

    // The Api event: a REST API's event for the route's resource.
    let (status, _, body) = get(&address, "GET", "/orders/7").await;
    assert_eq!(status, StatusCode::OK);
    let event: Value = serde_json::from_slice(&body).expect("the echoed event");
    assert_eq!(event["resource"], "/orders/{id}");
    assert_eq!(event["pathParameters"], json!({"id": "7"}));

    // The HttpApi event: payload 2.0 with the route key.
    let (status, _, body) = get(&address, "POST", "/items/a/b").await;
    assert_eq!(status, StatusCode::OK);
    let event: Value = serde_json::from_slice(&body).expect("the echoed event");
    assert_eq!(event["routeKey"], "ANY /items/{proxy+}");
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b"}));

    // Another function's route, answered buffered by an HTTP API.
    let (status, headers, body) = get(&address, "GET", "/lines").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "/lines 1\n/lines 2\n/lines 3\n");
    assert!(headers.get("transfer-encoding").is_none(), "{headers:?}");

    // No route, or not the route's method: 404.
    for (method, path) in [("GET", "/nothing"), ("DELETE", "/orders/7")] {
        let (status, _, body) = get(&address, method, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body, r#"{"message":"Not Found"}"#);
    }

    // The function URL, on its own address, streams.
    let (status, headers, body) = get(&function_url, "GET", "/anything").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["transfer-encoding"], "chunked");
    assert_eq!(body, "/anything 1\n/anything 2\n/anything 3\n");
}
