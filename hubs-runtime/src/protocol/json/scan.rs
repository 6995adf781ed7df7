//! Where a JSON string's plain run ends: the first `"`, `\` or control character. Every
//! string the reader reads and every string written as a result goes through it, so a 1 KiB
//! echo scans its text twice.

/// The bytes before the first `"`, `\` or control character (all of them if there is none).
///
/// Short strings (keys, ids, most values) end within a few steps of sixteen bytes, each tested
/// in one vector where the CPU has them ([`sixteen`]); fewer than sixteen left are
/// tested as a word of eight, then one by one. Past [`SHORT`] bytes, whole blocks with nothing
/// special are passed over where the CPU tests them in wider vectors ([`clean_blocks`]); then
/// two passes that each take many bytes per instruction: `memchr2` finds the first quote or
/// backslash, and the least byte before it (vector minimums) shows whether a control character
/// comes first.
pub(super) fn plain_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 16) {
        if at == SHORT {
            return at + long_plain_len(&bytes[at..]);
        }
        if let Some(found) = sixteen(chunk.try_into().expect("sixteen bytes")) {
            return at + found;
        }
        at += 16;
    }
    if let Some(chunk) = bytes.get(at..at + 8) {
        if let Some(found) = first_special_of_8(chunk.try_into().expect("eight bytes")) {
            return at + found;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| is_special(b))
        .unwrap_or(bytes.len() - at)
}

/// Where [`plain_len`] stops taking sixteen bytes a step: four steps cost about what the
/// long path's setup does.
const SHORT: usize = 64;

/// The first special byte of a chunk of sixteen.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(super) fn sixteen(chunk: &[u8; 16]) -> Option<usize> {
    // SAFETY: the build targets SSE2 (every x86-64 CPU has it), the one feature it needs.
    unsafe { first_special_of_16(chunk) }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use sixteen_in_words as sixteen;

/// The first special byte of a chunk of sixteen, as two words of eight (where there are no
/// vectors).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
pub(super) fn sixteen_in_words(chunk: &[u8; 16]) -> Option<usize> {
    let (low, high) = chunk.split_at(8);
    first_special_of_8(low.try_into().expect("eight bytes")).or_else(|| {
        first_special_of_8(high.try_into().expect("eight bytes")).map(|found| found + 8)
    })
}

/// The first special byte of `chunk`, in one SSE2 vector: three comparisons, one mask, its
/// lowest bit.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn first_special_of_16(chunk: &[u8; 16]) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: `chunk` is sixteen readable bytes, and this load has no alignment to keep.
    let bytes = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
    let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
    // A byte is below 0x20 when the least of it and 0x1f is itself (unsigned).
    let control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes);
    let found = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
    (found != 0).then(|| found.trailing_zeros() as usize)
}

/// The first special byte of `chunk`, tested as one word.
fn first_special_of_8(chunk: &[u8; 8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let word = u64::from_le_bytes(*chunk);
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    // The high bit of each byte that is zero (`x - 1` borrows) or below 0x20; a false one only
    // ever follows a true one, so the lowest is the first match.
    let found = (quote.wrapping_sub(ONES) & !quote
        | backslash.wrapping_sub(ONES) & !backslash
        | word.wrapping_sub(ONES * 0x20) & !word)
        & HIGH;
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// Kept out of [`plain_len`], whose short steps then need no registers saved.
#[inline(never)]
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
