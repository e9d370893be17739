//! The Extensions API as a server keeps it, for the fake Runtime API and the emulator:
//! registrations, each extension's queue of lifecycle events, and their init and exit
//! errors.
//!
//! The rules are Lambda's (as AWS's emulator renders them): register needs a name and
//! takes only `INVOKE` and `SHUTDOWN`, an internal extension (one whose name is no launched
//! executable) may not take `SHUTDOWN`, at most ten register, and registration closes when
//! the runtime first polls `/next`; every later call needs the identifier register handed
//! out. Refusals are `403` with Lambda's error JSON.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::ledger::lock;
use super::transport::{accepted, error_json, reply};
use crate::protocol::{extension_header, header};

/// At most this many extensions register, as in Lambda.
const MAX_EXTENSIONS: usize = 10;

/// How long external extensions have for `SHUTDOWN`, as Lambda allows them.
pub(crate) const EXTENSION_SHUTDOWN_BUDGET: Duration = Duration::from_millis(2_000);

/// One registered extension, as a test reads it.
// Public through `testing`; without that feature only the emulator uses it.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredExtension {
    /// The name it registered with.
    pub name: String,
    /// The identifier it was handed.
    pub identifier: String,
    /// The events it registered for (`INVOKE`, `SHUTDOWN`).
    pub events: Vec<String>,
    /// Whether it is external: a launched executable of that name, not a part of the
    /// function's process.
    pub external: bool,
}

/// An init or exit error an extension posted.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedExtensionError {
    /// The extension's name.
    pub name: String,
    /// `init` or `exit`.
    pub phase: &'static str,
    /// The `Lambda-Extension-Function-Error-Type` header.
    pub error_type: String,
    /// The body, if any.
    pub body: Bytes,
}

struct Entry {
    registered: RegisteredExtension,
    queue: VecDeque<Bytes>,
    /// Polls of `event/next` so far.
    polls: usize,
}

#[derive(Default)]
struct Book {
    entries: Vec<Entry>,
    /// Names of the executables launched as external extensions.
    external_names: Vec<String>,
    closed: bool,
    errors: Vec<PostedExtensionError>,
}

/// The Extensions API's state.
pub(crate) struct Extensions {
    book: Mutex<Book>,
    /// Woken on every change (an event queued, a registration, a poll).
    changed: Notify,
    function_name: String,
    function_version: String,
}

impl Extensions {
    /// The Extensions API of the function `function_name` at `function_version`.
    pub(crate) fn new(function_name: &str, function_version: &str) -> Self {
        Extensions {
            book: Mutex::new(Book::default()),
            changed: Notify::new(),
            function_name: function_name.to_owned(),
            function_version: function_version.to_owned(),
        }
    }

    fn update<T>(&self, change: impl FnOnce(&mut Book) -> T) -> T {
        let result = change(&mut lock(&self.book));
        self.changed.notify_waiters();
        result
    }

    /// Treats a registration under `name` as external (the emulator launched it).
    pub(crate) fn declare_external(&self, name: &str) {
        self.update(|book| book.external_names.push(name.to_owned()));
    }

    /// Closes registration: the runtime polled `/next`, so init is over.
    pub(crate) fn close_registration(&self) {
        if !lock(&self.book).closed {
            self.update(|book| book.closed = true);
        }
    }

    /// Every registration so far, in order.
    pub(crate) fn registered(&self) -> Vec<RegisteredExtension> {
        lock(&self.book)
            .entries
            .iter()
            .map(|entry| entry.registered.clone())
            .collect()
    }

    /// The init and exit errors posted so far.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn errors(&self) -> Vec<PostedExtensionError> {
        lock(&self.book).errors.clone()
    }

    /// The name of the extension with `identifier`.
    pub(crate) fn name_of(&self, identifier: &str) -> Option<String> {
        lock(&self.book)
            .entries
            .iter()
            .find(|entry| entry.registered.identifier == identifier)
            .map(|entry| entry.registered.name.clone())
    }

    /// Waits until `check` finds something.
    pub(crate) async fn wait_for<T>(
        &self,
        mut check: impl FnMut(&[RegisteredExtension], usize) -> Option<T>,
    ) -> T {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let book = lock(&self.book);
                let registered: Vec<_> =
                    book.entries.iter().map(|e| e.registered.clone()).collect();
                let polling = book.entries.iter().filter(|e| e.polls > 0).count();
                if let Some(found) = check(&registered, polling) {
                    return found;
                }
            }
            notified.await;
        }
    }

    /// `POST /extension/register`.
    pub(crate) fn register(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        account_id: &str,
    ) -> Response<Full<Bytes>> {
        let Some(name) = headers
            .get(extension_header::NAME)
            .and_then(|name| name.to_str().ok())
            .filter(|name| !name.is_empty())
        else {
            return forbidden(
                "Extension.InvalidExtensionName",
                "the Lambda-Extension-Name header is missing or empty",
            );
        };
        let events = match requested_events(body) {
            Ok(events) => events,
            Err(refusal) => return refusal.reply(),
        };
        let wants_account_id = headers
            .get(extension_header::ACCEPT_FEATURE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|features| {
                features
                    .split(',')
                    .any(|feature| feature.trim() == "accountId")
            });
        let identifier = uuid::Uuid::new_v4().to_string();
        let refusal = self.update(|book| {
            if book.closed {
                return Some(forbidden(
                    "Extension.RegistrationClosed",
                    "registration is closed: the runtime has started serving invocations",
                ));
            }
            if book.entries.len() >= MAX_EXTENSIONS {
                return Some(forbidden(
                    "Extension.TooManyExtensions",
                    "at most 10 extensions can register",
                ));
            }
            if book
                .entries
                .iter()
                .any(|entry| entry.registered.name == name)
            {
                return Some(forbidden(
                    "Extension.InvalidExtensionName",
                    &format!("an extension named {name:?} is registered already"),
                ));
            }
            let external = book.external_names.iter().any(|external| external == name);
            if !external && events.iter().any(|event| event == "SHUTDOWN") {
                return Some(forbidden(
                    "Extension.InvalidEventType",
                    "an internal extension cannot register for SHUTDOWN",
                ));
            }
            book.entries.push(Entry {
                registered: RegisteredExtension {
                    name: name.to_owned(),
                    identifier: identifier.clone(),
                    events: events.clone(),
                    external,
                },
                queue: VecDeque::new(),
                polls: 0,
            });
            None
        });
        if let Some(refusal) = refusal {
            return refusal;
        }
        let mut answer = json!({
            "functionName": self.function_name,
            "functionVersion": self.function_version,
            "handler": "bootstrap",
        });
        if wants_account_id {
            answer["accountId"] = json!(account_id);
        }
        let mut response = reply(StatusCode::OK, answer.to_string());
        if let Ok(value) = HeaderValue::from_str(&identifier) {
            response
                .headers_mut()
                .insert(extension_header::IDENTIFIER, value);
        }
        response
    }

    /// `GET /extension/event/next`: waits until an event is queued for the caller.
    pub(crate) async fn next(&self, headers: &HeaderMap) -> Response<Full<Bytes>> {
        let identifier = match self.identify(headers) {
            Ok(identifier) => identifier,
            Err(refusal) => return refusal.reply(),
        };
        self.update(|book| {
            if let Some(entry) = entry_mut(book, &identifier) {
                entry.polls += 1;
            }
        });
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let event = {
                let mut book = lock(&self.book);
                entry_mut(&mut book, &identifier).and_then(|entry| entry.queue.pop_front())
            };
            if let Some(event) = event {
                let mut response = reply(StatusCode::OK, event);
                if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
                    response
                        .headers_mut()
                        .insert(extension_header::EVENT_IDENTIFIER, value);
                }
                return response;
            }
            notified.await;
        }
    }

    /// `POST /extension/init/error` and `POST /extension/exit/error`.
    pub(crate) fn post_error(
        &self,
        phase: &'static str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Full<Bytes>> {
        let identifier = match self.identify(headers) {
            Ok(identifier) => identifier,
            Err(refusal) => return refusal.reply(),
        };
        let Some(error_type) = headers
            .get(extension_header::FUNCTION_ERROR_TYPE)
            .and_then(|value| value.to_str().ok())
        else {
            return forbidden(
                "Extension.MissingHeader",
                "the Lambda-Extension-Function-Error-Type header is missing",
            );
        };
        let error = PostedExtensionError {
            name: self.name_of(&identifier).unwrap_or_default(),
            phase,
            error_type: error_type.to_owned(),
            body,
        };
        self.update(|book| book.errors.push(error));
        accepted()
    }

    /// The identifier of a call, which must name a registered extension.
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Result<String, Refused> {
        let Some(identifier) = headers
            .get(extension_header::IDENTIFIER)
            .and_then(|value| value.to_str().ok())
        else {
            return Err(Refused::new(
                "Extension.MissingHeader",
                "the Lambda-Extension-Identifier header is missing",
            ));
        };
        if self.name_of(identifier).is_none() {
            return Err(Refused::new(
                "Extension.UnknownExtensionIdentifier",
                "no extension is registered with this identifier",
            ));
        }
        Ok(identifier.to_owned())
    }

    /// Queues `INVOKE` for every extension registered for it: the invocation with these
    /// `/next` headers has just been handed to the runtime.
    pub(crate) fn invoke(&self, next_headers: &HeaderMap) {
        let text = |name: &str| {
            next_headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let mut event = json!({
            "eventType": "INVOKE",
            "deadlineMs": text(header::DEADLINE_MS).parse::<u64>().unwrap_or_default(),
            "requestId": text(header::REQUEST_ID),
            "invokedFunctionArn": text(header::INVOKED_FUNCTION_ARN),
        });
        let trace = text(header::TRACE_ID);
        if !trace.is_empty() {
            event["tracing"] = json!({"type": "X-Amzn-Trace-Id", "value": trace});
        }
        self.queue_for("INVOKE", &event);
    }

    /// Queues `SHUTDOWN` (with `reason`: `spindown`, `timeout` or `failure`) for every
    /// extension registered for it; returns how many.
    pub(crate) fn shutdown(&self, reason: &str) -> usize {
        let deadline = SystemTime::now() + EXTENSION_SHUTDOWN_BUDGET;
        let event = json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": epoch_ms(deadline),
        });
        self.queue_for("SHUTDOWN", &event)
    }

    fn queue_for(&self, kind: &str, event: &Value) -> usize {
        let event = Bytes::from(event.to_string());
        self.update(|book| {
            let mut count = 0;
            for entry in &mut book.entries {
                if entry.registered.events.iter().any(|wanted| wanted == kind) {
                    entry.queue.push_back(event.clone());
                    count += 1;
                }
            }
            count
        })
    }
}

fn entry_mut<'a>(book: &'a mut Book, identifier: &str) -> Option<&'a mut Entry> {
    book.entries
        .iter_mut()
        .find(|entry| entry.registered.identifier == identifier)
}

/// The events a register body asks for: `{"events": [...]}`, the list optional.
fn requested_events(body: &[u8]) -> Result<Vec<String>, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let invalid = |message: &str| Refused::new("InvalidRequestFormat", message);
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid("the register body is not a JSON object"));
    };
    if request.contains_key("configurationKeys") {
        return Err(invalid("configurationKeys is no longer supported"));
    }
    let events = match request.get("events") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(events)) => events,
        Some(_) => return Err(invalid("events must be a list of event types")),
    };
    events
        .iter()
        .map(|event| match event.as_str() {
            Some(kind @ ("INVOKE" | "SHUTDOWN")) => Ok(kind.to_owned()),
            _ => Err(Refused::new(
                "Extension.InvalidEventType",
                &format!("{event} is not an event type: expected INVOKE or SHUTDOWN"),
            )),
        })
        .collect()
}

fn forbidden(error_type: &str, message: &str) -> Response<Full<Bytes>> {
    reply(StatusCode::FORBIDDEN, error_json(error_type, message))
}

/// A call refused with `403` and Lambda's error JSON.
#[derive(Debug)]
pub(crate) struct Refused {
    error_type: &'static str,
    message: String,
}

impl Refused {
    fn new(error_type: &'static str, message: &str) -> Self {
        Refused {
            error_type,
            message: message.to_owned(),
        }
    }

    /// The `403` reply.
    pub(crate) fn reply(&self) -> Response<Full<Bytes>> {
        forbidden(self.error_type, &self.message)
    }
}

/// `time` as Unix epoch milliseconds.
pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            extension_header::NAME,
            HeaderValue::from_str(name).expect("a name"),
        );
        headers
    }

    fn error_type_of(response: &Response<Full<Bytes>>) -> StatusCode {
        response.status()
    }

    #[test]
    fn register_follows_lambdas_rules() {
        let extensions = Extensions::new("f", "$LATEST");
        extensions.declare_external("outside");
        let ok = extensions.register(
            &named("outside"),
            br#"{"events":["INVOKE","SHUTDOWN"]}"#,
            "1",
        );
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.headers().contains_key(extension_header::IDENTIFIER));
        let cases: [(&str, &[u8]); 5] = [
            ("inside", br#"{"events":["SHUTDOWN"]}"#),
            ("outside", br#"{"events":[]}"#),
            ("other", br#"{"events":["BOOT"]}"#),
            ("other", b"not json"),
            ("other", br#"{"configurationKeys":[]}"#),
        ];
        for (name, body) in cases {
            let refused = extensions.register(&named(name), body, "1");
            assert_eq!(
                error_type_of(&refused),
                StatusCode::FORBIDDEN,
                "{name} {body:?}"
            );
        }
        assert_eq!(
            extensions.register(&HeaderMap::new(), b"", "1").status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            extensions.register(&named("inside"), b"", "1").status(),
            StatusCode::OK
        );
        extensions.close_registration();
        assert_eq!(
            extensions.register(&named("late"), b"", "1").status(),
            StatusCode::FORBIDDEN
        );
        let registered = extensions.registered();
        assert_eq!(registered.len(), 2);
        assert!(registered[0].external && !registered[1].external);
    }

    #[test]
    fn at_most_ten_register() {
        let extensions = Extensions::new("f", "1");
        for n in 0..10 {
            assert_eq!(
                extensions
                    .register(&named(&format!("e{n}")), b"", "1")
                    .status(),
                StatusCode::OK
            );
        }
        assert_eq!(
            extensions.register(&named("e10"), b"", "1").status(),
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn events_go_to_the_extensions_that_asked_for_them() {
        let extensions = Extensions::new("f", "1");
        extensions.declare_external("both");
        let both = extensions.register(&named("both"), br#"{"events":["INVOKE","SHUTDOWN"]}"#, "1");
        let none = extensions.register(&named("none"), b"{}", "1");
        let id_header = |response: &Response<Full<Bytes>>| {
            let mut headers = HeaderMap::new();
            headers.insert(
                extension_header::IDENTIFIER,
                response.headers()[extension_header::IDENTIFIER].clone(),
            );
            headers
        };
        let mut next = HeaderMap::new();
        next.insert(header::REQUEST_ID, HeaderValue::from_static("r1"));
        next.insert(header::DEADLINE_MS, HeaderValue::from_static("42"));
        extensions.invoke(&next);
        assert_eq!(extensions.shutdown("spindown"), 1);
        let first = extensions.next(&id_header(&both)).await;
        let body = http_body_util::BodyExt::collect(first.into_body())
            .await
            .expect("a body")
            .to_bytes();
        let event: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(event["eventType"], "INVOKE");
        assert_eq!(event["requestId"], "r1");
        assert_eq!(event["deadlineMs"], 42);
        assert!(
            event.get("tracing").is_none(),
            "no trace header, no tracing"
        );
        let second = extensions.next(&id_header(&both)).await;
        let body = http_body_util::BodyExt::collect(second.into_body())
            .await
            .expect("a body")
            .to_bytes();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("JSON")["shutdownReason"],
            "spindown"
        );
        let nothing = futures_util::FutureExt::now_or_never(extensions.next(&id_header(&none)));
        assert!(nothing.is_none(), "an extension without events waits");
        assert_eq!(
            extensions.next(&HeaderMap::new()).await.status(),
            StatusCode::FORBIDDEN
        );
    }
}
