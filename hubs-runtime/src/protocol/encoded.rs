//! A value encoded as a protocol embeds it in a message.

use std::fmt;
use std::io;
use std::ops::Deref;

use smallvec::SmallVec;

/// Bytes kept without an allocation: most results and items are short.
const INLINE: usize = 64;

/// A value encoded as a protocol embeds it in a message (a method's result, a stream item):
/// kept inline up to 64 bytes, so that encoding a short one allocates nothing before it is
/// copied into its message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Encoded(SmallVec<[u8; INLINE]>);

impl Encoded {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Makes room for `additional` more bytes, growing as `Vec` grows (to what is needed, at
    /// least double) rather than to SmallVec's next power of two: a 1 KiB result then stays
    /// within what the allocator serves from its per-thread cache (glibc's takes blocks up to
    /// 1,032 bytes), where the 2 KiB block it would round up to takes malloc's slow path.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.0.len() + additional;
        if needed > self.0.capacity() {
            self.grow(needed);
        }
    }

    /// Out of line: a short value fits inline and never comes here.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, needed: usize) {
        let grown = needed.max(2 * self.0.capacity());
        self.0.reserve_exact(grown - self.0.len());
    }

    pub(crate) fn push(&mut self, byte: u8) {
        self.0.push(byte);
    }

    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        // Encoders write many single bytes (MessagePack's markers), for which a push is
        // cheaper than SmallVec's general insert.
        match bytes {
            [byte] => self.0.push(*byte),
            _ => {
                self.reserve(bytes.len());
                self.0.extend_from_slice(bytes);
            }
        }
    }
}

impl Deref for Encoded {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl io::Write for Encoded {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded")
            .field("len", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn keeps_short_values_inline_and_longer_ones_whole() {
        let mut short = Encoded::default();
        short.write_all(b"\"hello\"").unwrap();
        assert!(!short.0.spilled());
        assert_eq!(&short[..], b"\"hello\"");
        let mut long = Encoded::default();
        let text = "x".repeat(1000);
        long.write_all(text.as_bytes()).unwrap();
        assert!(long.0.spilled());
        assert_eq!(&long[..], text.as_bytes());
    }

    #[test]
    fn grows_as_vec_grows() {
        // A value written in one piece takes what it needs, not the next power of two.
        let mut whole = Encoded::default();
        whole.write_all(&[b'x'; 1026]).unwrap();
        assert_eq!(whole.0.capacity(), 1026);
        // Written a little at a time, the capacity at least doubles.
        let mut pieces = Encoded::default();
        for _ in 0..100 {
            pieces.write_all(b"0123456789").unwrap();
        }
        assert_eq!(pieces.len(), 1000);
        assert_eq!(pieces.0.capacity(), 1024);
    }
}
