//! The `Deserializer` methods the protocol's wrapping deserializers pass on, listed once.

/// Expands to `$then! { $($prefix)* deserialize_bool(); ... }`: every method that takes the
/// visitor and at most a name or a length, save `deserialize_any`, `_str`, `_string`,
/// `_struct` and `_enum`, which each wrapping deserializer treats in a way of its own.
macro_rules! deserialize_methods {
    ([$($then:tt)*] { $($prefix:tt)* }) => {
        $($then)*! {
            $($prefix)*
            deserialize_bool();
            deserialize_i8();
            deserialize_i16();
            deserialize_i32();
            deserialize_i64();
            deserialize_i128();
            deserialize_u8();
            deserialize_u16();
            deserialize_u32();
            deserialize_u64();
            deserialize_u128();
            deserialize_f32();
            deserialize_f64();
            deserialize_char();
            deserialize_bytes();
            deserialize_byte_buf();
            deserialize_option();
            deserialize_unit();
            deserialize_unit_struct(name: &'static str);
            deserialize_newtype_struct(name: &'static str);
            deserialize_seq();
            deserialize_tuple(len: usize);
            deserialize_tuple_struct(name: &'static str, len: usize);
            deserialize_map();
            deserialize_identifier();
            deserialize_ignored_any();
        }
    };
}

pub(crate) use deserialize_methods;
