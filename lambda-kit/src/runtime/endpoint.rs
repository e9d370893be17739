//! Where the Runtime API is, and the paths of its resources.
//!
//! Lambda and AWS's emulator export `AWS_LAMBDA_RUNTIME_API` as `host:port`; cargo-lambda
//! exports a URL with a path prefix (`http://127.0.0.1:9000/.rt/_`). Both are accepted:
//! the prefix is kept and the API version path is appended to it.

use http::Uri;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode, utf8_percent_encode};

use crate::protocol::{
    INIT_ERROR_PATH, INVOCATION_PATH, NEXT_PATH, RESTORE_ERROR_PATH, RESTORE_NEXT_PATH,
};

/// Every byte outside `A-Z a-z 0-9 - _ ~` is percent-encoded in a request id, so an id can
/// never add path segments (`/`), dot segments (`.`), a query (`?`) or a fragment (`#`).
const REQUEST_ID_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// The Runtime API's location, parsed from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    authority: String,
    prefix: String,
    /// The path of `GET /next`, built once: it is the same for every poll.
    next: String,
}

/// `AWS_LAMBDA_RUNTIME_API` holds something that is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "AWS_LAMBDA_RUNTIME_API is {value:?}, expected host:port (as Lambda sets it) \
     or http://host:port/prefix (as cargo-lambda sets it)"
)]
pub struct EndpointError {
    value: String,
}

impl Endpoint {
    pub(crate) fn parse(value: &str) -> Result<Self, EndpointError> {
        let invalid = || EndpointError {
            value: value.to_owned(),
        };
        let trimmed = value.trim();
        let rest = match trimmed.split_once("://") {
            None => trimmed,
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(invalid()),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        let prefix = prefix.trim_end_matches('/');
        let authority_is_valid = !authority.is_empty()
            && authority.parse::<http::uri::Authority>().is_ok()
            && !authority.contains('@');
        if !authority_is_valid || prefix.contains(['?', '#']) {
            return Err(invalid());
        }
        let endpoint = Endpoint {
            authority: authority.to_owned(),
            next: prefixed(prefix, NEXT_PATH),
            prefix: prefix.to_owned(),
        };
        // Every path built later must be a valid URI path; check the longest shape once here.
        endpoint
            .init_error()
            .parse::<Uri>()
            .map_err(|_| invalid())?;
        Ok(endpoint)
    }

    /// The `host:port` to connect to, also sent as the `Host` header.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// The path of `GET /next`. Every path is already percent-encoded, and a valid URI path
    /// (the prefix was validated in `parse`, request ids are encoded).
    pub(crate) fn next(&self) -> &str {
        &self.next
    }

    /// Where the invocation `request_id` is answered.
    ///
    /// The id is taken as bytes: every byte outside the safe set is percent-encoded, so an
    /// id that is not UTF-8 still goes back exactly as it came.
    pub(crate) fn answer_path(&self, request_id: &[u8]) -> AnswerPath {
        let mut base =
            String::with_capacity(self.prefix.len() + INVOCATION_PATH.len() + request_id.len() + 1);
        base.push_str(&self.prefix);
        base.push_str(INVOCATION_PATH);
        base.extend(percent_encode(request_id, REQUEST_ID_SAFE));
        base.push('/');
        AnswerPath { base }
    }

    pub(crate) fn init_error(&self) -> String {
        prefixed(&self.prefix, INIT_ERROR_PATH)
    }

    /// `GET /runtime/restore/next`, after a SnapStart restore.
    pub(crate) fn restore_next(&self) -> String {
        prefixed(&self.prefix, RESTORE_NEXT_PATH)
    }

    /// `POST /runtime/restore/error`, when an after-restore hook failed.
    pub(crate) fn restore_error(&self) -> String {
        prefixed(&self.prefix, RESTORE_ERROR_PATH)
    }
}

/// `path` under the endpoint's `prefix`.
fn prefixed(prefix: &str, path: &str) -> String {
    let mut full = String::with_capacity(prefix.len() + path.len());
    full.push_str(prefix);
    full.push_str(path);
    full
}

/// The paths one invocation is answered on, `.../invocation/{id}/response` and
/// `.../invocation/{id}/error`, as pieces to write one after the other: the part they share
/// is built once per invocation, and no path is put together in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnswerPath {
    /// Up to and including the `/` after the encoded request id.
    base: String,
}

impl AnswerPath {
    /// `.../invocation/{id}/response`.
    pub(crate) fn response(&self) -> [&str; 2] {
        [&self.base, "response"]
    }

    /// `.../invocation/{id}/error`.
    pub(crate) fn error(&self) -> [&str; 2] {
        [&self.base, "error"]
    }
}

/// Percent-encodes a request id for use as one path segment.
pub fn encode_request_id(request_id: &str) -> String {
    utf8_percent_encode(request_id, REQUEST_ID_SAFE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_form() {
        let endpoint = Endpoint::parse("127.0.0.1:9001").expect("valid");
        assert_eq!(endpoint.authority(), "127.0.0.1:9001");
        assert_eq!(endpoint.next(), "/2018-06-01/runtime/invocation/next");
    }

    #[test]
    fn url_form_keeps_the_prefix() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/.rt/_/").expect("valid");
        assert_eq!(endpoint.authority(), "127.0.0.1:9000");
        assert_eq!(endpoint.next(), "/.rt/_/2018-06-01/runtime/invocation/next");
        assert_eq!(
            endpoint.answer_path(b"abc").response().concat(),
            "/.rt/_/2018-06-01/runtime/invocation/abc/response"
        );
        assert_eq!(
            endpoint.init_error(),
            "/.rt/_/2018-06-01/runtime/init/error"
        );
    }

    #[test]
    fn unusable_values_are_rejected() {
        for value in [
            "",
            "https://127.0.0.1:9001",
            "http://",
            "a b:1",
            "h:1/x?y",
            "u@h:1",
        ] {
            assert!(
                Endpoint::parse(value).is_err(),
                "{value:?} should be rejected"
            );
        }
    }

    #[test]
    fn request_ids_cannot_steer_the_path() {
        let endpoint = Endpoint::parse("127.0.0.1:9001").expect("valid");
        assert_eq!(
            endpoint
                .answer_path(b"abc/../../init/error")
                .error()
                .concat(),
            "/2018-06-01/runtime/invocation/abc%2F%2E%2E%2F%2E%2E%2Finit%2Ferror/error"
        );
        assert_eq!(
            endpoint.answer_path(b"..").response().concat(),
            "/2018-06-01/runtime/invocation/%2E%2E/response"
        );
        assert_eq!(encode_request_id("a?b#c d"), "a%3Fb%23c%20d");
    }

    proptest::proptest! {
        /// Whatever the API sends as a request id, the encoded id is one path segment that
        /// can neither climb (`..`), add segments (`/`), nor start a query or fragment.
        #[test]
        fn no_request_id_escapes_its_path_segment(id in ".*") {
            let encoded = encode_request_id(&id);
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_~%".contains(&b)), "{encoded}");
            proptest::prop_assert!(encoded != "." && encoded != "..");
            let endpoint = Endpoint::parse("127.0.0.1:9001").expect("valid");
            let path = endpoint.answer_path(id.as_bytes()).response().concat();
            proptest::prop_assert!(path.starts_with("/2018-06-01/runtime/invocation/"));
            proptest::prop_assert!(path.ends_with("/response"));
            proptest::prop_assert_eq!(path.matches('/').count(), 5);
        }

        /// Any value of AWS_LAMBDA_RUNTIME_API is accepted or refused, never a panic.
        #[test]
        fn endpoint_parsing_never_panics(value in ".*") {
            let _ = Endpoint::parse(&value);
        }
    }

    #[test]
    fn uuid_request_ids_are_unchanged() {
        let id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
        assert_eq!(encode_request_id(id), id);
    }
}
