//! Randomness from the operating system's CSPRNG (through `uuid`'s v4 generator), for
//! sampling decisions, jitter and X-Ray ids.

/// 128 random bits.
pub(crate) fn bits() -> u128 {
    // A v4 UUID has 122 random bits; the 6 fixed version/variant bits are masked below
    // where it matters.
    uuid::Uuid::new_v4().as_u128()
}

/// A number in [0, 1).
pub(crate) fn fraction() -> f64 {
    // The low 64 bits of a v4 UUID are random except for the 2 variant bits at the top.
    let random = (bits() as u64) & ((1 << 53) - 1);
    random as f64 / (1u64 << 53) as f64
}

/// `digits` random lowercase hex digits (at most 24, all from random bits).
pub(crate) fn hex(digits: usize) -> String {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    // The version digit (index 12) and variant digit (index 16) are not random: skip them.
    let random: String = simple
        .char_indices()
        .filter(|(index, _)| *index != 12 && *index != 16)
        .map(|(_, digit)| digit)
        .collect();
    random[..digits.min(random.len())].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_in_range() {
        for _ in 0..1000 {
            let value = fraction();
            assert!((0.0..1.0).contains(&value), "{value}");
        }
    }

    #[test]
    fn hex_ids_have_the_asked_length_and_alphabet() {
        let id = hex(16);
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(hex(16), hex(16));
    }
}
