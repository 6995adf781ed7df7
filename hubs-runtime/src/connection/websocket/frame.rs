//! RFC 6455 framing (§5.2): the opcodes, the header of a frame as a client sends it (masked)
//! and as the server writes it (unmasked, shortest length form), masking, and close codes.

/// Opcode of a continuation frame.
pub(super) const CONTINUATION: u8 = 0x0;
/// Opcode of a text frame.
pub(super) const TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub(super) const BINARY: u8 = 0x2;
/// Opcode of a Close frame.
pub(super) const CLOSE: u8 = 0x8;
/// Opcode of a Ping frame.
pub(super) const PING: u8 = 0x9;
/// Opcode of a Pong frame.
pub(super) const PONG: u8 = 0xA;

/// Close codes this server sends (§7.4.1).
pub(super) mod code {
    /// The purpose of the connection is fulfilled; also the answer to a Close without a code.
    pub(in super::super) const NORMAL: u16 = 1000;
    /// A frame broke the protocol.
    pub(in super::super) const PROTOCOL: u16 = 1002;
    /// A text message (or a Close reason) that is not UTF-8.
    pub(in super::super) const INVALID: u16 = 1007;
    /// A frame or message over the size limit.
    pub(in super::super) const SIZE: u16 = 1009;
    /// The server ended the connection for its own reasons (a client too slow, an abort).
    pub(in super::super) const ERROR: u16 = 1011;
}

/// The longest header a client frame can have: 2 bytes, a 64-bit length, the mask key.
pub(super) const MAX_CLIENT_HEADER: usize = 14;
/// The longest header this server writes: 2 bytes and a 64-bit length.
pub(super) const MAX_SERVER_HEADER: usize = 10;
// A lent frame's room takes any header.
const _: () = assert!(MAX_SERVER_HEADER <= crate::connection::queue::LENT_FRAME_ROOM);
/// Control frames carry at most this much payload (§5.5).
pub(super) const MAX_CONTROL_PAYLOAD: usize = 125;

/// The fixed part of a client frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) fin: bool,
    /// RSV1-3 as the three low bits.
    pub(super) rsv: u8,
    pub(super) opcode: u8,
    pub(super) masked: bool,
    /// The payload length as announced, before any limit is applied.
    pub(super) length: u64,
    pub(super) mask: [u8; 4],
}

impl Header {
    /// The header at the start of `data` and its length in bytes, or `None` when `data`
    /// holds only part of it.
    pub(super) fn parse(data: &[u8]) -> Option<(Header, usize)> {
        let (&first, &second) = (data.first()?, data.get(1)?);
        let (length, mut at) = match second & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes(data.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (u64::from_be_bytes(data.get(2..10)?.try_into().ok()?), 10),
            short => (u64::from(short), 2),
        };
        let masked = second & 0x80 != 0;
        let mut mask = [0; 4];
        if masked {
            mask.copy_from_slice(data.get(at..at + 4)?);
            at += 4;
        }
        let header = Header {
            fin: first & 0x80 != 0,
            rsv: (first >> 4) & 0b111,
            opcode: first & 0x0f,
            masked,
            length,
            mask,
        };
        Some((header, at))
    }

    /// How many header bytes a frame starting with these two bytes has.
    pub(super) fn length_from(first_two: [u8; 2]) -> usize {
        let mask = if first_two[1] & 0x80 != 0 { 4 } else { 0 };
        mask + match first_two[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        }
    }
}

/// Whether `opcode` is a control frame's (Close, Ping, Pong and the reserved 0xB-0xF).
pub(super) fn is_control(opcode: u8) -> bool {
    opcode & 0x8 != 0
}

/// Writes the header of an unmasked final frame of `opcode` with `length` payload bytes at
/// the end of `out`, in the shortest length form; returns where it starts. Ending where `out`
/// ends, it can be put right before a payload by copying all of `out` (ten bytes, a fixed
/// size the compiler copies in two moves).
pub(super) fn server_header(opcode: u8, length: usize, out: &mut [u8; MAX_SERVER_HEADER]) -> usize {
    let start = match length {
        0..=125 => {
            out[9] = length as u8;
            8
        }
        126..=0xffff => {
            out[7] = 126;
            out[8..].copy_from_slice(&(length as u16).to_be_bytes());
            6
        }
        _ => {
            out[1] = 127;
            out[2..].copy_from_slice(&(length as u64).to_be_bytes());
            0
        }
    };
    out[start] = 0x80 | opcode;
    start
}

/// A whole unmasked control frame (Pong, Close) as the server sends it.
pub(super) fn control_frame(opcode: u8, payload: &[&[u8]]) -> Vec<u8> {
    let length: usize = payload.iter().map(|part| part.len()).sum();
    debug_assert!(length <= MAX_CONTROL_PAYLOAD);
    let mut header = [0; MAX_SERVER_HEADER];
    let start = server_header(opcode, length, &mut header);
    let header = &header[start..];
    let mut frame = Vec::with_capacity(header.len() + length);
    frame.extend_from_slice(header);
    for part in payload {
        frame.extend_from_slice(part);
    }
    frame
}

/// A Close frame with `code` and `reason`.
pub(super) fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    control_frame(CLOSE, &[&code.to_be_bytes(), reason.as_bytes()])
}

/// Appends `masked` to `out`, unmasked with `mask` starting at byte `phase` of the key;
/// returns the phase after it.
pub(super) fn unmask_into(out: &mut Vec<u8>, masked: &[u8], mask: [u8; 4], phase: usize) -> usize {
    let start = out.len();
    out.extend_from_slice(masked);
    unmask(&mut out[start..], mask, phase)
}

/// Unmasks `data` in place with `mask` starting at byte `phase` of the key; returns the phase
/// after it.
pub(super) fn unmask(data: &mut [u8], mask: [u8; 4], phase: usize) -> usize {
    unmask_seeing_ascii(data, mask, phase);
    (phase + data.len()) % 4
}

/// Unmasks a whole payload in place (the key from its first byte) and tells whether it is
/// all ASCII, seen as it is unmasked: a text message that is (nearly every one) then needs
/// no pass of its own for its UTF-8 check.
pub(super) fn unmask_is_ascii(data: &mut [u8], mask: [u8; 4]) -> bool {
    unmask_seeing_ascii(data, mask, 0)
}

/// Unmasks `data` in place with `mask` starting at byte `phase` of the key; returns whether
/// every byte unmasked is ASCII (no high bit in the OR of them all). Eight bytes a
/// word (the key repeats every four), which the compiler reads in vectors: SSE2's, or AVX2's
/// for a long message where the CPU has them; then four bytes and the last few one by one,
/// so a short message's tail costs no more than a word's work.
fn unmask_seeing_ascii(data: &mut [u8], mask: [u8; 4], phase: usize) -> bool {
    // The key from byte `phase` on, as the little-endian word the data is read in.
    let key = u32::from_le_bytes(mask).rotate_right(8 * (phase % 4) as u32);
    let wide = u64::from(key) << 32 | u64::from(key);
    let (rest, words) = unmask_words_where_fastest(data, wide);
    let mut seen = words;
    let rest = match rest.split_at_mut_checked(4) {
        Some((word, after)) => {
            let value = u32::from_le_bytes((&*word).try_into().expect("four bytes")) ^ key;
            word.copy_from_slice(&value.to_le_bytes());
            seen |= u64::from(value);
            after
        }
        None => rest,
    };
    for (byte, key_byte) in rest.iter_mut().zip(key.to_le_bytes()) {
        *byte ^= key_byte;
        seen |= u64::from(*byte);
    }
    seen & 0x8080_8080_8080_8080 == 0
}

/// From here on [`unmask`] reads AVX2 vectors where it can: a few of them pay for the test
/// of the CPU's features.
const LONG: usize = 128;

/// [`unmask_words`] in the widest vectors this CPU has.
#[inline]
fn unmask_words_where_fastest(data: &mut [u8], wide: u64) -> (&mut [u8], u64) {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= LONG && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the one feature the function is built for.
        return unsafe { unmask_words_avx2(data, wide) };
    }
    unmask_words(data, wide)
}

/// [`unmask_words`] built for AVX2, so that the compiler XORs 32 bytes to a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
fn unmask_words_avx2(data: &mut [u8], wide: u64) -> (&mut [u8], u64) {
    unmask_words(data, wide)
}

/// XORs each whole word of eight bytes of `data` with `wide` (the key twice); returns the
/// rest, fewer than eight bytes, and the OR of the words unmasked.
#[inline(always)]
fn unmask_words(data: &mut [u8], wide: u64) -> (&mut [u8], u64) {
    let mut words = data.chunks_exact_mut(8);
    let mut seen = 0;
    for word in &mut words {
        let value = u64::from_le_bytes((&*word).try_into().expect("eight bytes")) ^ wide;
        word.copy_from_slice(&value.to_le_bytes());
        seen |= value;
    }
    (words.into_remainder(), seen)
}

/// Whether a peer may send `code` in a Close frame (§7.4: the codes defined for the protocol,
/// the IANA registry's, and 3000-4999; never 1004-1006 or 1015, which only APIs report).
pub(super) fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_use_the_shortest_length_form() {
        let mut out = [0; MAX_SERVER_HEADER];
        for (length, expected) in [
            (0, &[0x81, 0][..]),
            (125, &[0x81, 125]),
            (126, &[0x81, 126, 0, 126]),
            (65_535, &[0x81, 126, 0xff, 0xff]),
            (65_536, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let start = server_header(TEXT, length, &mut out);
            assert_eq!(&out[start..], expected, "{length}");
        }
    }

    #[test]
    fn client_headers_parse_only_when_whole() {
        let frame = [0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4];
        for cut in 0..frame.len() {
            assert_eq!(Header::parse(&frame[..cut]), None, "{cut}");
        }
        let (header, used) = Header::parse(&frame).unwrap();
        assert_eq!(used, 8);
        assert_eq!(Header::length_from([frame[0], frame[1]]), 8);
        assert_eq!(
            header,
            Header {
                fin: true,
                rsv: 0,
                opcode: TEXT,
                masked: true,
                length: 256,
                mask: [1, 2, 3, 4],
            }
        );
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let plain: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let masked: Vec<u8> = plain
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        // Every tail length (8- and 4-byte steps, then single bytes) at every phase, and
        // pieces long enough for AVX2's vectors.
        for piece in (1..=40).chain([64, 95, 127, 128, 129, 191, 200, 1000]) {
            let mut out = Vec::new();
            let mut phase = 0;
            for chunk in masked.chunks(piece) {
                phase = unmask_into(&mut out, chunk, mask, phase);
            }
            assert_eq!(out, plain, "pieces of {piece}");
        }
    }

    #[test]
    fn unmasking_sees_a_byte_outside_ascii_wherever_it_is() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        // Every position of the words, the four-byte step and the last bytes, in short
        // payloads and in AVX2's.
        for len in (0..=40).chain([127, 128, 129, 200, 1000]) {
            for outside in std::iter::once(None).chain((0..len).map(Some)) {
                let mut plain = vec![b'~'; len];
                if let Some(at) = outside {
                    plain[at] = 0x80;
                }
                let mut data: Vec<u8> = plain
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[i % 4])
                    .collect();
                let ascii = unmask_is_ascii(&mut data, mask);
                assert_eq!(ascii, outside.is_none(), "{len} bytes, {outside:?}");
                assert_eq!(data, plain, "{len} bytes, {outside:?}");
            }
        }
    }

    #[test]
    fn close_codes_follow_the_registry() {
        for valid in [1000, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(is_valid_close_code(valid), "{valid}");
        }
        for invalid in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!is_valid_close_code(invalid), "{invalid}");
        }
    }
}
