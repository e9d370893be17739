//! An OTLP/HTTP traces receiver on 127.0.0.1: it decodes each export request (protobuf or
//! JSON, by its content type) with the `opentelemetry-proto` types a collector uses, and
//! hands it to the test with what the test observed at the moment it arrived.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the receiver does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Decodes it and answers 200, as a collector does.
    Answer,
    /// Decodes it and never answers (a receiver that hangs).
    Hang,
}

/// One export request as it arrived.
#[derive(Debug)]
pub struct Export<T> {
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its headers.
    pub headers: http::HeaderMap,
    /// Its decoded body.
    pub request: ExportTraceServiceRequest,
    /// What the test's observer returned when it arrived, before it was answered.
    pub observed: T,
}

impl<T> Export<T> {
    /// Every span of the request.
    pub fn spans(&self) -> Vec<&Span> {
        self.request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .flat_map(|scope| &scope.spans)
            .collect()
    }

    /// The first resource's attributes.
    pub fn resource(&self) -> &[KeyValue] {
        self.request
            .resource_spans
            .first()
            .and_then(|spans| spans.resource.as_ref())
            .map_or(&[], |resource| &resource.attributes)
    }
}

/// A running receiver; it stops when dropped.
#[derive(Debug)]
pub struct Receiver<T> {
    address: SocketAddr,
    exports: mpsc::UnboundedReceiver<Export<T>>,
    server: tokio::task::AbortHandle,
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// Starts a receiver; `observe` runs as each request arrives.
    pub async fn start(
        behaviour: Behaviour,
        observe: impl Fn() -> T + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("an address");
        let (sender, exports) = mpsc::unbounded_channel();
        let observe: Arc<dyn Fn() -> T + Send + Sync> = Arc::new(observe);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (sender, observe) = (sender.clone(), Arc::clone(&observe));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        receive(request, behaviour, sender.clone(), Arc::clone(&observe))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            address,
            exports,
            server: server.abort_handle(),
        }
    }

    /// The traces URL (`http://127.0.0.1:PORT/v1/traces`).
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.address)
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The next export request. Waiting over a minute fails the test (rather than hanging
    /// it) when no export comes.
    pub async fn next(&mut self) -> Export<T> {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.exports.recv())
            .await
            .expect("an export within a minute")
            .expect("the receiver runs")
    }
}

async fn receive<T>(
    request: Request<Incoming>,
    behaviour: Behaviour,
    sender: mpsc::UnboundedSender<Export<T>>,
    observe: Arc<dyn Fn() -> T + Send + Sync>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let observed = observe();
    assert_eq!(request.uri().path(), "/v1/traces");
    let headers = request.headers().clone();
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    let request = if content_type == "application/json" {
        serde_json::from_slice(&body).expect("an OTLP/JSON export request")
    } else {
        ExportTraceServiceRequest::decode(body).expect("an OTLP/protobuf export request")
    };
    let json = content_type == "application/json";
    let _ = sender.send(Export {
        content_type,
        headers,
        request,
        observed,
    });
    if behaviour == Behaviour::Hang {
        std::future::pending::<()>().await;
    }
    let body = if json {
        Bytes::from_static(b"{}")
    } else {
        Bytes::new()
    };
    Ok(Response::new(Full::new(body)))
}

/// The value of attribute `key`, as text (numbers and booleans as written in JSON).
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes
        .iter()
        .find(|pair| pair.key == key)?
        .value
        .as_ref()?;
    Some(text(value))
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::IntValue(n)) => n.to_string(),
        Some(any_value::Value::DoubleValue(n)) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Lowercase hex of an id.
pub fn hex(id: &[u8]) -> String {
    id.iter().map(|byte| format!("{byte:02x}")).collect()
}
