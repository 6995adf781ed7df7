//! Property names of the values hub methods exchange, the way ASP.NET Core's JSON hub protocol
//! writes and reads them: `JsonNamingPolicy.CamelCase` on output (unless the app asks for the
//! names as declared) and `PropertyNameCaseInsensitive` on input. MessagePack keeps the names
//! as declared, as ASP.NET Core's MessagePack protocol does.
//!
//! Both directions are serde adapters wrapped around the protocol's own serializer and
//! deserializer, so no user type needs an attribute, arguments are still read straight from
//! the frame and a broadcast is still written once per protocol.

mod de;
mod ser;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{PoisonError, RwLock};

use serde::{Serialize, Serializer};

use super::Protocol;

pub(crate) use de::CaseInsensitive;
pub(crate) use ser::Renaming;

/// How the JSON protocol names the fields of structs (and of struct variants) a hub sends:
/// the one setting the runtime and `typescript-gen` both read, chosen per hub with
/// `#[hub(json_property_names = "...")]`.
///
/// Input is always matched without regard to case or underscores (`userName`, `UserName` and
/// `user_name` all fill `user_name`), as ASP.NET Core reads JSON; map keys are never renamed;
/// MessagePack always uses the names as declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum JsonPropertyNames {
    /// `user_name` is written `userName`: what ASP.NET Core writes by default
    /// (`JsonNamingPolicy.CamelCase`) and what JavaScript code expects. Only names with an
    /// underscore change; a name without one (`#[serde(rename = "ByteArray")]` included) is
    /// written as it is, as .NET leaves `[JsonPropertyName]` alone.
    #[default]
    CamelCase,
    /// Names exactly as serde declares them: ASP.NET Core with
    /// `PayloadSerializerOptions.PropertyNamingPolicy = null`.
    AsDeclared,
}

impl JsonPropertyNames {
    /// `value` as a hub of this setting writes it in `protocol`.
    pub(crate) fn payload<T: ?Sized>(self, protocol: Protocol, value: &T) -> Payload<'_, T> {
        Payload {
            value,
            rename: self == JsonPropertyNames::CamelCase && protocol == Protocol::Json,
        }
    }

    /// The name property `name` has on the JSON wire.
    pub fn property_name(self, name: &str) -> Cow<'_, str> {
        match self {
            JsonPropertyNames::CamelCase => json_property_name(name),
            JsonPropertyNames::AsDeclared => Cow::Borrowed(name),
        }
    }
}

/// A value to serialize, with its struct fields renamed when `rename` is set.
pub(crate) struct Payload<'a, T: ?Sized> {
    value: &'a T,
    rename: bool,
}

impl<T: Serialize + ?Sized> Serialize for Payload<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.rename {
            self.value.serialize(Renaming::values(serializer))
        } else {
            self.value.serialize(serializer)
        }
    }
}

/// `send_message` -> `sendMessage`: words split at underscores (empty ones dropped, a leading
/// `r#` too), the first letter lowered and each later word's first letter raised. The rule of
/// TypeScript member and parameter names, and of camelCase JSON property names.
pub fn camel_case(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let mut out = String::with_capacity(name.len());
    for word in name.split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if out.is_empty() {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    out
}

/// A field's camelCase JSON name: [`camel_case`] of a snake_case identifier; any other name
/// (no underscore, or characters an identifier cannot have, or nothing left) as it is.
pub fn json_property_name(name: &str) -> Cow<'_, str> {
    if !is_renamed(name) {
        return Cow::Borrowed(name);
    }
    let converted = camel_case(name);
    if converted.is_empty() {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(converted)
    }
}

fn is_renamed(name: &str) -> bool {
    name.contains('_') && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// [`json_property_name`] of a declared field name, converted once per process.
pub(crate) fn static_property_name(name: &'static str) -> &'static str {
    if !is_renamed(name) {
        return name;
    }
    // Each thread remembers what it has looked up by the name's address, so a hot
    // serialization touches neither a lock nor a string hash.
    thread_local! {
        static SEEN: RefCell<HashMap<(usize, usize), &'static str, BuildHasherDefault<AddressHasher>>> =
            RefCell::default();
    }
    let address = (name.as_ptr() as usize, name.len());
    if let Some(converted) = SEEN.with_borrow(|seen| seen.get(&address).copied()) {
        return converted;
    }
    let converted = converted_once(name);
    SEEN.with_borrow_mut(|seen| seen.insert(address, converted));
    converted
}

/// The process-wide conversions, so each name is converted (and leaked) once.
fn converted_once(name: &'static str) -> &'static str {
    static CONVERTED: RwLock<Option<HashMap<&'static str, &'static str>>> = RwLock::new(None);
    let cached = CONVERTED.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(&converted) = cached.as_ref().and_then(|map| map.get(name)) {
        return converted;
    }
    drop(cached);
    let mut cache = CONVERTED.write().unwrap_or_else(PoisonError::into_inner);
    // Field names are a fixed set, so what is leaked here is bounded by the program's types.
    cache
        .get_or_insert_with(HashMap::new)
        .entry(name)
        .or_insert_with(|| match json_property_name(name) {
            Cow::Borrowed(same) => same,
            Cow::Owned(converted) => Box::leak(converted.into_boxed_str()),
        })
}

/// Hashes the (address, length) of a `&'static str`: two words, mixed by multiplication.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The declared field `key` stands for: itself when declared (the fast path), else the field
/// equal to it without regard to ASCII case and underscores, else `None` (an unknown key).
pub(crate) fn declared_field(key: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    if let Some(&exact) = fields.iter().find(|&&field| field == key) {
        return Some(exact);
    }
    fields
        .iter()
        .copied()
        .find(|field| same_ignoring_case_and_underscores(key, field))
}

fn same_ignoring_case_and_underscores(a: &str, b: &str) -> bool {
    let mut a = a.bytes().filter(|&c| c != b'_');
    let mut b = b.bytes().filter(|&c| c != b'_');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}
