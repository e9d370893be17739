//! A bootstrap run outside Lambda as its own local server (`--serve`, `--serve-http`), as
//! a person runs it: the process, the address its first line names, and what it prints.

use std::process::Stdio;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A running local server and the lines it prints on stderr.
#[derive(Debug)]
pub struct LocalServer {
    /// `host:port` it listens on.
    pub address: String,
    lines: mpsc::UnboundedReceiver<String>,
    _process: Child,
}

impl LocalServer {
    /// Starts `program` with `args` (`--serve 127.0.0.1:0 ...`) and the variables `vars`,
    /// and waits for the line that says where it listens.
    pub async fn start(program: &str, args: &[&str], vars: &[(&str, &str)]) -> LocalServer {
        let mut process = Command::new(program)
            .envs(vars.iter().copied())
            .args(args)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server starts");
        let stderr = process.stderr.take().expect("piped stderr");
        let (sender, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let banner = lines
            .recv()
            .await
            .expect("the server says where it listens");
        let address = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_owned();
        LocalServer {
            address,
            lines,
            _process: process,
        }
    }

    /// Reads printed lines until one contains `needle`; returns every line read.
    pub async fn lines_until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(line) = self.lines.recv().await {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
        panic!("the server stopped before printing {needle:?}: {seen:?}");
    }

    /// Sends one request on a new connection; returns the response with its body unread.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> http::Response<Incoming> {
        send_to(&self.address, request).await
    }

    /// Sends `method path` with `headers` and `body`; returns the whole response.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.address);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).expect("a request");
        let (parts, body) = self.send(request).await.into_parts();
        let bytes = body.collect().await.expect("the whole body").to_bytes();
        (parts.status, parts.headers, bytes)
    }
}

/// Sends one request to `address` on a new connection; returns the response with its body
/// unread.
pub async fn send_to(address: &str, request: Request<Full<Bytes>>) -> http::Response<Incoming> {
    let stream = TcpStream::connect(address).await.expect("connects");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender.send_request(request).await.expect("an answer")
}
