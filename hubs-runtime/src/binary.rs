//! Binary data that crosses both hub protocols the way the official clients expect.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Binary data, as ASP.NET Core sends `byte[]`: MessagePack `bin` (a `Uint8Array` in
/// JavaScript) and, in JSON, a base64 string. It reads either, and a JSON array of byte
/// values too (what `Array.from(bytes)` gives).
///
/// ```
/// use hubs::Binary;
///
/// let data = Binary::from(vec![1, 2, 255]);
/// assert_eq!(serde_json::to_string(&data).unwrap(), "\"AQL/\"");
/// assert_eq!(serde_json::from_str::<Binary>("\"AQL/\"").unwrap(), data);
/// assert_eq!(serde_json::from_str::<Binary>("[1,2,255]").unwrap(), data);
/// assert_eq!(&data[..], &[1, 2, 255]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Vec<u8>);

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Binary(bytes)
    }
}

impl From<Binary> for Vec<u8> {
    fn from(binary: Binary) -> Self {
        binary.0
    }
}

impl std::ops::Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // JSON is the human-readable protocol; MessagePack has a binary type.
        if serializer.is_human_readable() {
            use base64::Engine as _;
            serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("binary data (bytes, an array of byte values or a base64 string)")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Binary, E> {
        Ok(Binary(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(bytes))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Binary, E> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Binary)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Binary(bytes))
    }
}
