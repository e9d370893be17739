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
    let all: [u8; 24] = hex_digits();
    all[..digits.min(24)]
        .iter()
        .map(|&digit| char::from(digit))
        .collect()
}

/// `N` random lowercase hex digits as ASCII bytes (`N` at most 24, all from random bits).
pub(crate) fn hex_digits<const N: usize>() -> [u8; N] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    const {
        assert!(
            N <= 24,
            "a v4 UUID has 27 whole random nibbles; 24 are used"
        )
    };
    // The version nibble (bits 76..80) and the variant bits (62..64) of a v4 UUID are
    // fixed; the low 62 and the high 48 bits are random: 110 bits, 27 whole nibbles. The
    // nibbles are read from the low end and, past the 15th, from the high end.
    let bits = bits();
    let random = (bits & ((1 << 60) - 1)) | ((bits >> 80) << 60);
    std::array::from_fn(|index| DIGITS[((random >> (4 * index)) & 0xf) as usize])
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
