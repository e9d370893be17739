//! The digest of a key or payload text, written as lowercase hex.

use std::fmt::Write as _;

use sha2::Digest;

/// The hash function of record keys and validation hashes, named as Python's `hashlib`
/// names them (Powertools' `hash_function` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashFunction {
    /// MD5: Powertools' default. Not a security measure here, only a key.
    Md5,
    /// SHA-256: lambda-kit's default.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl HashFunction {
    /// The digest of `text` in lowercase hex, as `hashlib`'s `hexdigest()` writes it.
    pub fn hex_digest(self, text: &[u8]) -> String {
        match self {
            HashFunction::Md5 => hex(&md5::Md5::digest(text)),
            HashFunction::Sha256 => hex(&sha2::Sha256::digest(text)),
            HashFunction::Sha512 => hex(&sha2::Sha512::digest(text)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing into a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::HashFunction;

    #[test]
    fn digests_of_a_known_text() {
        // `printf '%s' '"o-1"' | md5sum`, `| sha256sum`, `| sha512sum`
        let text = br#""o-1""#;
        assert_eq!(
            HashFunction::Md5.hex_digest(text),
            "cbcbdb948de16bfe7e49a81f91500ab1"
        );
        assert_eq!(
            HashFunction::Sha256.hex_digest(text),
            "00d5c8b71f851bbe47626a189b20fb19c11753e244bb658095c370ba3798f85c"
        );
        assert!(
            HashFunction::Sha512
                .hex_digest(text)
                .starts_with("416a83477f08384397913e2bbfd35fe6e4671556")
        );
    }
}
