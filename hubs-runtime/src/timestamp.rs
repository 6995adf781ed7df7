//! A point in time that crosses both hub protocols the way ASP.NET Core sends dates: an
//! ISO-8601 UTC string in JSON with only the fraction digits needed (JavaScript's `new Date(s)`
//! and .NET read it; `JSON.stringify(new Date())` writes one) and the MessagePack timestamp
//! extension (type -1) in MessagePack (what JavaScript `Date`s and .NET `DateTime`s become).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A UTC instant with nanosecond precision.
///
/// ```
/// use hubs::Timestamp;
///
/// let t = Timestamp::from_unix_millis(1_700_000_000_123);
/// assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
/// assert_eq!("2023-11-14T22:13:20.123Z".parse::<Timestamp>(), Ok(t));
/// assert_eq!(serde_json::to_string(&t).unwrap(), "\"2023-11-14T22:13:20.123Z\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// MessagePack's extension type for timestamps.
const TIMESTAMP_EXT: i8 = -1;

impl Timestamp {
    /// Seconds and nanoseconds since 1970-01-01T00:00:00Z. Nanoseconds past one second carry.
    pub fn from_unix(seconds: i64, nanos: u32) -> Self {
        Self {
            seconds: seconds + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Milliseconds since the epoch, as JavaScript's `Date.getTime()`.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self {
            seconds: millis.div_euclid(1000),
            nanos: (millis.rem_euclid(1000) * 1_000_000) as u32,
        }
    }

    /// The current time.
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    /// Whole seconds since the epoch (negative before it).
    pub fn unix_seconds(self) -> i64 {
        self.seconds
    }

    /// Nanoseconds past [`unix_seconds`](Self::unix_seconds).
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Milliseconds since the epoch, rounded down.
    pub fn unix_millis(self) -> i64 {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }

    fn to_ext(self) -> Vec<u8> {
        if (0..1 << 34).contains(&self.seconds) {
            if self.nanos == 0 && self.seconds < 1 << 32 {
                return (self.seconds as u32).to_be_bytes().to_vec();
            }
            let packed = (u64::from(self.nanos) << 34) | self.seconds as u64;
            return packed.to_be_bytes().to_vec();
        }
        let mut out = self.nanos.to_be_bytes().to_vec();
        out.extend_from_slice(&self.seconds.to_be_bytes());
        out
    }

    fn from_ext(data: &[u8]) -> Result<Self, String> {
        let be = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let (seconds, nanos) = match data.len() {
            4 => (be(data) as i64, 0),
            8 => {
                let packed = be(data);
                ((packed & ((1 << 34) - 1)) as i64, (packed >> 34) as u32)
            }
            12 => (be(&data[4..]) as i64, be(&data[..4]) as u32),
            n => {
                return Err(format!(
                    "a timestamp extension has 4, 8 or 12 bytes, not {n}"
                ));
            }
        };
        if nanos >= 1_000_000_000 {
            return Err("a timestamp's nanoseconds must be under one second".into());
        }
        Ok(Self { seconds, nanos })
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Self::from_unix(after.as_secs() as i64, after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                let t = Self::from_unix(-(before.as_secs() as i64), 0);
                match before.subsec_nanos() {
                    0 => t,
                    n => Self::from_unix(t.seconds - 1, 1_000_000_000 - n),
                }
            }
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> SystemTime {
        if t.seconds >= 0 {
            UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(t.seconds.unsigned_abs())
                + Duration::from_nanos(u64::from(t.nanos))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl fmt::Display for Timestamp {
    /// ISO-8601 in UTC with only as many fraction digits as needed, as ASP.NET Core writes
    /// dates (`2002-04-01T10:20:15Z`, `2002-04-01T10:20:15.5Z`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.seconds.div_euclid(86_400));
        let secs = self.seconds.rem_euclid(86_400);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}")?;
        if self.nanos != 0 {
            let mut digits = 9;
            let mut fraction = self.nanos;
            while fraction.is_multiple_of(10) {
                fraction /= 10;
                digits -= 1;
            }
            write!(f, ".{fraction:0digits$}")?;
        }
        f.write_str("Z")
    }
}

/// Text that is not an ISO-8601 date and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampParseError(String);

impl fmt::Display for TimestampParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an ISO-8601 date and time: {}", self.0)
    }
}

impl std::error::Error for TimestampParseError {}

impl std::str::FromStr for Timestamp {
    type Err = TimestampParseError;

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || TimestampParseError(text.to_string());
        let b = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampParseError> {
            let part = text.get(range).ok_or_else(fail)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| fail())
            } else {
                Err(fail())
            }
        };
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(fail());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(fail());
        }
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail());
            }
            for (i, c) in fraction[..digits.min(9)].bytes().enumerate() {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
            rest = &fraction[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return Err(fail()),
                };
                let hours: i64 = rest[1..3].parse().map_err(|_| fail())?;
                let minutes: i64 = rest[4..6].parse().map_err(|_| fail())?;
                sign * (hours * 3600 + minutes * 60)
            }
            _ => return Err(fail()),
        };
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
                - offset;
        Ok(Self { seconds, nanos })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            let ext = (TIMESTAMP_EXT, serde_bytes::ByteBuf::from(self.to_ext()));
            serializer.serialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, &ext)
        }
    }
}

struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ISO-8601 date string or a MessagePack timestamp")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Timestamp, D::Error> {
        let (tag, data): (i8, serde_bytes::ByteBuf) = Deserialize::deserialize(deserializer)?;
        if tag != TIMESTAMP_EXT {
            return Err(de::Error::custom(format!(
                "extension type {tag} is not a timestamp"
            )));
        }
        Timestamp::from_ext(&data).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(TimestampVisitor)
        } else {
            deserializer
                .deserialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, TimestampVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_iso_8601() {
        for (text, millis) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T23:59:59.999Z", 951_868_799_999),
            ("1969-12-31T23:59:59.999Z", -1),
            ("1900-01-01T00:00:00Z", -2_208_988_800_000),
            ("2002-04-01T10:20:15.5Z", 1_017_656_415_500),
            ("2002-04-01T10:20:15.05Z", 1_017_656_415_050),
        ] {
            let t = Timestamp::from_unix_millis(millis);
            assert_eq!(t.to_string(), text);
            assert_eq!(text.parse::<Timestamp>(), Ok(t));
        }
        assert_eq!(
            "2024-05-01T12:00:00+02:00"
                .parse::<Timestamp>()
                .unwrap()
                .to_string(),
            "2024-05-01T10:00:00Z"
        );
        let ticks = Timestamp::from_unix(0, 1_234_500);
        assert_eq!(ticks.to_string(), "1970-01-01T00:00:00.0012345Z");
        let fine = Timestamp::from_unix(1, 123_456_789);
        assert_eq!(fine.to_string(), "1970-01-01T00:00:01.123456789Z");
        assert_eq!(fine.to_string().parse::<Timestamp>(), Ok(fine));
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00",
            "2024-01-01T00:00:00.Z",
            "x024-01-01T00:00:00Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn messagepack_uses_the_smallest_timestamp_extension() {
        let encode = |t: Timestamp| rmp_serde::to_vec(&t).unwrap();
        // timestamp 32: fixext4, type -1, seconds.
        assert_eq!(encode(Timestamp::from_unix(1, 0)), [0xd6, 0xff, 0, 0, 0, 1]);
        // timestamp 64: fixext8.
        assert_eq!(
            encode(Timestamp::from_unix_millis(1)),
            [0xd7, 0xff, 0x00, 0x3d, 0x09, 0x00, 0, 0, 0, 0]
        );
        // timestamp 96: ext8 of 12 bytes, for times before 1970.
        let before = encode(Timestamp::from_unix_millis(-1));
        assert_eq!(&before[..3], [0xc7, 12, 0xff]);
        for t in [
            Timestamp::from_unix(1, 0),
            Timestamp::from_unix_millis(1_700_000_000_123),
            Timestamp::from_unix_millis(-86_400_001),
            Timestamp::from_unix(1 << 35, 5),
        ] {
            assert_eq!(rmp_serde::from_slice::<Timestamp>(&encode(t)).unwrap(), t);
        }
    }

    #[test]
    fn converts_with_system_time() {
        for t in [
            Timestamp::from_unix_millis(1_234),
            Timestamp::from_unix_millis(-1_234),
        ] {
            assert_eq!(Timestamp::from(SystemTime::from(t)), t);
        }
    }
}
