//! A string argument handed to the type that asks for one as it lies in the frame, checked
//! as UTF-8 by the runtime's own check, while any other request is read by the protocol's
//! deserializer, exactly as before.

/// Defines `$name<'de> { text: &'de str, raw: &'de [u8] }`: a deserializer of the string
/// value `raw` whose text is `text`. A request for a string (or for anything) gets `text`;
/// every other request is answered by `$read(raw, |deserializer| ...)`, the protocol's
/// reader of `raw`, which also decides what `is_human_readable` says.
macro_rules! text_or {
    ($(#[$doc:meta])* $name:ident, $error:ty, $read:path, human_readable: $human:expr) => {
        $(#[$doc])*
        struct $name<'de> {
            text: &'de str,
            raw: &'de [u8],
        }

        impl<'de> serde::de::Deserializer<'de> for $name<'de> {
            type Error = $error;

            fn deserialize_any<V: serde::de::Visitor<'de>>(
                self,
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                visitor.visit_borrowed_str(self.text)
            }

            fn deserialize_str<V: serde::de::Visitor<'de>>(
                self,
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                visitor.visit_borrowed_str(self.text)
            }

            fn deserialize_string<V: serde::de::Visitor<'de>>(
                self,
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                visitor.visit_borrowed_str(self.text)
            }

            fn is_human_readable(&self) -> bool {
                $human
            }

            crate::protocol::deserialize_methods::deserialize_methods!(
                [crate::protocol::text_or::text_or] { @read $read; }
            );
            crate::protocol::text_or::text_or! { @read $read;
                deserialize_struct(name: &'static str, fields: &'static [&'static str]);
                deserialize_enum(name: &'static str, variants: &'static [&'static str]);
            }
        }
    };
    (@read $read:path; $($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: serde::de::Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            $read(self.raw, |deserializer| deserializer.$method($($arg,)* visitor))
        }
    )*};
}

pub(crate) use text_or;
