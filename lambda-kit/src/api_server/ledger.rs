//! The invocations a Runtime API server has queued and handed out, and the rules for
//! answering them, as Lambda keeps them: `/next` waits until there is an invocation; each
//! invocation handed out takes exactly one answer; an answer for a request id that was
//! never handed out, or was answered already, gets 400; a response over the size limit
//! gets 413 and leaves the invocation open for an error post.
//!
//! The emulator starts its function process over after a crash; a `/next` poll the dead
//! process left waiting (its connection closed, which a server only learns by writing to
//! it) must not take an invocation meant for the new one. So each poll belongs to the
//! environment it arrived in, and `clear` ends that environment: its polls answer
//! `410 Gone` and take nothing.

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

/// A poll's environment has ended since it arrived.
#[derive(Debug)]
struct EnvironmentEnded;

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
    /// How many times the ledger was cleared: the environment a poll belongs to.
    environment: u64,
}

impl<W> Default for Ledger<W> {
    fn default() -> Self {
        Ledger {
            book: Mutex::new(Book {
                queue: VecDeque::new(),
                handed_out: HashMap::new(),
                environment: 0,
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
    /// takes nothing, so no invocation is lost with a dead connection; nor does a poll
    /// whose environment is cleared while it waits: it answers `410 Gone`.
    pub(crate) async fn next(&self, abandoned: impl Fn(&W) -> bool) -> Response<Full<Bytes>> {
        let environment = lock(&self.book).environment;
        loop {
            let notified = self.queued.notified();
            tokio::pin!(notified);
            // Registered before looking, so that a push or a clear in between still wakes
            // this poll.
            notified.as_mut().enable();
            match self.hand_out(environment, &abandoned) {
                Some(Ok(invocation)) => {
                    let mut response = Response::new(Full::new(invocation.payload));
                    *response.headers_mut() = invocation.headers;
                    return response;
                }
                Some(Err(EnvironmentEnded)) => {
                    return reply(
                        StatusCode::GONE,
                        error_json(
                            "EnvironmentEnded",
                            "the execution environment this poll came from has ended",
                        ),
                    );
                }
                None => notified.await,
            }
        }
    }

    /// The next invocation for a poll of `environment`, if one is queued; an error if that
    /// environment has ended.
    fn hand_out(
        &self,
        environment: u64,
        abandoned: &impl Fn(&W) -> bool,
    ) -> Option<Result<Queued<()>, EnvironmentEnded>> {
        let mut book = lock(&self.book);
        if book.environment != environment {
            return Some(Err(EnvironmentEnded));
        }
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
            return Some(Ok(Queued {
                request_id,
                headers,
                payload,
                waiter: (),
            }));
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

    /// Ends the current environment: forgets every invocation, queued or handed out
    /// (their waiters are dropped), and answers the polls still waiting with `410 Gone`.
    // Only the emulator starts its function over; the fake's tests own their invocations.
    #[cfg_attr(not(emulator), allow(dead_code))]
    pub(crate) fn clear(&self) {
        {
            let mut book = lock(&self.book);
            book.queue.clear();
            book.handed_out.clear();
            book.environment += 1;
        }
        self.queued.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

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

    #[tokio::test]
    async fn a_poll_from_an_ended_environment_takes_nothing() {
        let ledger = Ledger::default();
        // A dead process's poll, polled once so that it waits, when its environment ends.
        let mut stale = std::pin::pin!(ledger.next(|_| false));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(stale.as_mut().poll(&mut context).is_pending());
        ledger.clear();
        ledger.push(queued("for-the-new-process", 1));
        assert_eq!(stale.await.status(), StatusCode::GONE);
        let fresh = ledger.next(|_| false).await;
        assert_eq!(fresh.status(), StatusCode::OK);
        assert_eq!(ledger.take_answer(Some("for-the-new-process"), 0, 0), Ok(1));
    }

    #[tokio::test]
    async fn a_poll_that_arrives_after_a_clear_is_served() {
        let ledger = Ledger::default();
        ledger.push(queued("old", 0));
        ledger.clear();
        ledger.push(queued("new", 1));
        assert_eq!(ledger.next(|_| false).await.status(), StatusCode::OK);
        assert_eq!(ledger.take_answer(Some("new"), 0, 0), Ok(1));
        assert_eq!(
            ledger.take_answer(Some("old"), 0, 0),
            Err(Refusal::UnknownRequestId)
        );
    }
}
