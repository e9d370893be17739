//! The Runtime API's answers: any bytes are read as an answer (any framing) or refused with
//! a typed error, never a panic, and a body is never longer than the bytes that arrived.

#![no_main]

use lambda_kit::__private::bench::read_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Some((status, body_length)) = read_answer(bytes) {
        assert!((100..1000).contains(&status), "status {status}");
        assert!(body_length <= bytes.len(), "{body_length} > {}", bytes.len());
    }
});
