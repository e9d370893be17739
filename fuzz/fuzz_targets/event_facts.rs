//! What the OpenTelemetry layer reads from an event: any bytes give a trigger (and maybe a
//! `traceparent`) without a panic, and bytes that are not JSON give none.

#![no_main]

use lambda_kit::__private::bench::event_facts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let (trigger, traceparent) = event_facts(bytes);
    assert!(["http", "pubsub", "datasource", "timer", "other"].contains(&trigger));
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        assert_eq!((trigger, traceparent), ("other", None));
    }
});
