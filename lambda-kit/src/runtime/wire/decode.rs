//! Reading answers: the head with httparse, then the body in whichever framing the head
//! chose (`Content-Length`, chunked with trailers, or until the connection closes).

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::*;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Reads one final answer (informational `1xx` answers are skipped).
    pub(super) async fn read_answer(&mut self) -> Result<Answer, WireError> {
        loop {
            let head = match self.read_head().await {
                Ok(head) => head,
                Err(error) => {
                    let end = head_end(&self.read).unwrap_or(self.read.len());
                    self.failed_head = Some(Bytes::copy_from_slice(
                        &self.read[..end.min(MAX_HEAD_BYTES)],
                    ));
                    return Err(error);
                }
            };
            if head.status.is_informational() {
                continue;
            }
            let framing = head.framing;
            let body = match self.read_body(&framing).await {
                Ok(body) => body,
                Err(error) => {
                    self.failed_head = Some(head.headers.head.clone());
                    return Err(error);
                }
            };
            // Bytes past the end of the answer answer no request: the API never answers
            // ahead. Whatever they are, the next answer could not be told from them.
            self.stray_after_answer = !self.read.is_empty();
            self.spent = !head.keep_alive
                || matches!(framing, AnswerFraming::UntilClose)
                || self.stray_after_answer;
            return Ok(Answer {
                status: head.status,
                headers: head.headers,
                body,
            });
        }
    }

    pub(super) async fn read_head(&mut self) -> Result<AnswerHead, WireError> {
        loop {
            if let Some(head) = parse_head(&mut self.read)? {
                return Ok(head);
            }
            if self.read.len() > MAX_HEAD_BYTES {
                return Err(head_too_large());
            }
            self.fill_or_closed(MIN_ROOM).await?;
        }
    }

    pub(super) async fn read_body(&mut self, framing: &AnswerFraming) -> Result<Bytes, WireError> {
        match *framing {
            AnswerFraming::Empty => Ok(Bytes::new()),
            AnswerFraming::Length(length) if length > MAX_BODY_BYTES => Err(WireError::TooLarge),
            AnswerFraming::Length(length) => self.read_exact(length).await,
            AnswerFraming::Chunked => self.read_chunked().await,
            AnswerFraming::UntilClose => self.read_until_close().await,
        }
    }

    pub(super) async fn read_exact(&mut self, length: usize) -> Result<Bytes, WireError> {
        while self.read.len() < length {
            let wanted = (length - self.read.len()).min(MAX_RESERVE);
            self.fill_or_closed(wanted).await?;
        }
        Ok(self.read.split_to(length).freeze())
    }

    pub(super) async fn read_chunked(&mut self) -> Result<Bytes, WireError> {
        let mut body = BytesMut::new();
        loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(&self.read) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) if self.read.len() > MAX_HEAD_BYTES => {
                        return Err(malformed("a chunk-size line is over 64 KiB"));
                    }
                    Ok(httparse::Status::Partial) => self.fill_or_closed(MIN_ROOM).await?,
                    Err(_) => return Err(malformed("a chunk size is not hexadecimal")),
                }
            };
            self.read.advance(line);
            if size == 0 {
                self.skip_trailers().await?;
                return Ok(body.freeze());
            }
            let size = usize::try_from(size).map_err(|_| WireError::TooLarge)?;
            if size > MAX_BODY_BYTES - body.len() {
                return Err(WireError::TooLarge);
            }
            let data = self.read_exact(size).await?;
            let end = self.read_exact(2).await?;
            if end.as_ref() != b"\r\n" {
                return Err(malformed("a chunk does not end with CRLF"));
            }
            body.extend_from_slice(&data);
        }
    }

    pub(super) async fn skip_trailers(&mut self) -> Result<(), WireError> {
        loop {
            match trailers_length(&self.read) {
                Ok(httparse::Status::Complete(length)) => {
                    self.read.advance(length);
                    return Ok(());
                }
                Ok(httparse::Status::Partial) if self.read.len() > MAX_HEAD_BYTES => {
                    return Err(malformed("the trailers are over 64 KiB"));
                }
                Ok(httparse::Status::Partial) => self.fill_or_closed(MIN_ROOM).await?,
                Err(error) => return Err(malformed(&format!("bad trailers: {error}"))),
            }
        }
    }

    pub(super) async fn read_until_close(&mut self) -> Result<Bytes, WireError> {
        while self.fill(MIN_ROOM).await? > 0 {
            if self.read.len() > MAX_BODY_BYTES {
                return Err(WireError::TooLarge);
            }
        }
        Ok(self.read.split().freeze())
    }

    /// Reads at least one more byte (see `fill`); the end of the stream is an error here,
    /// because the answer is not complete yet.
    pub(super) async fn fill_or_closed(&mut self, wanted: usize) -> Result<(), WireError> {
        match self.fill(wanted).await? {
            0 => Err(WireError::Closed),
            _ => Ok(()),
        }
    }

    /// Reads what has arrived, first growing the buffer if less than `wanted` is free.
    pub(super) async fn fill(&mut self, wanted: usize) -> io::Result<usize> {
        if self.read.capacity() - self.read.len() < wanted {
            self.read.reserve(wanted.max(READ_SIZE));
        }
        self.stream.read_buf(&mut self.read).await
    }
}

/// A parsed answer head.
pub(super) struct AnswerHead {
    pub(super) status: StatusCode,
    pub(super) headers: AnswerHeaders,
    pub(super) framing: AnswerFraming,
    pub(super) keep_alive: bool,
}

/// What the headers that frame the body said, read while the head is parsed.
#[derive(Default)]
pub(super) struct FramingHeaders {
    content_length: Option<usize>,
    /// Why the `Content-Length` headers cannot be used, if they cannot: an error only when
    /// no `Transfer-Encoding` overrides them (as hyper reads them too).
    content_length_error: Option<&'static str>,
    /// Whether there was a `Transfer-Encoding`, and whether its last coding is `chunked`.
    transfer_encoding: Option<bool>,
    close: bool,
    keep_alive: bool,
}

impl FramingHeaders {
    pub(super) fn read(&mut self, name: &str, value: &[u8]) {
        let text = || std::str::from_utf8(value).unwrap_or_default();
        if name.eq_ignore_ascii_case("content-length") {
            match parse_length(text()) {
                Err(problem) => self.content_length_error = Some(problem),
                Ok(length) if self.content_length.is_some_and(|earlier| earlier != length) => {
                    self.content_length_error = Some("the Content-Length headers disagree");
                }
                Ok(length) => self.content_length = Some(length),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = text().rsplit(',').next().unwrap_or_default();
            self.transfer_encoding = Some(last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for option in text().split(',').map(str::trim) {
                self.close |= option.eq_ignore_ascii_case("close");
                self.keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        }
    }

    /// How the body is delimited (RFC 9112, section 6.3).
    pub(super) fn framing(
        &self,
        status: StatusCode,
        http_1_0: bool,
    ) -> Result<AnswerFraming, WireError> {
        if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return Ok(AnswerFraming::Empty);
        }
        match (
            self.transfer_encoding,
            self.content_length_error,
            self.content_length,
        ) {
            // HTTP/1.0 has no transfer codings: such framing is faulty (RFC 9112, 6.1).
            (Some(_), _, _) if http_1_0 => {
                Err(malformed("an HTTP/1.0 answer has a Transfer-Encoding"))
            }
            (Some(true), _, _) => Ok(AnswerFraming::Chunked),
            (Some(false), _, _) => Ok(AnswerFraming::UntilClose),
            (None, Some(problem), _) => Err(malformed(problem)),
            (None, None, None) => Ok(AnswerFraming::UntilClose),
            (None, None, Some(length)) => Ok(AnswerFraming::Length(length)),
        }
    }
}

/// The length of the trailer section at the start of `buffer`, once it is complete.
///
/// Apart from `skip_trailers` so that the header slots (2 KiB) never live across an await:
/// they would be stored in every request's future, which each invocation moves.
pub(super) fn trailers_length(buffer: &[u8]) -> httparse::Result<usize> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    Ok(match httparse::parse_headers(buffer, &mut slots)? {
        httparse::Status::Complete((length, _)) => httparse::Status::Complete(length),
        httparse::Status::Partial => httparse::Status::Partial,
    })
}

/// Parses and consumes an answer head from the front of `buffer`, if it is all there.
pub(super) fn parse_head(buffer: &mut BytesMut) -> Result<Option<AnswerHead>, WireError> {
    // Uninitialized slots: filling 64 empty headers first would cost more than parsing.
    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let parsing = httparse::ParserConfig::default();
    let length = match parsing.parse_response_with_uninit_headers(&mut parsed, buffer, &mut slots) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(malformed(&error.to_string())),
    };
    // Checked here too: a head that arrived in one read is complete before the check
    // between reads ever sees it.
    if length > MAX_HEAD_BYTES {
        return Err(head_too_large());
    }
    let status = parsed
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| malformed("the status code is not valid"))?;
    let mut framing = FramingHeaders::default();
    // Where each name and value is within the head, so that they can stay in the head's
    // memory once it is frozen, instead of each being copied.
    let start = buffer.as_ptr() as usize;
    let range = |part: &[u8]| {
        let offset = part.as_ptr() as usize - start;
        offset..offset + part.len()
    };
    let mut fields = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        framing.read(header.name, header.value);
        fields.push((range(header.name.as_bytes()), range(header.value)));
    }
    let keep_alive = !framing.close && (framing.keep_alive || parsed.version == Some(1));
    let body_framing = framing.framing(status, parsed.version == Some(0))?;
    let head = buffer.split_to(length).freeze();
    Ok(Some(AnswerHead {
        status,
        headers: AnswerHeaders { head, fields },
        framing: body_framing,
        keep_alive,
    }))
}

pub(super) fn parse_length(text: &str) -> Result<usize, &'static str> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the Content-Length is not a number");
    }
    text.parse().map_err(|_| "the Content-Length is too large")
}

pub(super) fn malformed(what: &str) -> WireError {
    WireError::Malformed(what.to_owned())
}

pub(super) fn head_too_large() -> WireError {
    malformed("the answer's head is over 64 KiB")
}

/// Where the head at the start of `buffer` ends (after its blank line), if it does.
pub(super) fn head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}
