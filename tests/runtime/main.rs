//! End-to-end tests of the runtime loop: the real loop, in-process, against a real fake
//! Runtime API over HTTP on 127.0.0.1.

mod answers;
mod api_faults;
mod batch;
mod concurrency;
mod context_headers;
mod handlers;
mod http;
mod http_streaming;
mod init;
mod streaming;
mod test_events;
mod wire_faults;
