//! The output half: a `Serializer` that hands everything to the protocol's serializer, with the
//! keys of structs and struct variants renamed and every nested value wrapped again.

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use super::{json_property_name, static_property_name};

/// Wraps a serializer (or one of its compound states) so struct field keys come out camelCase.
pub(crate) struct Renaming<S> {
    inner: S,
    /// Set while writing a key of a map serde builds for `#[serde(flatten)]`: a string there
    /// is a field name, renamed like any other.
    field_key: bool,
}

impl<S> Renaming<S> {
    /// A serializer of values (struct keys renamed; map keys left alone).
    pub(crate) fn values(inner: S) -> Self {
        Self {
            inner,
            field_key: false,
        }
    }
}

/// A nested value, serialized with renaming too.
struct Nested<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Nested<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Renaming::values(serializer))
    }
}

/// A key of a flattened struct's map.
struct FieldKey<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for FieldKey<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Renaming {
            inner: serializer,
            field_key: true,
        })
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method(self $(, $arg: $ty)*) -> Result<S::Ok, S::Error> {
            self.inner.$method($($arg),*)
        }
    )*};
}

impl<S: Serializer> Serializer for Renaming<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Renaming<S::SerializeSeq>;
    type SerializeTuple = Renaming<S::SerializeTuple>;
    type SerializeTupleStruct = Renaming<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Renaming<S::SerializeTupleVariant>;
    type SerializeMap = RenamingMap<S::SerializeMap>;
    type SerializeStruct = Renaming<S::SerializeStruct>;
    type SerializeStructVariant = Renaming<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        if self.field_key {
            self.inner.serialize_str(&json_property_name(v))
        } else {
            self.inner.serialize_str(v)
        }
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        if self.field_key {
            self.serialize_str(&value.to_string())
        } else {
            self.inner.collect_str(value)
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&Nested(value))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, &Nested(value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_variant(name, index, variant, &Nested(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.inner.serialize_seq(len).map(Renaming::values)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.inner.serialize_tuple(len).map(Renaming::values)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.inner
            .serialize_tuple_struct(name, len)
            .map(Renaming::values)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
            .map(Renaming::values)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        // Collections know their length; serde writes a struct with `#[serde(flatten)]` as a
        // map of unknown length whose keys are field names.
        let field_keys = len.is_none();
        self.inner
            .serialize_map(len)
            .map(|inner| RenamingMap { inner, field_keys })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.inner.serialize_struct(name, len).map(Renaming::values)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.inner
            .serialize_struct_variant(name, index, variant, len)
            .map(Renaming::values)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<S: $trait> $trait for Renaming<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
                self.inner.$method(&Nested(value))
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    )*};
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl<S: $trait> $trait for Renaming<S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                self.inner.serialize_field(static_property_name(key), &Nested(value))
            }

            fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
                self.inner.skip_field(static_property_name(key))
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map: keys as they are (.NET's `DictionaryKeyPolicy` is null), values renamed, unless
/// the map stands for a flattened struct.
pub(crate) struct RenamingMap<M> {
    inner: M,
    field_keys: bool,
}

impl<M: SerializeMap> SerializeMap for RenamingMap<M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), M::Error> {
        if self.field_keys {
            self.inner.serialize_key(&FieldKey(key))
        } else {
            self.inner.serialize_key(key)
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), M::Error> {
        self.inner.serialize_value(&Nested(value))
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), M::Error> {
        if self.field_keys {
            self.inner.serialize_entry(&FieldKey(key), &Nested(value))
        } else {
            self.inner.serialize_entry(key, &Nested(value))
        }
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.inner.end()
    }
}
