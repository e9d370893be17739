//! Writing requests: the head in one buffer, chunked bodies chunk by chunk.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{BodyFraming, COPY_LIMIT, Connection, RequestHead, USER_AGENT};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(super) async fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        // An empty chunk would end the body.
        if chunk.is_empty() {
            return Ok(());
        }
        self.write.clear();
        put_number(&mut self.write, chunk.len(), 16);
        self.write.extend_from_slice(b"\r\n");
        if chunk.len() <= COPY_LIMIT {
            self.write.extend_from_slice(chunk);
            self.write.extend_from_slice(b"\r\n");
            return self.stream.write_all(&self.write).await;
        }
        self.stream.write_all(&self.write).await?;
        self.stream.write_all(chunk).await?;
        self.stream.write_all(b"\r\n").await
    }

    pub(super) fn put_head(&mut self, head: &RequestHead<'_>, framing: Option<BodyFraming>) {
        let out = &mut self.write;
        out.clear();
        out.extend_from_slice(head.method.as_str().as_bytes());
        out.push(b' ');
        for piece in head.path {
            out.extend_from_slice(piece.as_bytes());
        }
        out.extend_from_slice(b" HTTP/1.1\r\n");
        put_header(out, b"host", self.host.as_bytes());
        put_header(out, b"user-agent", USER_AGENT.as_bytes());
        for (name, value) in head.headers {
            put_header(out, name.as_str().as_bytes(), value.as_bytes());
        }
        match framing {
            Some(BodyFraming::Length(length)) => {
                out.extend_from_slice(b"content-length: ");
                put_number(out, length, 10);
                out.extend_from_slice(b"\r\n");
            }
            Some(BodyFraming::Chunked) => put_header(out, b"transfer-encoding", b"chunked"),
            None => {}
        }
        out.extend_from_slice(b"\r\n");
    }
}

pub(super) fn put_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes `value` in `radix` (10 or 16) without going through `fmt`.
pub(super) fn put_number(out: &mut Vec<u8>, mut value: usize, radix: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 32];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = DIGITS[value % radix];
        value /= radix;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}
