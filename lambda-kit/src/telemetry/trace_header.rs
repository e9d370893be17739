//! The X-Ray trace header: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`,
//! which Lambda passes with every invocation and which the X-Ray and OpenTelemetry layers
//! both read.
//!
//! Parsing is lenient about order and unknown keys (kept, and written back out), strict
//! about the ids: a header whose `Root` or `Parent` is malformed is an error, and the
//! invocation is then not traced.

use std::fmt;

/// Whether the caller asked for this trace to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampled {
    /// `Sampled=1`: record and send.
    Yes,
    /// `Sampled=0`: send nothing.
    No,
    /// `Sampled=?`: the receiver decides (not used inside Lambda).
    Requested,
    /// No `Sampled` key.
    Unknown,
}

/// An id of `N` ASCII characters, checked when it was made (hex digits, and the trace id's
/// dashes), kept inline: ids are copied into every subsegment, and a copy of an array
/// needs no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AsciiId<const N: usize>([u8; N]);

/// A trace id: `1-<8 hex digits>-<24 hex digits>`.
pub(crate) type TraceId = AsciiId<35>;

/// A segment id: 16 hex digits.
pub(crate) type SegmentId = AsciiId<16>;

impl<const N: usize> AsciiId<N> {
    /// The id, if `bytes` are ASCII.
    fn from_ascii(bytes: [u8; N]) -> Option<Self> {
        bytes.is_ascii().then_some(AsciiId(bytes))
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        // ASCII, checked when it was made: the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl TraceId {
    /// `text` as a trace id, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if !is_trace_id(text) {
            return None;
        }
        text.as_bytes().try_into().ok().and_then(Self::from_ascii)
    }
}

impl SegmentId {
    /// A new random segment id.
    pub(crate) fn random() -> Self {
        AsciiId(crate::random::hex_digits())
    }

    /// `text` as a segment id, if it is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if !is_segment_id(text) {
            return None;
        }
        text.as_bytes().try_into().ok().and_then(Self::from_ascii)
    }
}

impl<const N: usize> fmt::Debug for AsciiId<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for AsciiId<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed trace header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    root: TraceId,
    parent: Option<String>,
    sampled: Sampled,
    lineage: Option<String>,
    others: Vec<(String, String)>,
}

/// A trace header that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed X-Ray trace header {header:?}: {problem}")]
pub struct TraceHeaderError {
    header: String,
    problem: &'static str,
}

impl TraceHeader {
    /// Parses a header value.
    pub fn parse(header: &str) -> Result<Self, TraceHeaderError> {
        let error = |problem| TraceHeaderError {
            header: header.to_owned(),
            problem,
        };
        let mut root = None;
        let mut parent = None;
        let mut sampled = Sampled::Unknown;
        let mut lineage = None;
        let mut others = Vec::new();
        // Headers are ASCII: ASCII trimming is all they need, and cheaper than Unicode's.
        for part in parts(header, b';')
            .map(str::trim_ascii)
            .filter(|part| !part.is_empty())
        {
            let (key, value) = parts(part, b'=')
                .next()
                .filter(|key| key.len() < part.len())
                .map(|key| (key, &part[key.len() + 1..]))
                .ok_or_else(|| error("a part is not key=value"))?;
            let value = value.trim_ascii();
            match key.trim_ascii() {
                "Root" => root = Some(value),
                "Parent" => parent = Some(value.to_owned()),
                "Sampled" => {
                    sampled = match value {
                        "1" => Sampled::Yes,
                        "0" => Sampled::No,
                        "?" => Sampled::Requested,
                        _ => return Err(error("Sampled is not 1, 0 or ?")),
                    }
                }
                "Lineage" => lineage = Some(value.to_owned()),
                "Self" => {} // Added by load balancers, meaningless downstream.
                other => others.push((other.to_owned(), value.to_owned())),
            }
        }
        let root = root.ok_or_else(|| error("there is no Root"))?;
        let root = TraceId::parse(root)
            .ok_or_else(|| error("Root is not 1-<8 hex digits>-<24 hex digits>"))?;
        if parent.as_deref().is_some_and(|id| !is_segment_id(id)) {
            return Err(error("Parent is not 16 hex digits"));
        }
        Ok(TraceHeader {
            root,
            parent,
            sampled,
            lineage,
            others,
        })
    }

    /// The trace id (`1-<epoch hex>-<random hex>`).
    pub fn root(&self) -> &str {
        self.root.as_str()
    }

    /// The trace id, inline.
    pub(crate) fn trace_id(&self) -> TraceId {
        self.root
    }

    /// The id of the segment that called this one: inside Lambda, the function segment.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }

    /// The sampling decision.
    pub fn sampled(&self) -> Sampled {
        self.sampled
    }

    /// Lambda's recursion-detection lineage, passed on untouched.
    pub fn lineage(&self) -> Option<&str> {
        self.lineage.as_deref()
    }

    /// The same trace with another parent: the header for a call made from `parent`.
    pub fn with_parent(&self, parent: &str) -> TraceHeader {
        TraceHeader {
            parent: Some(parent.to_owned()),
            ..self.clone()
        }
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root={}", self.root)?;
        if let Some(parent) = &self.parent {
            write!(f, ";Parent={parent}")?;
        }
        match self.sampled {
            Sampled::Yes => f.write_str(";Sampled=1")?,
            Sampled::No => f.write_str(";Sampled=0")?,
            Sampled::Requested => f.write_str(";Sampled=?")?,
            Sampled::Unknown => {}
        }
        if let Some(lineage) = &self.lineage {
            write!(f, ";Lineage={lineage}")?;
        }
        for (key, value) in &self.others {
            write!(f, ";{key}={value}")?;
        }
        Ok(())
    }
}

/// The pieces of `text` between the ASCII byte `separator`s.
///
/// The same as `text.split(char::from(separator))`, by a plain scan of the bytes: for the
/// few short parts of a trace header, cheaper than the searcher `str::split` sets up for
/// each part. (An ASCII byte never occurs inside a multi-byte character, so every cut is
/// on a character boundary.)
fn parts(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|byte| byte == separator) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `1-<8 hex>-<24 hex>`.
fn is_trace_id(id: &str) -> bool {
    match (id.get(..2), id.get(2..10), id.get(10..11), id.get(11..)) {
        (Some("1-"), Some(epoch), Some("-"), Some(random)) => {
            is_hex(epoch, 8) && is_hex(random, 24)
        }
        _ => false,
    }
}

/// 16 hex digits.
fn is_segment_id(id: &str) -> bool {
    is_hex(id, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";

    #[test]
    fn a_lambda_header_round_trips() {
        let text =
            format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5");
        let header = TraceHeader::parse(&text).expect("valid");
        assert_eq!(header.root(), ROOT);
        assert_eq!(header.parent(), Some("53995c3f42cd8ad8"));
        assert_eq!(header.sampled(), Sampled::Yes);
        assert_eq!(header.lineage(), Some("a87bd80c:1|68fd508a:5"));
        assert_eq!(header.to_string(), text);
    }

    #[test]
    fn order_does_not_matter_and_unknown_keys_are_kept() {
        let header = TraceHeader::parse(&format!("Sampled=0; Foo=bar ;Root={ROOT};Self=1-x"))
            .expect("valid");
        assert_eq!(header.sampled(), Sampled::No);
        assert_eq!(header.to_string(), format!("Root={ROOT};Sampled=0;Foo=bar"));
    }

    #[test]
    fn with_parent_replaces_only_the_parent() {
        let header = TraceHeader::parse(&format!(
            "Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=x:1"
        ))
        .expect("valid");
        assert_eq!(
            header.with_parent("0123456789abcdef").to_string(),
            format!("Root={ROOT};Parent=0123456789abcdef;Sampled=1;Lineage=x:1")
        );
    }

    proptest::proptest! {
        /// Formatting a header and parsing it back gives the same header.
        #[test]
        fn format_then_parse_round_trips(
            epoch in "[0-9a-f]{8}",
            random in "[0-9a-f]{24}",
            parent in proptest::option::of("[0-9a-f]{16}"),
            sampled in 0usize..4,
            lineage in proptest::option::of("[0-9a-f]{8}:[0-9]{1,3}"),
        ) {
            let mut text = format!("Root=1-{epoch}-{random}");
            if let Some(parent) = &parent {
                text.push_str(&format!(";Parent={parent}"));
            }
            text.push_str(["", ";Sampled=1", ";Sampled=0", ";Sampled=?"][sampled]);
            if let Some(lineage) = &lineage {
                text.push_str(&format!(";Lineage={lineage}"));
            }
            let header = TraceHeader::parse(&text).expect("a valid header");
            proptest::prop_assert_eq!(header.to_string(), text.clone());
            proptest::prop_assert_eq!(TraceHeader::parse(&header.to_string()).expect("again"), header);
        }

        /// Arbitrary text is parsed or refused, never a panic.
        #[test]
        fn parsing_never_panics(text in ".*") {
            let _ = TraceHeader::parse(&text);
        }
    }

    proptest::proptest! {
        #[test]
        fn parts_are_what_str_split_gives(text in "[a-c;=é ]{0,24}") {
            for separator in [b';', b'='] {
                let ours: Vec<&str> = parts(&text, separator).collect();
                let theirs: Vec<&str> = text.split(char::from(separator)).collect();
                proptest::prop_assert_eq!(ours, theirs);
            }
        }
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for text in [
            "",
            "garbage",
            "Root=2-1-2",
            &format!("Root={ROOT};Parent=xyz"),
            &format!("Root={ROOT};Sampled=yes"),
            "Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-zz862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-5759e988-bd862e3fe1be46a9942727930",
            "Root=1-5759e988xbd862e3fe1be46a994272793",
            "Root=1-5759e98é-bd862e3fe1be46a99427279",
            "Root=11-759e988-bd862e3fe1be46a994272793",
            ";;;=",
        ] {
            assert!(TraceHeader::parse(text).is_err(), "{text:?}");
        }
    }
}
