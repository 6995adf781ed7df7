//! UTF-8 checks on the message path. Nearly every SignalR message is ASCII, which eight bytes
//! at a time confirm for about a third of what `str::from_utf8`'s general walk costs on the
//! short input messages are made of.

use std::str::Utf8Error;

/// [`std::str::from_utf8`], confirming ASCII first.
#[inline]
pub(crate) fn from_utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: every ASCII byte string is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether no byte has its high bit set, read eight bytes at a time (the last word overlaps
/// the one before it rather than ending in a loop over single bytes).
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let Some(last) = bytes.last_chunk::<8>() else {
        return bytes.iter().fold(0, |all, byte| all | byte) < 0x80;
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut all = u64::from_ne_bytes(*last);
    for chunk in &mut chunks {
        all |= u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
    }
    all & HIGH_BITS == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives what `std::str::from_utf8` gives, error positions included.
    fn agrees(bytes: &[u8]) {
        let ours = from_utf8(bytes).map_err(|e| (e.valid_up_to(), e.error_len()));
        let std = std::str::from_utf8(bytes).map_err(|e| (e.valid_up_to(), e.error_len()));
        assert_eq!(ours, std, "{bytes:?}");
    }

    #[test]
    fn agrees_with_std_wherever_a_byte_is_not_ascii() {
        let text =
            "{\"type\":1,\"target\":\"Echo\",\"arguments\":[\"abcdefghijklmnopqrstuvwxyz\"]}";
        for len in 0..=text.len() {
            let prefix = &text.as_bytes()[..len];
            agrees(prefix);
            for at in 0..len {
                for byte in [0x80, 0xC3, 0xE2, 0xF0, 0xFF] {
                    let mut bytes = prefix.to_vec();
                    bytes[at] = byte;
                    agrees(&bytes);
                }
            }
        }
    }

    #[test]
    fn accepts_non_ascii_utf8_of_every_length() {
        for text in [
            "é",
            "ü-ß",
            "€ a b c d e f",
            "日本語のテキストです",
            "🎉 party 🎉🎉🎉",
        ] {
            for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
                assert_eq!(from_utf8(&text.as_bytes()[..end]), Ok(&text[..end]));
            }
        }
    }
}
