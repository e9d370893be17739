//! The HTTP adapter: any payload is decoded as an API Gateway, ALB or function URL event
//! and turned into an `http::Request`, or refused, never a panic.

#![no_main]

use lambda_kit::__private::bench::http_request_from_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    if let Some(request) = http_request_from_event(payload) {
        // A request that came out must be one a handler can route.
        assert!(request.uri().path().starts_with('/'), "{:?}", request.uri());
    }
});
