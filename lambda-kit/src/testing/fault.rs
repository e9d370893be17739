//! Faults a [`FakeRuntimeApi`](super::FakeRuntimeApi) injects: HTTP-level ones (a status,
//! a dropped connection, a delay), which the request handler carries out, and byte-level
//! ones, which [`FaultyStream`] carries out on the connection below hyper.

use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::StatusCode;

use crate::api_server::lock;

/// Something to go wrong with the next request to a route.
///
/// The last three act on the connection's bytes, below HTTP: they are how a test checks
/// what the runtime does with a Runtime API that misbehaves on the wire.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and body instead of handling the request.
    Status(StatusCode, String),
    /// Close the connection without answering (after reading a post's body).
    DropConnection,
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Handle the request normally, then write these bytes on the same connection right
    /// after the answer, as if the API had sent an answer no request asked for.
    StrayBytesAfter(Bytes),
    /// Handle the request normally, then close the connection without saying so (no
    /// `Connection: close`), as a server does when an idle keep-alive connection times out.
    CloseAfterAnswer,
    /// Send exactly these bytes instead of the answer, then close the connection. On
    /// `/next` the queued invocation is handed out first, so that the test can name its
    /// request id in the bytes and the fake accepts an answer for it.
    RawAnswer(Bytes),
}

/// What a connection's bytes should do after the answer being written, set by a fault.
#[derive(Debug, Default)]
pub(super) enum AfterAnswer {
    /// Nothing: plain HTTP.
    #[default]
    Nothing,
    /// Write these bytes behind the answer.
    Append(Bytes),
    /// Close the connection behind the answer.
    Close,
    /// Throw the answer away, write these bytes and close.
    Replace(Bytes),
}

/// A connection's stream with byte-level faults: the answer hyper writes can be followed
/// by stray bytes, followed by a close, or replaced.
pub(super) struct FaultyStream {
    /// `None` once the fault closed the connection.
    stream: Option<tokio::net::TcpStream>,
    /// What the next answer's fault is; the request handler sets it.
    plan: Arc<Mutex<AfterAnswer>>,
    /// Called when a fault has been carried out to its end.
    done: Box<dyn Fn() + Send + Sync>,
    /// Bytes of an `Append` or `Replace` still to write, and whether to close after them.
    pending: Option<(Bytes, bool)>,
    /// Whether the answer the plan follows has been written (hyper also flushes while it
    /// waits for the service, before there is an answer).
    answer_written: bool,
}

impl FaultyStream {
    /// `stream`, following `plan` after each answer, calling `done` after each fault.
    pub(super) fn new(
        stream: tokio::net::TcpStream,
        plan: Arc<Mutex<AfterAnswer>>,
        done: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        FaultyStream {
            stream: Some(stream),
            plan,
            done: Box::new(done),
            pending: None,
            answer_written: false,
        }
    }

    /// Writes what a fault added after the answer and closes if it says so; `Ready(Ok)`
    /// once all of it is done.
    fn poll_fault(&mut self, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        use tokio::io::AsyncWrite;
        if self.pending.is_none() {
            if !self.answer_written {
                return Poll::Ready(Ok(()));
            }
            self.answer_written = false;
            let plan = std::mem::take(&mut *lock(&self.plan));
            self.pending = match plan {
                AfterAnswer::Nothing => return Poll::Ready(Ok(())),
                AfterAnswer::Append(bytes) => Some((bytes, false)),
                AfterAnswer::Close => Some((Bytes::new(), true)),
                AfterAnswer::Replace(bytes) => Some((bytes, true)),
            };
        }
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        };
        while let Some((bytes, _)) = self.pending.as_mut().filter(|(bytes, _)| !bytes.is_empty()) {
            let written =
                std::task::ready!(std::pin::Pin::new(&mut *stream).poll_write(cx, bytes))?;
            bytes.advance(written);
        }
        std::task::ready!(std::pin::Pin::new(&mut *stream).poll_flush(cx))?;
        if self.pending.take().is_some_and(|(_, close)| close) {
            // Dropping the socket closes it at once; reads and writes see a closed stream.
            self.stream = None;
        }
        (self.done)();
        Poll::Ready(Ok(()))
    }

    /// Notes that (part of) an answer is being written; whether it is to be thrown away.
    fn writing_answer(&mut self) -> bool {
        let plan = lock(&self.plan);
        let replace = matches!(*plan, AfterAnswer::Replace(_));
        let planned = !matches!(*plan, AfterAnswer::Nothing);
        drop(plan);
        self.answer_written |= planned;
        replace
    }
}

impl tokio::io::AsyncRead for FaultyStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_read(cx, buf),
            // Closed by a fault: the end of the stream.
            None => Poll::Ready(Ok(())),
        }
    }
}

impl tokio::io::AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.writing_answer() {
            // The answer hyper writes is replaced by the fault's bytes.
            return Poll::Ready(Ok(buf.len()));
        }
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        // hyper flushes once an answer is written: that is where a fault's bytes go.
        std::task::ready!(self.poll_fault(cx))?;
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.stream.as_mut() {
            Some(stream) => std::pin::Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}
