//! The event an integration sends Lambda for an HTTP request, built as API Gateway, a
//! function URL or a load balancer would: the request context (request id, time, source
//! IP, stage), the path parameters of a `{proxy+}` route, cookies and multi-value headers
//! as each shape carries them, and base64 bodies for content types that are not text.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::request::Parts;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::Integration;
use super::route::Matched;

/// The account id the events carry (the one the emulator's function ARN has).
const ACCOUNT_ID: &str = "123456789012";
/// The API id, and the function URL's id, of the local API.
const API_ID: &str = "local";
/// The REST API's stage, as `sam local start-api` names it.
const REST_STAGE: &str = "Prod";

/// What the event is made of besides the request itself.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// Who sent the request.
    pub(crate) peer: SocketAddr,
    /// The function's region, for the function URL's domain.
    pub(crate) region: String,
    /// When the request arrived.
    pub(crate) time: SystemTime,
    /// The integration's own request id.
    pub(crate) request_id: String,
}

/// The event `integration` sends for a request with `parts` and `body`.
pub(crate) fn event(
    integration: Integration,
    route: &Matched<'_>,
    parts: &Parts,
    body: &[u8],
    origin: &Origin,
) -> Value {
    let request = Request::new(parts, body);
    match integration {
        Integration::HttpApi => payload_v2(&request, origin, Some(route)),
        Integration::FunctionUrl => payload_v2(&request, origin, None),
        Integration::RestApi => rest(&request, origin, route),
        Integration::Alb => alb(&request),
    }
}

/// The request, read once into what the shapes are made of.
struct Request<'a> {
    method: &'a str,
    /// The path as the client sent it (percent-encoded).
    raw_path: &'a str,
    /// The path percent-decoded, as API Gateway passes it on.
    path: String,
    raw_query: &'a str,
    /// Each query parameter's values, decoded, in the order sent.
    query: BTreeMap<String, Vec<String>>,
    /// Each header's values (names lower-cased), in the order sent.
    headers: BTreeMap<String, Vec<String>>,
    /// The `Cookie` header's cookies, one by one.
    cookies: Vec<String>,
    user_agent: String,
    /// The body as the shapes carry it (`None` when empty), and whether that is base64.
    body: Option<(String, bool)>,
}

impl<'a> Request<'a> {
    fn new(parts: &'a Parts, body: &[u8]) -> Self {
        let raw_path = parts.uri.path();
        let raw_query = parts.uri.query().unwrap_or_default();
        let headers = header_values(&parts.headers);
        let cookies = headers
            .get("cookie")
            .into_iter()
            .flatten()
            .flat_map(|value| value.split(';'))
            .map(|cookie| cookie.trim().to_owned())
            .filter(|cookie| !cookie.is_empty())
            .collect();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        Request {
            method: parts.method.as_str(),
            raw_path,
            path: percent_decode_str(raw_path)
                .decode_utf8_lossy()
                .into_owned(),
            raw_query,
            query: query_values(raw_query),
            user_agent: first(&headers, "user-agent").unwrap_or_default().to_owned(),
            headers,
            cookies,
            body: (!body.is_empty()).then(|| crate::body_text::encode(content_type, body)),
        }
    }

    fn body_text(&self) -> Option<&str> {
        self.body.as_ref().map(|(text, _)| text.as_str())
    }

    fn is_base64(&self) -> bool {
        self.body.as_ref().is_some_and(|(_, base64)| *base64)
    }

    /// Repeated headers joined with `,`, as single-value maps carry them.
    fn joined_headers(&self, skip: Option<&str>) -> BTreeMap<&str, String> {
        self.headers
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != skip)
            .map(|(name, values)| (name.as_str(), values.join(",")))
            .collect()
    }

    /// Each query parameter's values joined with `,` (payload 2.0), or its last value
    /// (payload 1.0's single-value map, `last`).
    fn single_query(&self, last: bool) -> BTreeMap<&str, String> {
        self.query
            .iter()
            .map(|(name, values)| {
                let value = match last {
                    true => values.last().cloned().unwrap_or_default(),
                    false => values.join(","),
                };
                (name.as_str(), value)
            })
            .collect()
    }
}

/// An HTTP API's payload 2.0 for its `route`, or a function URL's (the same shape, its own
/// domain, no route).
fn payload_v2(request: &Request<'_>, origin: &Origin, route: Option<&Matched<'_>>) -> Value {
    let function_url = route.is_none();
    let domain_name = if function_url {
        format!("{API_ID}.lambda-url.{}.on.aws", origin.region)
    } else {
        first(&request.headers, "host")
            .unwrap_or("localhost")
            .to_owned()
    };
    let route_key = route.map_or_else(|| "$default".to_owned(), |route| route.route.key());
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": request.joined_headers(Some("cookie")),
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain_name,
            "domainPrefix": domain_name.split('.').next().unwrap_or(API_ID),
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": origin.peer.ip().to_string(),
                "userAgent": request.user_agent,
            },
            "requestId": origin.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": clf_time(origin.time),
            "timeEpoch": epoch_ms(origin.time),
        },
        "isBase64Encoded": request.is_base64(),
    });
    if !request.cookies.is_empty() {
        event["cookies"] = json!(request.cookies);
    }
    if !request.query.is_empty() {
        event["queryStringParameters"] = json!(request.single_query(false));
    }
    if let Some(route) = route.filter(|route| !route.parameters.is_empty()) {
        event["pathParameters"] = json!(route.parameters);
    }
    if let Some(body) = request.body_text() {
        event["body"] = json!(body);
    }
    event
}

/// A REST API's proxy integration (payload 1.0) on `route`'s resource.
fn rest(request: &Request<'_>, origin: &Origin, route: &Matched<'_>) -> Value {
    let nullable = |map: Value| match map.as_object() {
        Some(object) if object.is_empty() => Value::Null,
        _ => map,
    };
    json!({
        "resource": route.route.template(),
        "path": request.path,
        "httpMethod": request.method,
        "headers": nullable(json!(request.joined_headers(None))),
        "multiValueHeaders": nullable(json!(request.headers)),
        "queryStringParameters": nullable(json!(request.single_query(true))),
        "multiValueQueryStringParameters": nullable(json!(request.query)),
        "pathParameters": nullable(json!(route.parameters)),
        "stageVariables": null,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": "proxy",
            "resourcePath": route.route.template(),
            "httpMethod": request.method,
            "path": format!("/{REST_STAGE}{}", request.path),
            "protocol": "HTTP/1.1",
            "stage": REST_STAGE,
            "domainName": first(&request.headers, "host").unwrap_or("localhost"),
            "domainPrefix": API_ID,
            "requestId": origin.request_id,
            "extendedRequestId": origin.request_id,
            "requestTime": clf_time(origin.time),
            "requestTimeEpoch": epoch_ms(origin.time),
            "identity": {
                "sourceIp": origin.peer.ip().to_string(),
                "userAgent": request.user_agent,
                "accountId": null,
                "caller": null,
                "user": null,
                "userArn": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "accessKey": null,
                "apiKey": null,
                "apiKeyId": null,
            },
            "authorizer": null,
        },
        "body": request.body_text(),
        "isBase64Encoded": request.is_base64(),
    })
}

/// An Application Load Balancer's event, with single-value headers (the target group's
/// default). The load balancer passes the query on as the client sent it.
fn alb(request: &Request<'_>) -> Value {
    let query: BTreeMap<&str, &str> = request
        .raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    json!({
        "requestContext": {
            "elb": {
                "targetGroupArn": format!(
                    "arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_ID}:targetgroup/{API_ID}/0123456789abcdef"
                ),
            },
        },
        "httpMethod": request.method,
        "path": request.raw_path,
        "queryStringParameters": query,
        "headers": request.joined_headers(None),
        "body": request.body_text().unwrap_or_default(),
        "isBase64Encoded": request.is_base64(),
    })
}

/// Each header's values, names lower-cased (HTTP/1 names are case-insensitive; API
/// Gateway's payload 2.0 lower-cases them too).
fn header_values(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        values
            .entry(name.as_str().to_owned())
            .or_default()
            .push(value);
    }
    values
}

fn first<'a>(values: &'a BTreeMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    values.get(name)?.first().map(String::as_str)
}

/// The query string's parameters, percent-decoded, each name's values in order.
fn query_values(raw_query: &str) -> BTreeMap<String, Vec<String>> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        query.entry(decode(name)).or_default().push(decode(value));
    }
    query
}

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// A time as API Gateway writes it: `07/Dec/2026:17:20:05 +0000` (the Common Log
/// Format's, in UTC).
fn clf_time(time: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let (year, month, day) = crate::utc::civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[usize::from(month - 1)],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_api_gateway_writes_them() {
        // Checked against humantime's RFC 3339 formatting of the same instants, over
        // leap days, year ends and a century.
        for seconds in crate::utc::TEST_INSTANTS {
            let time = UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            let rfc3339 = humantime::format_rfc3339_seconds(time).to_string();
            let (date, clock) = rfc3339.trim_end_matches('Z').split_once('T').expect("T");
            let mut date = date.split('-');
            let (year, month, day) = (date.next(), date.next(), date.next());
            let month: usize = month.and_then(|m| m.parse().ok()).expect("month");
            let expected = format!(
                "{}/{}/{}:{clock} +0000",
                day.expect("day"),
                [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec"
                ][month - 1],
                year.expect("year")
            );
            assert_eq!(clf_time(time), expected, "{seconds}");
        }
    }

    #[test]
    fn queries_are_decoded_and_keep_every_value() {
        let query = query_values("tag=a&tag=b%20c&empty=&flag");
        assert_eq!(query["tag"], ["a", "b c"]);
        assert_eq!(query["empty"], [""]);
        assert_eq!(query["flag"], [""]);
    }
}
