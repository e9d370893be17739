//! The invocations a Runtime API server has queued and handed out, and the rules for
//! answering them, as Lambda keeps them: `/next` waits until there is an invocation; each
//! invocation handed out takes exactly one answer; an answer for a request id that was
//! never handed out, or was answered already, gets 400; a response over the size limit
//! gets 413 and leaves the invocation open for an error post.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;
use tokio::sync::Notify;

use super::transport::{error_json, reply};

/// An invocation waiting for a `/next` poll.
#[derive(Debug)]
pub(crate) struct Queued<W> {
    /// The request id its answer is expected under.
    pub(crate) request_id: String,
    /// The `/next` headers (the request id among them, unless a test left it out).
    pub(crate) headers: HeaderMap,
    /// The event.
    pub(crate) payload: Bytes,
    /// What the answer goes to: the emulator's caller; nothing, for the fake.
    pub(crate) waiter: W,
}

/// Locks `mutex`. A panicking thread (a failed test's) may poison it; what the servers
/// guard stays consistent, because each update is a single step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why an answer post is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The request id was never handed out, or its invocation is answered already.
    UnknownRequestId,
    /// The body is over the limit of `limit` bytes.
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

impl Refusal {
    /// The reply Lambda gives: 400 or 413, with its error JSON.
    pub(crate) fn reply(self) -> Response<Full<Bytes>> {
        match self {
            Refusal::UnknownRequestId => reply(
                StatusCode::BAD_REQUEST,
                error_json("InvalidRequestID", "Invalid request ID"),
            ),
            Refusal::TooLarge { limit } => reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_json(
                    "RequestEntityTooLarge",
                    &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
                ),
            ),
        }
    }
}

/// Queued and handed-out invocations; `W` is what waits for an answer.
#[derive(Debug)]
pub(crate) struct Ledger<W> {
    book: Mutex<Book<W>>,
    /// Woken when an invocation is queued.
    queued: Notify,
}

#[derive(Debug)]
struct Book<W> {
    queue: VecDeque<Queued<W>>,
    handed_out: HashMap<String, W>,
}

impl<W> Default for Ledger<W> {
    fn default() -> Self {
        Ledger {
            book: Mutex::new(Book {
                queue: VecDeque::new(),
                handed_out: HashMap::new(),
            }),
            queued: Notify::new(),
        }
    }
}

impl<W> Ledger<W> {
    /// Queues an invocation for the next poll.
    pub(crate) fn push(&self, invocation: Queued<W>) {
        lock(&self.book).queue.push_back(invocation);
        self.queued.notify_waiters();
    }

    /// Waits for the next queued invocation that `abandoned` does not skip, records it as
    /// handed out, and returns the `/next` answer for it. A poll dropped while it waits
    /// takes nothing, so no invocation is lost with a dead connection.
    pub(crate) async fn next(&self, abandoned: impl Fn(&W) -> bool) -> Response<Full<Bytes>> {
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            // Registered before looking, so that a push in between still wakes this poll.
            notified.as_mut().enable();
            if let Some(invocation) = self.hand_out(&abandoned) {
                let mut response = Response::new(Full::new(invocation.payload));
                *response.headers_mut() = invocation.headers;
                return response;
            }
            notified.await;
        }
    }

    fn hand_out(&self, abandoned: &impl Fn(&W) -> bool) -> Option<Queued<()>> {
        let mut book = lock(&self.book);
        while let Some(invocation) = book.queue.pop_front() {
            if abandoned(&invocation.waiter) {
                continue;
            }
            let Queued {
                request_id,
                headers,
                payload,
                waiter,
            } = invocation;
            book.handed_out.insert(request_id.clone(), waiter);
            return Some(Queued {
                request_id,
                headers,
                payload,
                waiter: (),
            });
        }
        None
    }

    /// Judges an answer post for `request_id` whose body is `len` bytes: the waiter of the
    /// invocation it answers, or why it is refused. A post over `limit` is refused and
    /// leaves the invocation open.
    pub(crate) fn take_answer(
        &self,
        request_id: Option<&str>,
        len: usize,
        limit: usize,
    ) -> Result<W, Refusal> {
        let mut book = lock(&self.book);
        let open = match request_id.map(|id| book.handed_out.entry(id.to_owned())) {
            Some(Entry::Occupied(open)) => open,
            _ => return Err(Refusal::UnknownRequestId),
        };
        if len > limit {
            return Err(Refusal::TooLarge { limit });
        }
        Ok(open.remove())
    }

    /// Forgets every invocation, queued or handed out (their waiters are dropped).
    // Only the emulator starts its function over; the fake's tests own their invocations.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) fn clear(&self) {
        let mut book = lock(&self.book);
        book.queue.clear();
        book.handed_out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(id: &str, waiter: u8) -> Queued<u8> {
        Queued {
            request_id: id.into(),
            headers: HeaderMap::new(),
            payload: Bytes::from_static(b"{}"),
            waiter,
        }
    }

    #[tokio::test]
    async fn each_invocation_takes_exactly_one_answer() {
        let ledger = Ledger::default();
        ledger.push(queued("a", 1));
        let _ = ledger.next(|_| false).await;
        let unknown = Err(Refusal::UnknownRequestId);
        assert_eq!(ledger.take_answer(Some("b"), 2, 10), unknown);
        assert_eq!(
            ledger.take_answer(Some("a"), 11, 10),
            Err(Refusal::TooLarge { limit: 10 }),
            "over the limit"
        );
        assert_eq!(Refusal::TooLarge { limit: 10 }.reply().status(), 413);
        assert_eq!(ledger.take_answer(Some("a"), 2, 10), Ok(1));
        assert_eq!(
            ledger.take_answer(Some("a"), 2, 10),
            unknown,
            "answered already"
        );
        assert_eq!(ledger.take_answer(None, 2, 10), unknown);
        assert_eq!(Refusal::UnknownRequestId.reply().status(), 400);
    }

    #[tokio::test]
    async fn abandoned_invocations_are_skipped() {
        let ledger = std::sync::Arc::new(Ledger::default());
        ledger.push(queued("gone", 0));
        let poll = tokio::spawn({
            let ledger = std::sync::Arc::clone(&ledger);
            async move { ledger.next(|waiter| *waiter == 0).await }
        });
        ledger.push(queued("live", 1));
        let _ = poll.await.expect("the poll ends");
        assert_eq!(ledger.take_answer(Some("live"), 0, 0), Ok(1));
        assert_eq!(
            ledger.take_answer(Some("gone"), 0, 0),
            Err(Refusal::UnknownRequestId)
        );
    }
}
