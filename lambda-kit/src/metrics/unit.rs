//! CloudWatch metric units and storage resolutions.

use std::fmt;
use std::str::FromStr;

macro_rules! units {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A CloudWatch metric unit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Unit {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Unit {
            /// The unit's name in EMF.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Unit::$variant => $name,)*
                }
            }
        }

        impl FromStr for Unit {
            type Err = UnknownUnit;

            fn from_str(name: &str) -> Result<Self, UnknownUnit> {
                match name {
                    $($name => Ok(Unit::$variant),)*
                    _ => Err(UnknownUnit { name: name.to_owned() }),
                }
            }
        }
    };
}

units! {
    Seconds => "Seconds",
    Microseconds => "Microseconds",
    Milliseconds => "Milliseconds",
    Bytes => "Bytes",
    Kilobytes => "Kilobytes",
    Megabytes => "Megabytes",
    Gigabytes => "Gigabytes",
    Terabytes => "Terabytes",
    Bits => "Bits",
    Kilobits => "Kilobits",
    Megabits => "Megabits",
    Gigabits => "Gigabits",
    Terabits => "Terabits",
    Percent => "Percent",
    Count => "Count",
    BytesPerSecond => "Bytes/Second",
    KilobytesPerSecond => "Kilobytes/Second",
    MegabytesPerSecond => "Megabytes/Second",
    GigabytesPerSecond => "Gigabytes/Second",
    TerabytesPerSecond => "Terabytes/Second",
    BitsPerSecond => "Bits/Second",
    KilobitsPerSecond => "Kilobits/Second",
    MegabitsPerSecond => "Megabits/Second",
    GigabitsPerSecond => "Gigabits/Second",
    TerabitsPerSecond => "Terabits/Second",
    CountPerSecond => "Count/Second",
    None => "None",
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit name CloudWatch does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a CloudWatch unit (for example Count, Milliseconds, Bytes/Second)")]
pub struct UnknownUnit {
    name: String,
}

/// How finely CloudWatch stores a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// One-minute resolution (the default).
    #[default]
    Standard,
    /// One-second resolution.
    High,
}

impl Resolution {
    /// The `StorageResolution` value.
    pub fn seconds(self) -> u8 {
        match self {
            Resolution::Standard => 60,
            Resolution::High => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_through_their_names() {
        for unit in [
            Unit::Count,
            Unit::BytesPerSecond,
            Unit::None,
            Unit::Milliseconds,
        ] {
            assert_eq!(unit.as_str().parse::<Unit>(), Ok(unit));
        }
        assert!("Widgets".parse::<Unit>().is_err());
    }
}
