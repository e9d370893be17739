//! Operation ids: the same position in the code gives the same id on every replay.
//!
//! Each context counts the operations it starts (1, 2, ...). An operation's id is the first
//! 64 hex digits of the BLAKE2b-512 digest of its position: `"<n>"` at the top level,
//! `"<parent id>-<n>"` inside a child context. That is how AWS's other SDKs derive them, so
//! an execution's history reads the same whichever SDK wrote it.

use blake2::{Blake2b512, Digest};

/// The id of the `position`th operation (from 1) of the context `parent` (`None` at the
/// top level).
pub fn operation_id(parent: Option<&str>, position: u64) -> String {
    let key = match parent {
        Some(parent) => format!("{parent}-{position}"),
        None => position.to_string(),
    };
    let digest = Blake2b512::digest(key.as_bytes());
    let mut id = String::with_capacity(64);
    for byte in &digest[..32] {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_documented_digests_of_their_position() {
        // Known answers of BLAKE2b-512, first 64 hex digits.
        assert_eq!(
            operation_id(None, 1),
            "1ced8f5be2db23a6513eba4d819c73806424748a7bc6fa0d792cc1c7d1775a97"
        );
        assert_eq!(
            operation_id(None, 2),
            "c5faca15ac2f93578b39ef4b6bbb871bdedce4ddd584fd31f0bb66fade3947e6"
        );
        assert_eq!(
            operation_id(Some("c0ffee"), 3),
            "7c1eee36d8cab418552fa43956175f68b790fce79304cdd07e549a3e63772f53"
        );
    }
}
