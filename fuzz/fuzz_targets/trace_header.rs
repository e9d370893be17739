//! The X-Ray trace header: any text parses or is refused without a panic, and what parses
//! formats into text that parses back to the same header.

#![no_main]

use lambda_kit::xray::TraceHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(header) = TraceHeader::parse(text) {
        let formatted = header.to_string();
        let again = TraceHeader::parse(&formatted).expect("a formatted header parses");
        assert_eq!(again, header, "{text:?} -> {formatted:?}");
    }
});
