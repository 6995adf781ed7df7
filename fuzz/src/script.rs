//! The byte layout of the scripted targets' inputs, read through `arbitrary`'s
//! `Unstructured`: an operation byte, then that operation's fields, each a byte or a
//! length-prefixed byte string. A fixed layout rather than derived `Arbitrary` impls, so that
//! `make_corpus.py` can write seeds from the protocol documents and libFuzzer's byte mutations
//! map to small changes of the operation sequence.

use arbitrary::Unstructured;

use crate::documents;

/// An input being read; past its end every field reads as zero or empty.
pub struct Script<'a>(Unstructured<'a>);

impl<'a> Script<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self(Unstructured::new(data))
    }

    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        self.0.arbitrary().unwrap_or(0)
    }

    /// A byte string: a length byte (255: two more bytes, little-endian, hold the length).
    pub fn bytes(&mut self) -> &'a [u8] {
        let mut length = usize::from(self.byte());
        if length == 255 {
            length = usize::from(u16::from_le_bytes([self.byte(), self.byte()]));
        }
        let length = length.min(self.0.len());
        self.0.bytes(length).unwrap_or_default()
    }

    /// A message to send: a selector byte below 0xC0 picks a document message
    /// ([`documents::ALL`]); otherwise a byte string follows.
    pub fn message(&mut self) -> Vec<u8> {
        match self.byte() {
            selector @ 0..0xc0 => {
                documents::ALL[usize::from(selector) % documents::ALL.len()].to_vec()
            }
            _ => self.bytes().to_vec(),
        }
    }
}
