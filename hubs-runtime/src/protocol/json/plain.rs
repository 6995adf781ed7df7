//! A value that serializes as a string with nothing to escape (what an echo or a chat method
//! returns) is written with one copy. serde_json escapes strings a byte at a time, about nine
//! instructions per byte: most of a 1 KiB echo's cost.

use std::fmt;

use serde::ser::{Error, Impossible, Serialize, Serializer};

use super::fast::plain_len;

/// Writes `value` into `out` as the JSON string it serializes as, if it serializes as a string
/// with no character to escape; otherwise writes nothing and returns `false`.
pub(super) fn write_plain_string<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> bool {
    value.serialize(PlainString(out)).is_ok()
}

/// A serializer that takes a plain string and refuses anything else.
struct PlainString<'a>(&'a mut Vec<u8>);

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
    ($($method:ident($($ty:ty),*);)*) => {$(
        fn $method(self $(, _: $ty)*) -> Result<(), NotPlain> {
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
        self.0.reserve_exact(text.len() + 2);
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
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
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

    fn serialize_seq(self, _: Option<usize>) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple(self, _: usize) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Refused, NotPlain> {
        Err(NotPlain)
    }
}
