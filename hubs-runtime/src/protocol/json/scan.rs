//! Where a JSON string's plain run ends: the first `"`, `\` or control character. Every
//! string the reader reads and every string written as a result goes through it, so a 1 KiB
//! echo scans its text twice.

/// The bytes before the first `"`, `\` or control character (all of them if there is none).
///
/// Short strings (keys, ids, most values) end within a few words, tested eight bytes at a
/// time. Past [`SHORT`] bytes, whole blocks with nothing special are passed over where the CPU
/// tests them in vectors ([`clean_blocks`]); then two passes that each take many bytes per
/// instruction: `memchr2` finds the first quote or backslash, and the least byte before it
/// (vector minimums) shows whether a control character comes first.
pub(super) fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        if at == SHORT {
            return at + long_plain_len(&bytes[at..]);
        }
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // The high bit of each byte that is zero (`x - 1` borrows) or below 0x20; a false
        // one only ever follows a true one, so the lowest is the first match.
        let found = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | word.wrapping_sub(ONES * 0x20) & !word)
            & HIGH;
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| is_special(b))
        .unwrap_or(bytes.len() - at)
}

/// Where [`plain_len`] stops testing words.
const SHORT: usize = 32;

fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

fn long_plain_len(bytes: &[u8]) -> usize {
    let clean = clean_blocks(bytes);
    let bytes = &bytes[clean..];
    let end = memchr::memchr2(b'"', b'\\', bytes).unwrap_or(bytes.len());
    let run = &bytes[..end];
    if run.iter().copied().min().is_none_or(|least| least >= 0x20) {
        return clean + end;
    }
    clean + run.iter().position(|&b| b < 0x20).unwrap_or(end)
}

/// Bytes in a block [`clean_blocks`] tests at once.
const BLOCK: usize = 64;

/// The bytes of the whole blocks at the start of `bytes` with nothing special in them, where
/// the CPU tests a block in a few instructions (AVX2: two 32-byte halves, three comparisons
/// each), about two thirds of what the two passes after it take per byte. 0 elsewhere.
fn clean_blocks(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= BLOCK && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the one feature the function is built for.
        return unsafe { clean_blocks_avx2(bytes) };
    }
    0
}

/// [`clean_blocks`] built for AVX2, so that the compiler tests each block in vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn clean_blocks_avx2(bytes: &[u8]) -> usize {
    let (blocks, _) = bytes.as_chunks::<BLOCK>();
    let clean = blocks.iter().take_while(|block| {
        // Every byte tested, without stopping early, so that the loop is one of vectors.
        !block
            .iter()
            .fold(false, |found, &byte| found | is_special(byte))
    });
    clean.count() * BLOCK
}
