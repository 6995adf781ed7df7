//! A string argument read by the runtime's own UTF-8 check and handed over as it lies, where
//! rmp_serde would check it with `str::from_utf8` (about half an instruction a byte).

use serde::de::DeserializeOwned;

/// Reads argument `raw` as `T`, as `rmp_serde::from_slice` reads it.
pub(super) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, rmp_serde::decode::Error> {
    match str_text(raw) {
        Some(text) => T::deserialize(Str { text, raw }),
        None => rmp_serde::from_slice(raw),
    }
}

/// The text of `raw` if it is one MessagePack string that is UTF-8, checked by the runtime's
/// own check (ASCII eight bytes at a time) rather than rmp_serde's `str::from_utf8`.
fn str_text(raw: &[u8]) -> Option<&str> {
    let (header, len) = match *raw.first()? {
        marker @ 0xa0..=0xbf => (1, usize::from(marker & 0x1f)),
        0xd9 => (2, usize::from(*raw.get(1)?)),
        0xda => (
            3,
            usize::from(u16::from_be_bytes(raw.get(1..3)?.try_into().ok()?)),
        ),
        0xdb => (
            5,
            u32::from_be_bytes(raw.get(1..5)?.try_into().ok()?) as usize,
        ),
        _ => return None,
    };
    let text = raw.get(header..).filter(|text| text.len() == len)?;
    crate::utf8::from_utf8(text).ok()
}

/// Runs `read` on rmp_serde's reader of `raw`, as `rmp_serde::from_slice` reads it.
fn rmp<'de, R>(
    raw: &'de [u8],
    read: impl FnOnce(
        &mut rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'de, [u8]>>,
    ) -> Result<R, rmp_serde::decode::Error>,
) -> Result<R, rmp_serde::decode::Error> {
    read(&mut rmp_serde::Deserializer::from_read_ref(raw))
}

crate::protocol::text_or::text_or! {
    /// An argument that is a string: `text` for a type that asks for a string, rmp_serde on
    /// `raw` for anything else.
    Str, rmp_serde::decode::Error, rmp, human_readable: false
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::protocol::{HubProtocol, MessagePackProtocol};

    #[test]
    fn string_arguments_read_as_rmp_serde_reads_them() {
        #[derive(Debug, PartialEq, Deserialize)]
        enum Mood {
            Calm,
        }
        fn same<T: DeserializeOwned + PartialEq + std::fmt::Debug>(raw: &[u8]) {
            let ours = MessagePackProtocol::decode_value::<T>(raw);
            let theirs = rmp_serde::from_slice::<T>(raw).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{raw:02x?} as {}", std::any::type_name::<T>());
        }
        let long = "y".repeat(300);
        let strings: Vec<Vec<u8>> = vec![
            rmp_serde::to_vec("héllo").unwrap(),         // fixstr
            rmp_serde::to_vec(&"x".repeat(40)).unwrap(), // str8
            rmp_serde::to_vec(&long).unwrap(),           // str16
            [&[0xdb, 0, 0, 0, 4][..], b"Calm"].concat(), // str32
            rmp_serde::to_vec("Calm").unwrap(),
            rmp_serde::to_vec("7").unwrap(),
            rmp_serde::to_vec("127.0.0.1").unwrap(),
            vec![0xa2, 0xc3, 0x28],       // not UTF-8
            vec![0xa2, b'h', b'i', 0x00], // a byte after the string
            vec![0xa3, b'h', b'i'],       // cut short
            rmp_serde::to_vec(&7u32).unwrap(),
        ];
        // The strings are taken whole, whatever their marker; the rest go to rmp_serde.
        let texts: Vec<Option<&str>> = strings.iter().map(|raw| str_text(raw)).collect();
        assert_eq!(
            texts[..3],
            [Some("héllo"), Some(&*"x".repeat(40)), Some(&*long)]
        );
        assert_eq!(texts[3], Some("Calm"));
        assert!(texts[7..].iter().all(Option::is_none));
        for raw in &strings {
            same::<String>(raw);
            same::<Option<String>>(raw);
            same::<char>(raw);
            same::<u32>(raw);
            same::<Vec<u8>>(raw);
            same::<Mood>(raw);
            same::<std::net::IpAddr>(raw);
        }
    }
}
