//! The floor: a bare keep-alive GET/POST loop with no runtime, no executor and no JSON.
//! Nothing can serve invocations faster through the same API; it is what the runtimes are
//! measured against.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

const RESPONSE: &[u8] = br#"{"message":"Hello, Ada!"}"#;

/// Reads one response's head and body; returns the request id header, if any.
fn read_response(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut content_length = 0;
    let mut request_id = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                request_id = Some(value.to_owned());
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    Ok(request_id)
}

fn main() -> std::io::Result<()> {
    let address = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(std::io::Error::other)?;
    let mut stream = TcpStream::connect(&address)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    // Each request is put together first and sent with one system call: `write!` straight
    // into the socket would send every piece of the format string as its own packet.
    let next =
        format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let mut post = Vec::with_capacity(256);
    loop {
        stream.write_all(next.as_bytes())?;
        let request_id = read_response(&mut reader)?.unwrap_or_default();
        post.clear();
        write!(
            post,
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\n\r\n",
            RESPONSE.len()
        )?;
        post.extend_from_slice(RESPONSE);
        stream.write_all(&post)?;
        read_response(&mut reader)?;
    }
}
