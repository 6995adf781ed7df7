//! GUIDs that cross both hub protocols the way ASP.NET Core sends `Guid`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

/// A GUID, as ASP.NET Core sends `Guid`: its 36-character string
/// (`00010203-0405-0607-0706-050403020100`, lower case) in JSON *and* in MessagePack, where
/// `uuid::Uuid` would be 16 bytes of `bin`. It reads that string in any form `uuid` parses
/// (upper case, braces, no hyphens) and, in MessagePack, 16 raw bytes too. TypeScript sees a
/// `string`.
///
/// ```
/// use hubs::Guid;
///
/// let id: Guid = "00010203-0405-0607-0706-050403020100".parse().unwrap();
/// assert_eq!(
///     serde_json::to_string(&id).unwrap(),
///     "\"00010203-0405-0607-0706-050403020100\""
/// );
/// assert_eq!(id.to_string(), "00010203-0405-0607-0706-050403020100");
/// assert_ne!(Guid::new_v4(), Guid::new_v4());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub Uuid);

impl Guid {
    /// The all-zero GUID (.NET's `Guid.Empty`).
    pub const NIL: Guid = Guid(Uuid::nil());

    /// A random (version 4) GUID, like .NET's `Guid.NewGuid()`.
    ///
    /// # Panics
    /// When the operating system has no randomness to give.
    pub fn new_v4() -> Guid {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator");
        Guid(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The GUID's 16 bytes, in the order of its string form (RFC 4122).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl From<Uuid> for Guid {
    fn from(uuid: Uuid) -> Self {
        Guid(uuid)
    }
}

impl From<Guid> for Uuid {
    fn from(guid: Guid) -> Self {
        guid.0
    }
}

impl From<[u8; 16]> for Guid {
    fn from(bytes: [u8; 16]) -> Self {
        Guid(Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for Guid {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Guid)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A string in both protocols: what .NET's MessagePack resolver writes too.
        let mut buffer = Uuid::encode_buffer();
        serializer.serialize_str(self.0.hyphenated().encode_lower(&mut buffer))
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GuidVisitor)
    }
}

struct GuidVisitor;

impl Visitor<'_> for GuidVisitor {
    type Value = Guid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GUID (its string form, or 16 bytes)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Guid, E> {
        text.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Guid, E> {
        Uuid::from_slice(bytes)
            .map(Guid)
            .map_err(|_| E::invalid_length(bytes.len(), &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "00010203-0405-0607-0706-050403020100";

    fn guid() -> Guid {
        TEXT.parse().unwrap()
    }

    #[test]
    fn json_is_the_string() {
        assert_eq!(
            serde_json::to_vec(&guid()).unwrap(),
            format!("\"{TEXT}\"").as_bytes()
        );
        let upper = format!("\"{}\"", TEXT.to_uppercase());
        assert_eq!(serde_json::from_str::<Guid>(&upper).unwrap(), guid());
        assert!(serde_json::from_str::<Guid>("\"not-a-guid\"").is_err());
        assert!(serde_json::from_str::<Guid>("1").is_err());
    }

    #[test]
    fn messagepack_is_the_string_too_and_reads_16_bytes() {
        let mut expected = vec![0xd9, 36]; // str 8 with its length
        expected.extend_from_slice(TEXT.as_bytes());
        assert_eq!(rmp_serde::to_vec(&guid()).unwrap(), expected);
        assert_eq!(rmp_serde::from_slice::<Guid>(&expected).unwrap(), guid());
        let mut bin = vec![0xc4, 16];
        bin.extend_from_slice(guid().as_bytes());
        assert_eq!(rmp_serde::from_slice::<Guid>(&bin).unwrap(), guid());
        assert!(rmp_serde::from_slice::<Guid>(&[0xc4, 2, 1, 2]).is_err());
    }

    #[test]
    fn new_v4_is_random_and_version_4() {
        let (a, b) = (Guid::new_v4(), Guid::new_v4());
        assert_ne!(a, b);
        assert_eq!(a.0.get_version_num(), 4);
        assert_eq!(Guid::from(Uuid::from(a)), a);
        assert_eq!(
            Guid::NIL.to_string(),
            "00000000-0000-0000-0000-000000000000"
        );
    }
}
