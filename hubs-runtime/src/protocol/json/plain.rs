//! Strings with nothing to escape, the usual arguments and results of echo and chat methods,
//! without serde_json's byte-at-a-time loops (about nine instructions per byte to write one,
//! two and a half to read one: most of a 1 KiB echo's cost).
//!
//! - Writing: a value that serializes as such a string is written with one copy.
//! - Reading: an argument that is such a string is handed to a type asking for a string as
//!   it lies in the frame; any other request goes to serde_json as before.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::ser::{Error, Impossible, Serialize, Serializer};
use serde_json::de::SliceRead;

use super::CaseInsensitive;
use super::scan::plain_len;
use crate::protocol::Encoded;

/// Writes `value` into `out` as the JSON string it serializes as, if it serializes as a string
/// with no character to escape; otherwise writes nothing and returns `false`.
pub(super) fn write_plain_string<T: Serialize + ?Sized>(value: &T, out: &mut Encoded) -> bool {
    value.serialize(PlainString(out)).is_ok()
}

/// A serializer that takes a plain string and refuses anything else.
struct PlainString<'a>(&'a mut Encoded);

/// Not a plain string: serde_json writes it.
#[derive(Debug)]
struct NotPlain;

impl fmt::Display for NotPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string without escapes")
    }
}

impl std::error::Error for NotPlain {}

impl Error for NotPlain {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotPlain
    }
}

type Refused = Impossible<(), NotPlain>;

macro_rules! refuse {
    ($($method:ident($($ty:ty),*) -> $ok:ty;)*) => {$(
        fn $method(self $(, _: $ty)*) -> Result<$ok, NotPlain> {
            Err(NotPlain)
        }
    )*};
}

impl Serializer for PlainString<'_> {
    type Ok = ();
    type Error = NotPlain;
    type SerializeSeq = Refused;
    type SerializeTuple = Refused;
    type SerializeTupleStruct = Refused;
    type SerializeTupleVariant = Refused;
    type SerializeMap = Refused;
    type SerializeStruct = Refused;
    type SerializeStructVariant = Refused;

    fn serialize_str(self, text: &str) -> Result<(), NotPlain> {
        // serde_json escapes exactly these: `"`, `\` and control characters.
        if plain_len(text.as_bytes()) < text.len() {
            return Err(NotPlain);
        }
        self.0.reserve(text.len() + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(b'"');
        Ok(())
    }

    // A newtype around a string is that string, as serde_json writes it.
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotPlain> {
        value.serialize(self)
    }

    refuse! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_i128(i128) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_u128(u128) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Refused;
        serialize_tuple(usize) -> Refused;
        serialize_tuple_struct(&'static str, usize) -> Refused;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Refused;
        serialize_map(Option<usize>) -> Refused;
        serialize_struct(&'static str, usize) -> Refused;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Refused;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), NotPlain> {
        Err(NotPlain)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
}

/// Reads argument `raw` as `T`, the way serde_json reads it (property names without regard
/// to case), with a plain string handed over as it lies.
pub(super) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, serde_json::Error> {
    decode_text(raw, plain_text(raw))
}

/// [`decode`] for `raw` the reader found to be a JSON string with nothing escaped: its text is
/// not scanned again.
pub(super) fn decode_plain_string<T: DeserializeOwned>(raw: &str) -> Result<T, serde_json::Error> {
    let text = raw.strip_prefix('"').and_then(|raw| raw.strip_suffix('"'));
    decode_text(raw.as_bytes(), text)
}

/// `raw` as `T`: `text`, if it is a plain string's, for a type that asks for a string.
fn decode_text<T: DeserializeOwned>(
    raw: &[u8],
    text: Option<&str>,
) -> Result<T, serde_json::Error> {
    match text {
        Some(text) => T::deserialize(PlainText { text, raw }),
        None => json(raw, |json| T::deserialize(json)),
    }
}

/// What lies between `raw`'s quotes, if it is quoted.
fn quoted(raw: &[u8]) -> Option<&[u8]> {
    raw.strip_prefix(b"\"")?.strip_suffix(b"\"")
}

/// The text of `raw` if it is a JSON string with nothing escaped.
fn plain_text(raw: &[u8]) -> Option<&str> {
    let inner = quoted(raw)?;
    if plain_len(inner) < inner.len() {
        return None;
    }
    crate::utf8::from_utf8(inner).ok()
}

type Json<'a, 'de> = CaseInsensitive<&'a mut serde_json::Deserializer<SliceRead<'de>>>;

/// Runs `read` on a serde_json reader of `raw` that must use all of it.
fn json<'de, R>(
    raw: &'de [u8],
    read: impl FnOnce(Json<'_, 'de>) -> Result<R, serde_json::Error>,
) -> Result<R, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value = read(CaseInsensitive(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

crate::protocol::text_or::text_or! {
    /// An argument that is a plain string: `text` for a type that asks for a string, serde_json
    /// on `raw` for anything else.
    PlainText, serde_json::Error, json, human_readable: true
}
