//! How an HTTP body travels in Lambda's HTTP event and response shapes: as text when its
//! content type is text, else base64 with `isBase64Encoded`. The HTTP adapter (responses)
//! and the local HTTP API (requests) follow the same rule.

use base64::Engine as _;

/// The body as the shapes carry it, and whether that is base64. Text content types (and
/// a body without one that is UTF-8) go as they are; anything else is base64-encoded.
pub(crate) fn encode(content_type: Option<&str>, body: &[u8]) -> (String, bool) {
    let kind = content_type.map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let text = match kind.as_deref() {
        None => std::str::from_utf8(body).is_ok(),
        Some(kind) => {
            kind.starts_with("text/")
                || kind.ends_with("+json")
                || kind.ends_with("+xml")
                || matches!(
                    kind,
                    "application/json"
                        | "application/javascript"
                        | "application/xml"
                        | "application/x-www-form-urlencoded"
                        | "application/graphql"
                )
        }
    };
    match (text, std::str::from_utf8(body)) {
        (true, Ok(text)) => (text.to_owned(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}
