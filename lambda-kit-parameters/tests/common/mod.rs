//! What the provider tests share: the moto server that `scripts/test-servers.sh` starts
//! (one server speaks SSM, Secrets Manager and DynamoDB), AWS configuration pointed at an
//! endpoint, unique names, and a TCP proxy that can hold, stall or refuse connections to
//! show what a read does when its store misbehaves.

#![allow(dead_code)] // each test target uses its own part

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `http://127.0.0.1:PORT` of the moto server.
pub(crate) fn moto_url() -> String {
    std::env::var("LAMBDA_KIT_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "LAMBDA_KIT_TEST_MOTO_URL is not set: run the tests with scripts/test.sh, or first \
             `source scripts/test-servers.sh` to start the moto server"
        )
    })
}

/// AWS configuration for `endpoint`, with the region and the fixed credentials moto
/// accepts.
pub(crate) async fn aws(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A name no other test (nor an earlier run against the same server) uses.
pub(crate) fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// Short timeouts for the tests of a stalled store, so that they end quickly. Not a
/// pass/fail threshold: the test checks the kind of error, not when it came.
pub(crate) const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

/// What the proxy does with the next connections (and those it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Pass them on to the server.
    Forward,
    /// Accept them and wait for another mode.
    Hold,
    /// Accept them and never answer.
    Stall,
}

/// A TCP proxy on 127.0.0.1 in front of a server.
pub(crate) struct Proxy {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
    accepted: watch::Sender<usize>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to the server at `url` (`http://host:port`), forwarding.
    pub(crate) async fn start(url: &str) -> Proxy {
        let upstream: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("the server URL is http://IP:PORT");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("the proxy's address");
        let (mode, _) = watch::channel(Mode::Forward);
        let (accepted, _) = watch::channel(0);
        let accepting = tokio::spawn({
            let (mode, accepted) = (mode.clone(), accepted.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    accepted.send_modify(|count| *count += 1);
                    tokio::spawn(relay(client, upstream, mode.subscribe()));
                }
            }
        });
        Proxy {
            address,
            mode,
            accepted,
            accepting,
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Switches what the proxy does, for held connections too.
    pub(crate) fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Waits until the proxy has accepted `count` connections in all.
    pub(crate) async fn wait_for_connections(&self, count: usize) {
        let mut accepted = self.accepted.subscribe();
        accepted
            .wait_for(|accepted| *accepted >= count)
            .await
            .expect("the proxy runs");
    }

    /// Closes the listening socket: new connections are refused, as by a stopped server.
    pub(crate) async fn stop(&self) {
        self.accepting.abort();
        while !self.accepting.is_finished() {
            tokio::task::yield_now().await;
        }
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Forward => break,
            Mode::Stall => std::future::pending::<()>().await,
            Mode::Hold => {
                if mode.changed().await.is_err() {
                    return;
                }
            }
        }
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// What a fake server answers a request with.
pub(crate) type Handler = std::sync::Arc<
    dyn Fn(http::Request<bytes::Bytes>) -> http::Response<bytes::Bytes> + Send + Sync,
>;

/// Serves `handler` over HTTP/1.1 on 127.0.0.1; its `http://` URL.
pub(crate) async fn serve(handler: Handler) -> String {
    use http_body_util::{BodyExt, Full};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("the server's address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let service =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let response = handler(http::Request::from_parts(parts, body));
                        Ok::<_, hyper::Error>(response.map(Full::new))
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{address}")
}

/// A JSON answer with `status`.
pub(crate) fn json_answer(status: u16, body: serde_json::Value) -> http::Response<bytes::Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(bytes::Bytes::from(body.to_string()))
        .expect("a valid response")
}

/// The value of query parameter `name` in `uri`, percent-decoded.
pub(crate) fn query(uri: &http::Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

fn decode(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).expect("ASCII hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("a %XX escape"));
            rest = &tail[2..];
        } else {
            bytes.push(if first == b'+' { b' ' } else { first });
            rest = tail;
        }
    }
    String::from_utf8(bytes).expect("UTF-8 query")
}

/// Finishes the read `$read` as text, checks that it fails with an error matching
/// `$kind`, and gives the error.
#[allow(unused_macros)] // each test target uses its own part
macro_rules! read_fails {
    ($read:expr, $kind:pat) => {{
        let error = $read.text().await.expect_err("the read fails");
        assert!(matches!(error, $kind), "{error:?}");
        error
    }};
}
#[allow(unused_imports)]
pub(crate) use read_fails;

/// Creates a table of Powertools' shape on moto: partition key `id`, and sort key `sk`
/// when `with_sort_key`.
#[cfg(feature = "dynamodb")]
pub(crate) async fn create_table(name: &str, with_sort_key: bool) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let key = |attr: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(kind)
            .build()
            .expect("a complete shape")
    };
    let def = |attr: &str| {
        AttributeDefinition::builder()
            .attribute_name(attr)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("a complete shape")
    };
    let admin = aws_sdk_dynamodb::Client::new(&aws(&moto_url()).await);
    let mut create = admin
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("id", KeyType::Hash))
        .attribute_definitions(def("id"));
    if with_sort_key {
        create = create
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(def("sk"));
    }
    create.send().await.expect("moto creates the table");
}
