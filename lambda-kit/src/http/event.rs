//! Recognising an HTTP event: one cheap probe of a few fields, then one typed parse.

use aws_lambda_events::alb::AlbTargetGroupRequest;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::vpc_lattice::{VpcLatticeRequestV1, VpcLatticeRequestV2};
use serde::de::{Deserializer, Error as _, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Which integration sent the request; the response is written in its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// API Gateway REST API, proxy integration (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayV2,
    /// A Lambda function URL (payload format 2.0).
    FunctionUrl,
    /// An Application Load Balancer target group.
    Alb,
    /// An API Gateway WebSocket API.
    WebSocket,
    /// A VPC Lattice target group with Lambda event structure version 1 (snake_case keys).
    VpcLatticeV1,
    /// A VPC Lattice target group with Lambda event structure version 2.
    VpcLatticeV2,
}

/// An HTTP request from any of the integrations, decoded into its typed event.
#[derive(Debug, Clone)]
pub enum HttpEvent {
    /// REST API.
    ApiGatewayV1(Box<ApiGatewayProxyRequest>),
    /// HTTP API or function URL.
    ApiGatewayV2(Box<ApiGatewayV2httpRequest>, Source),
    /// Application Load Balancer.
    Alb(Box<AlbTargetGroupRequest>),
    /// WebSocket API.
    WebSocket(Box<ApiGatewayWebsocketProxyRequest>),
    /// VPC Lattice, event structure version 1.
    VpcLatticeV1(Box<VpcLatticeRequestV1>),
    /// VPC Lattice, event structure version 2.
    VpcLatticeV2(Box<VpcLatticeRequestV2>),
}

impl HttpEvent {
    /// The integration that sent it.
    pub fn source(&self) -> Source {
        match self {
            HttpEvent::ApiGatewayV1(_) => Source::ApiGatewayV1,
            HttpEvent::ApiGatewayV2(_, source) => *source,
            HttpEvent::Alb(_) => Source::Alb,
            HttpEvent::WebSocket(_) => Source::WebSocket,
            HttpEvent::VpcLatticeV1(_) => Source::VpcLatticeV1,
            HttpEvent::VpcLatticeV2(_) => Source::VpcLatticeV2,
        }
    }
}

/// The few fields that tell the integrations apart; everything else is skipped unread.
#[derive(Deserialize)]
struct Probe {
    version: Option<String>,
    #[serde(rename = "httpMethod")]
    http_method: Option<IgnoredAny>,
    #[serde(rename = "requestContext")]
    request_context: Option<ProbeContext>,
    #[serde(rename = "queryStringParameters")]
    query: Option<ProbeQuery>,
    #[serde(rename = "multiValueQueryStringParameters")]
    multi_value_query: Option<ProbeQuery>,
    /// VPC Lattice's version 1 event is the only one with snake_case keys.
    raw_path: Option<IgnoredAny>,
}

/// A query parameter map, read only to refuse a parameter with an empty list of values.
/// No integration sends one, and the typed event's query map panics when it meets one.
#[derive(Deserialize)]
struct ProbeQuery(std::collections::HashMap<String, ProbeQueryValue>);

#[derive(Deserialize)]
#[serde(untagged)]
enum ProbeQueryValue {
    Many(Vec<IgnoredAny>),
    Other(IgnoredAny),
}

impl ProbeQuery {
    /// The first parameter whose value is `[]`.
    fn empty_parameter(&self) -> Option<&str> {
        self.0.iter().find_map(|(name, value)| match value {
            ProbeQueryValue::Many(values) if values.is_empty() => Some(name.as_str()),
            _ => None,
        })
    }
}

#[derive(Deserialize)]
struct ProbeContext {
    elb: Option<IgnoredAny>,
    #[serde(rename = "eventType")]
    event_type: Option<IgnoredAny>,
    #[serde(rename = "domainName")]
    domain_name: Option<String>,
    #[serde(rename = "targetGroupArn")]
    target_group_arn: Option<String>,
}

impl<'de> Deserialize<'de> for HttpEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let probe: Probe = serde_json::from_str(text).map_err(D::Error::custom)?;
        let queries = [probe.query.as_ref(), probe.multi_value_query.as_ref()];
        if let Some(name) = queries
            .into_iter()
            .flatten()
            .find_map(ProbeQuery::empty_parameter)
        {
            return Err(D::Error::custom(format!(
                "query parameter `{name}` has an empty list of values"
            )));
        }
        let context = probe.request_context.as_ref();
        let parse = |error: serde_json::Error| D::Error::custom(error);
        // Lattice's version 2 says "2.0" too: its target group ARN tells it from an HTTP API.
        let lattice_v2 = context
            .and_then(|context| context.target_group_arn.as_deref())
            .is_some_and(|arn| arn.starts_with("arn:aws:vpc-lattice:"));
        if lattice_v2 {
            return serde_json::from_str(text)
                .map(|e| HttpEvent::VpcLatticeV2(Box::new(e)))
                .map_err(parse);
        }
        if probe.raw_path.is_some() {
            return serde_json::from_str(text)
                .map(|e| HttpEvent::VpcLatticeV1(Box::new(e)))
                .map_err(parse);
        }
        if context.is_some_and(|context| context.elb.is_some()) {
            return serde_json::from_str(text)
                .map(|e| HttpEvent::Alb(Box::new(e)))
                .map_err(parse);
        }
        if context.is_some_and(|context| context.event_type.is_some()) {
            return serde_json::from_str(text)
                .map(|e| HttpEvent::WebSocket(Box::new(e)))
                .map_err(parse);
        }
        if probe.version.as_deref() == Some("2.0") {
            let function_url = context
                .and_then(|context| context.domain_name.as_deref())
                .is_some_and(|domain| domain.contains(".lambda-url."));
            let source = if function_url {
                Source::FunctionUrl
            } else {
                Source::ApiGatewayV2
            };
            return serde_json::from_str(text)
                .map(|e| HttpEvent::ApiGatewayV2(Box::new(e), source))
                .map_err(parse);
        }
        if probe.http_method.is_some() {
            return serde_json::from_str(text)
                .map(|e| HttpEvent::ApiGatewayV1(Box::new(e)))
                .map_err(parse);
        }
        Err(D::Error::custom(
            "not an HTTP event: expected one from API Gateway (REST, HTTP or WebSocket API), \
             an Application Load Balancer, a function URL or VPC Lattice",
        ))
    }
}
