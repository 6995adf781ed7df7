//! The input half: a `Deserializer` that hands everything to the protocol's deserializer and,
//! inside every struct (and struct variant), maps each key onto the declared field it stands
//! for, ignoring case and underscores, as ASP.NET Core's `PropertyNameCaseInsensitive` does.
//! Nested values are wrapped again; map keys are left alone.
//!
//! Types serde reads through its own buffer (`#[serde(flatten)]`, internally tagged and
//! untagged enums) see the keys as sent, out of this adapter's reach.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::declared_field;

type Fields = &'static [&'static str];

/// Wraps a deserializer so structs inside it accept their fields in any letter case.
pub(crate) struct CaseInsensitive<D>(pub(crate) D);

impl<D> CaseInsensitive<D> {
    fn split<V>(self, visitor: V) -> (D, Nested<V>) {
        (
            self.0,
            Nested {
                visitor,
                fields: None,
            },
        )
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self $(, $arg: $ty)*, visitor: V) -> Result<V::Value, Self::Error> {
            let (inner, visitor) = self.split(visitor);
            inner.$method($($arg,)* visitor)
        }
    )*};
}

/// The methods every wrapping deserializer forwards unchanged but for its visitor.
macro_rules! forward_common {
    () => {
        forward_deserialize! {
            deserialize_any();
            deserialize_str();
            deserialize_string();
        }
        crate::protocol::deserialize_methods::deserialize_methods!([forward_deserialize] {});
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for CaseInsensitive<D> {
    type Error = D::Error;

    forward_common!();

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: Fields,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Nested {
            visitor,
            fields: Some(fields),
        };
        self.0.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: Fields,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let (inner, visitor) = self.split(visitor);
        inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested values are read case-insensitively too; `fields` is set when it
/// reads a struct, whose keys are then matched to them.
struct Nested<V> {
    visitor: V,
    fields: Option<Fields>,
}

macro_rules! forward_visit {
    ($($method:ident($($arg:ident: $ty:ty)?);)*) => {$(
        fn $method<E: de::Error>(self $(, $arg: $ty)?) -> Result<Self::Value, E> {
            self.visitor.$method($($arg)?)
        }
    )*};
}

/// The visits of plain values, forwarded unchanged.
macro_rules! forward_scalars {
    () => {
        forward_visit! {
            visit_bool(v: bool);
            visit_i8(v: i8);
            visit_i16(v: i16);
            visit_i32(v: i32);
            visit_i64(v: i64);
            visit_i128(v: i128);
            visit_u8(v: u8);
            visit_u16(v: u16);
            visit_u32(v: u32);
            visit_u64(v: u64);
            visit_u128(v: u128);
            visit_f32(v: f32);
            visit_f64(v: f64);
            visit_char(v: char);
            visit_bytes(v: &[u8]);
            visit_borrowed_bytes(v: &'de [u8]);
            visit_byte_buf(v: Vec<u8>);
            visit_none();
            visit_unit();
        }

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.visitor.expecting(f)
        }
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Nested<V> {
    type Value = V::Value;

    forward_scalars!();

    forward_visit! {
        visit_str(v: &str);
        visit_borrowed_str(v: &'de str);
        visit_string(v: String);
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(CaseInsensitive(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(CaseInsensitive(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Map {
            inner: map,
            fields: self.fields,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(Enum(data))
    }
}

/// A seed whose value is read case-insensitively.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(CaseInsensitive(d))
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A map; with `fields`, a struct whose keys are matched to them.
struct Map<A> {
    inner: A,
    fields: Option<Fields>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.fields {
            Some(fields) => self.inner.next_key_seed(KeySeed { seed, fields }),
            None => self.inner.next_key_seed(seed),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        // Variant names are matched as serde declares them, like .NET enum names.
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = Nested {
            visitor,
            fields: None,
        };
        self.0.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: Fields,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = Nested {
            visitor,
            fields: Some(fields),
        };
        self.0.struct_variant(fields, visitor)
    }
}

/// The seed of a struct's key: what it reads is mapped to a declared field first.
struct KeySeed<S> {
    seed: S,
    fields: Fields,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(FieldKey {
            inner: d,
            fields: self.fields,
        })
    }
}

/// The deserializer of a struct's key.
struct FieldKey<D> {
    inner: D,
    fields: Fields,
}

impl<D> FieldKey<D> {
    fn split<V>(self, visitor: V) -> (D, KeyVisitor<V>) {
        let fields = self.fields;
        (self.inner, KeyVisitor { visitor, fields })
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for FieldKey<D> {
    type Error = D::Error;

    forward_common!();

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: Fields,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let (inner, visitor) = self.split(visitor);
        inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: Fields,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let (inner, visitor) = self.split(visitor);
        inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Hands the field identifier visitor the declared name a key stands for.
struct KeyVisitor<V> {
    visitor: V,
    fields: Fields,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<V> {
    type Value = V::Value;

    forward_scalars!();

    fn visit_str<E: de::Error>(self, key: &str) -> Result<V::Value, E> {
        match declared_field(key, self.fields) {
            Some(field) => self.visitor.visit_borrowed_str(field),
            None => self.visitor.visit_str(key),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<V::Value, E> {
        match declared_field(key, self.fields) {
            Some(field) => self.visitor.visit_borrowed_str(field),
            None => self.visitor.visit_borrowed_str(key),
        }
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<V::Value, E> {
        match declared_field(&key, self.fields) {
            Some(field) => self.visitor.visit_borrowed_str(field),
            None => self.visitor.visit_string(key),
        }
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}
