//! HTTP adapters: each integration's event becomes an `http::Request`, and the response
//! goes back in that integration's shape.

use std::convert::Infallible;

use ::http::{Request, Response};
use lambda_kit::http::{Body, PathParameters, RequestContext, Source, StageVariables, service};
use lambda_kit::testing::{self, FakeInvocation};
use lambda_kit::tower::service_fn;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture exists")).expect("fixture parses")
}

/// Describes the request it got; answers with two cookies, a repeated header and, for
/// `/image`, a binary body.
async fn describe(request: Request<Body>) -> Result<Response<String>, Infallible> {
    let extensions = request.extensions();
    let source = extensions.get::<Source>().copied();
    let connection = match extensions.get::<RequestContext>() {
        Some(RequestContext::WebSocket(context)) => context.connection_id.clone(),
        _ => None,
    };
    let path_parameters = extensions
        .get::<PathParameters>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let stage_variables = extensions
        .get::<StageVariables>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    let request_id = extensions
        .get::<lambda_kit::Context>()
        .map(|c| c.request_id().to_owned());
    let header = |name: &str| {
        request
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let description = json!({
        "source": source.map(|s| format!("{s:?}")),
        "method": request.method().as_str(),
        "uri": request.uri().to_string(),
        "accept": header("accept"),
        "cookie": header("cookie"),
        "pathParameters": path_parameters,
        "stageVariables": stage_variables,
        "connection": connection,
        "hasRequestId": request_id.is_some(),
        "body": String::from_utf8_lossy(&http_body_util::BodyExt::collect(request.into_body()).await.map(|b| b.to_bytes()).unwrap_or_default()),
    });
    let response = Response::builder()
        .header("content-type", "application/json")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .header("x-repeat", "x")
        .header("x-repeat", "y")
        .body(description.to_string())
        .expect("a valid response");
    Ok(response)
}

async fn invoke(event: Value) -> Value {
    testing::invoke(service(service_fn(describe)), event)
        .await
        .expect_response()
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a text body")).expect("JSON body")
}

#[tokio::test]
async fn rest_api_requests_use_multi_value_headers_and_answer_with_them() {
    let response = invoke(fixture("apigw-v1.json")).await;
    let seen = body(&response);
    assert_eq!(seen["source"], "ApiGatewayV1");
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["uri"], "/orders/42?expand=items&tag=a&tag=b");
    assert_eq!(seen["accept"], json!(["text/html", "application/json"]));
    assert_eq!(seen["pathParameters"], json!({"id": "42"}));
    assert_eq!(seen["stageVariables"], json!({"tier": "gold"}));
    assert_eq!(seen["body"], "{\"quantity\": 3}");
    assert_eq!(seen["hasRequestId"], true);
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(
        response["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
    assert_eq!(response["multiValueHeaders"]["x-repeat"], json!(["x", "y"]));
    assert_eq!(response["headers"]["x-repeat"], "x,y");
    assert!(response.get("cookies").is_none());
}

#[tokio::test]
async fn http_api_requests_get_cookies_back_and_base64_bodies_decoded() {
    let response = invoke(fixture("apigw-v2.json")).await;
    let seen = body(&response);
    assert_eq!(seen["source"], "ApiGatewayV2");
    assert_eq!(seen["uri"], "/orders?page=2&sort=desc");
    assert_eq!(seen["cookie"], json!(["session=abc; theme=dark"]));
    assert_eq!(seen["body"], "hello world");
    assert_eq!(response["cookies"], json!(["a=1", "b=2"]));
    assert!(
        response["headers"].get("set-cookie").is_none(),
        "cookies are not headers in payload 2.0"
    );
    assert_eq!(response["headers"]["x-repeat"], "x,y");
    assert!(response.get("multiValueHeaders").is_none());
}

#[tokio::test]
async fn function_urls_are_recognised() {
    let seen = body(&invoke(fixture("function-url.json")).await);
    assert_eq!(seen["source"], "FunctionUrl");
    assert_eq!(seen["uri"], "/widgets");
}

#[tokio::test]
async fn load_balancers_get_a_status_description_and_their_header_mode() {
    let single = invoke(fixture("alb.json")).await;
    assert_eq!(body(&single)["source"], "Alb");
    assert_eq!(body(&single)["uri"], "/health?verbose=1");
    assert_eq!(single["statusDescription"], "200 OK");
    assert!(single.get("headers").is_some() && single.get("multiValueHeaders").is_none());

    let multi = invoke(fixture("alb-multi.json")).await;
    assert_eq!(
        body(&multi)["accept"],
        json!(["text/html", "application/json"])
    );
    assert!(multi.get("headers").is_none());
    assert_eq!(
        multi["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
}

#[tokio::test]
async fn websocket_messages_carry_their_connection() {
    let response = invoke(fixture("websocket.json")).await;
    let seen = body(&response);
    assert_eq!(seen["source"], "WebSocket");
    assert_eq!(seen["connection"], "conn-123=");
    assert_eq!(seen["body"], "{\"action\":\"sendmessage\",\"text\":\"hi\"}");
}

#[tokio::test]
async fn vpc_lattice_v2_requests_keep_the_query_as_sent_and_get_lattice_responses() {
    let response = invoke(fixture("vpc-lattice-v2.json")).await;
    let seen = body(&response);
    assert_eq!(seen["source"], "VpcLatticeV2");
    assert_eq!(seen["method"], "POST");
    assert_eq!(
        seen["uri"],
        "/inventory/items?category=tools&tag=red&tag=blue"
    );
    assert_eq!(seen["accept"], json!(["text/html", "application/json"]));
    assert_eq!(seen["cookie"], json!(["region=eu"]));
    assert_eq!(seen["body"], "{\"sku\": \"h-1\"}");
    assert_eq!(seen["hasRequestId"], true);
    // Lattice's response: one value per header, cookies among them.
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(response["headers"]["x-repeat"], "x,y");
    assert_eq!(response["headers"]["set-cookie"], "a=1,b=2");
    assert!(response.get("multiValueHeaders").is_none());
    assert!(response.get("cookies").is_none());
    assert!(response.get("statusDescription").is_none());
}

#[tokio::test]
async fn vpc_lattice_v2_context_reaches_the_service() {
    let context_of = service_fn(|request: Request<Body>| async move {
        let principal = match request.extensions().get::<RequestContext>() {
            Some(RequestContext::VpcLatticeV2(context)) => context
                .identity
                .as_ref()
                .and_then(|identity| identity.principal.clone()),
            _ => None,
        };
        Ok::<_, Infallible>(Response::new(principal.unwrap_or_default()))
    });
    let response = testing::invoke(service(context_of), fixture("vpc-lattice-v2.json"))
        .await
        .expect_response();
    assert_eq!(
        response["body"],
        "arn:aws:sts::210987654321:assumed-role/inventory-reader/session-7"
    );
}

#[tokio::test]
async fn vpc_lattice_v1_requests_are_recognised_by_their_snake_case_keys() {
    let response = invoke(fixture("vpc-lattice-v1.json")).await;
    let seen = body(&response);
    assert_eq!(seen["source"], "VpcLatticeV1");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["uri"], "/inventory/items/h-1?fields=name,price");
    assert_eq!(seen["body"], "");
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn a_vpc_lattice_event_without_a_method_is_an_unmarshal_error() {
    let mut event = fixture("vpc-lattice-v2.json");
    event.as_object_mut().expect("an object").remove("method");
    let error = testing::invoke(service(service_fn(describe)), event)
        .await
        .expect_error();
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(error.error_message.contains("no `method`"), "{error:?}");
}

async fn image(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    let png = bytes::Bytes::from_static(&[0x89, b'P', b'N', b'G', 0, 255]);
    Ok(Response::builder()
        .header("content-type", "image/png")
        .body(Body::new(png))
        .expect("a valid response"))
}

#[tokio::test]
async fn binary_responses_are_base64_encoded() {
    let response = testing::invoke(service(service_fn(image)), fixture("function-url.json"))
        .await
        .expect_response();
    assert_eq!(response["isBase64Encoded"], true);
    assert_eq!(response["body"], "iVBORwD/");
}

#[tokio::test]
async fn a_non_http_event_is_a_clear_unmarshal_error() {
    let error = testing::invoke(service(service_fn(describe)), json!({"Records": []}))
        .await
        .expect_error();
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(
        error.error_message.contains("not an HTTP event"),
        "{}",
        error.error_message
    );
    let mut broken = fixture("apigw-v2.json");
    broken["body"] = json!("%%% not base64");
    let error = testing::invoke(service(service_fn(describe)), broken)
        .await
        .expect_error();
    assert!(
        error.error_message.contains("isBase64Encoded"),
        "{}",
        error.error_message
    );
}

/// Found by the `http_event` fuzz target: a query parameter with no values at all made the
/// typed event's query map panic; it is a decode error now.
#[tokio::test]
async fn a_query_parameter_with_an_empty_list_is_a_decode_error() {
    for (fixture_name, field) in [
        ("apigw-v1.json", "multiValueQueryStringParameters"),
        ("apigw-v1.json", "queryStringParameters"),
        ("alb.json", "queryStringParameters"),
    ] {
        let mut event = fixture(fixture_name);
        event[field] = json!({"page": []});
        let error = testing::invoke(service(service_fn(describe)), event)
            .await
            .expect_error();
        assert_eq!(
            error.error_type, "Runtime.UnmarshalError",
            "{fixture_name} {field}"
        );
        assert!(
            error.error_message.contains("`page` has an empty list"),
            "{}",
            error.error_message
        );
    }
}

/// Found by the `http_event` fuzz target: a path without its leading `/` must stay a path,
/// not become another host.
#[tokio::test]
async fn a_path_without_a_leading_slash_stays_a_path() {
    for (raw_path, uri) in [
        ("orders", "/orders?page=2&sort=desc"),
        (
            "http://other.example/x",
            "/http://other.example/x?page=2&sort=desc",
        ),
    ] {
        let mut event = fixture("apigw-v2.json");
        event["rawPath"] = json!(raw_path);
        let seen = body(&invoke(event).await);
        assert_eq!(seen["uri"], uri, "{raw_path}");
    }
}

/// The handler's path, and that path decoded again.
async fn seen_path(event: Value) -> (String, String) {
    let seen = body(&invoke(event).await);
    let uri: ::http::Uri = seen["uri"]
        .as_str()
        .expect("a uri")
        .parse()
        .expect("a valid uri");
    let decoded = percent_decode(uri.path());
    (uri.path().to_owned(), decoded)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' && at + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("an escape"));
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

/// Decoded paths, as API Gateway sends them (REST `path`, HTTP API and function URL
/// `rawPath`), and the path the handler must see for each.
const DECODED_PATHS: [(&str, &str); 6] = [
    ("/files/my doc.pdf", "/files/my%20doc.pdf"),
    ("/discount/100%", "/discount/100%25"),
    ("/tags/c#/notes", "/tags/c%23/notes"),
    ("/why?/because", "/why%3F/because"),
    ("/caf\u{e9}/\u{1F600}", "/caf%C3%A9/%F0%9F%98%80"),
    ("/literal/%2F/slash", "/literal/%252F/slash"),
];

#[tokio::test]
async fn decoded_paths_reach_the_handler_encoded_and_decode_back() {
    for (fixture_name, field) in [
        ("apigw-v1.json", "path"),
        ("apigw-v2.json", "rawPath"),
        ("function-url.json", "rawPath"),
    ] {
        for (sent, expected) in DECODED_PATHS {
            let mut event = fixture(fixture_name);
            event[field] = json!(sent);
            let (path, decoded) = seen_path(event).await;
            assert_eq!(path, expected, "{fixture_name}: {sent:?}");
            assert_eq!(decoded, sent, "{fixture_name}: {sent:?}");
        }
    }
}

#[tokio::test]
async fn load_balancer_paths_keep_their_escapes_and_encode_the_rest() {
    for (sent, expected) in [
        ("/files/my%20doc.pdf", "/files/my%20doc.pdf"),
        ("/a%2Fb", "/a%2Fb"),
        ("/raw space", "/raw%20space"),
        ("/caf\u{e9}", "/caf%C3%A9"),
    ] {
        let mut event = fixture("alb.json");
        event["path"] = json!(sent);
        let (path, _) = seen_path(event).await;
        assert_eq!(path, expected, "{sent:?}");
    }
}

#[tokio::test]
async fn query_values_that_a_uri_cannot_hold_are_encoded() {
    // REST APIs send decoded values: every one is encoded.
    let mut event = fixture("apigw-v1.json");
    event["queryStringParameters"] = json!({"q": "a b#c?d&e", "name": "caf\u{e9}"});
    event["multiValueQueryStringParameters"] = json!({"q": ["a b#c?d&e"], "name": ["caf\u{e9}"]});
    let seen = body(&invoke(event).await);
    let uri: ::http::Uri = seen["uri"].as_str().expect("uri").parse().expect("valid");
    assert_eq!(uri.query(), Some("name=caf%C3%A9&q=a%20b%23c%3Fd%26e"));
    // An HTTP API's raw query string keeps its escapes; what a URI cannot hold is encoded.
    let mut event = fixture("apigw-v2.json");
    event["rawQueryString"] = json!("q=a%20b&raw=x y&u=\u{e9}");
    let seen = body(&invoke(event).await);
    let uri: ::http::Uri = seen["uri"].as_str().expect("uri").parse().expect("valid");
    assert_eq!(uri.query(), Some("q=a%20b&raw=x%20y&u=%C3%A9"));
}

#[tokio::test]
async fn an_http_service_runs_in_the_real_loop() {
    let (api, _runtime) = tests::start(service(service_fn(describe))).await;
    let id = api.push_invocation(FakeInvocation::json(&fixture("apigw-v2.json")));
    let response = api.response_json(&id).await;
    assert_eq!(body(&response)["source"], "ApiGatewayV2");
}
