//! Calendar dates of UTC instants, for the timestamps the crate writes (log lines, the
//! local API's request times).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The proleptic Gregorian date `days` after 1970-01-01: (year, month 1-12, day 1-31).
/// The usual era arithmetic (eras of 400 years, years starting in March).
pub(crate) fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (
        year,
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Appends `time` as RFC 3339 in UTC with milliseconds, `2026-12-07T19:03:39.123Z`, as
/// `humantime::format_rfc3339_millis` writes it (a test holds the two together), without
/// going through `fmt`: every log line starts with one. Times outside the four-digit years
/// are written as the nearest one inside (1970's first instant, 9999's last).
pub(crate) fn push_rfc3339_millis(out: &mut Vec<u8>, time: SystemTime) {
    /// 9999-12-31T23:59:59.999Z.
    const LAST: Duration = Duration::from_millis(253_402_300_799_999);
    let since = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .min(LAST);
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, u64::from(month));
    put(8, 2, u64::from(day));
    put(11, 2, of_day / 3600);
    put(14, 2, of_day % 3600 / 60);
    put(17, 2, of_day % 60);
    put(20, 3, u64::from(since.subsec_millis()));
    out.extend_from_slice(&text);
}

/// Instants (seconds since 1970) that calendar code gets wrong first: the epoch, around
/// 2000's leap day, 2024's, a year's last second, and a century year that is no leap year.
#[cfg(test)]
pub(crate) const TEST_INSTANTS: [u64; 7] = [
    0,
    951_782_400,
    951_868_799,
    1_709_164_800,
    1_767_225_599,
    1_796_659_205,
    4_107_542_400,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(time: SystemTime) -> String {
        let mut out = Vec::new();
        push_rfc3339_millis(&mut out, time);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn dates_around_leap_days_year_ends_and_centuries_are_humantime_s() {
        for seconds in TEST_INSTANTS.into_iter().chain([253_402_300_799]) {
            for millis in [0, 1, 999] {
                let time =
                    UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis);
                let expected = humantime::format_rfc3339_millis(time).to_string();
                assert_eq!(ours(time), expected);
            }
        }
    }

    #[test]
    fn times_outside_four_digit_years_are_clamped() {
        assert_eq!(
            ours(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(ours(far), "9999-12-31T23:59:59.999Z");
    }

    proptest::proptest! {
        #[test]
        fn any_time_is_written_as_humantime_writes_it(
            seconds in 0u64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
        ) {
            let time = UNIX_EPOCH + Duration::new(seconds, nanos);
            proptest::prop_assert_eq!(ours(time), humantime::format_rfc3339_millis(time).to_string());
        }
    }
}
