//! Writing a message: the body with room kept in front for its VarInt length prefix.

use bytes::{Buf, Bytes};
use serde::Serialize;

use super::super::{EncodeError, keep_room};

/// A message body under construction, with room kept in front for the length prefix.
pub(super) struct Frame(pub(super) Vec<u8>, Body);

/// Where a frame's message starts in its buffer: after the room for its length prefix.
struct Body(usize);

const PREFIX_ROOM: usize = 5;

impl Frame {
    pub(super) fn new() -> Self {
        Self::with_room(0)
    }

    /// A frame with room for `payload` bytes beyond the usual headers.
    pub(super) fn with_room(payload: usize) -> Self {
        let mut buf = Vec::with_capacity(64 + payload);
        buf.resize(PREFIX_ROOM, 0);
        Frame(buf, Body(PREFIX_ROOM))
    }

    /// A frame of exactly `message` bytes (after the length prefix): one allocation, which the
    /// returned `Bytes` keeps as its own.
    pub(super) fn exact(message: usize) -> Self {
        Self::exact_in(Vec::new(), 0, message)
    }

    /// [`exact`](Self::exact) in `buffer`'s allocation (see [`finish_in`](Self::finish_in)),
    /// after `room` bytes left free.
    pub(super) fn exact_in(mut buffer: Vec<u8>, room: usize, message: usize) -> Self {
        // The prefix's room is part of the room kept (the prefix is written over it).
        let body = room + PREFIX_ROOM;
        keep_room(&mut buffer, body, message);
        Frame(buffer, Body(body))
    }

    /// The encoded size of `s`, header included.
    pub(super) fn str_size(s: &str) -> usize {
        str_header(s.len()).1 + s.len()
    }

    pub(super) fn byte(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    pub(super) fn str(&mut self, s: &str) -> &mut Self {
        let (header, len) = str_header(s.len());
        self.0.extend_from_slice(&header[..len]);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(super) fn nil_or_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.byte(0xc0),
        }
    }

    /// Writes the length prefix into the room kept for it and returns the framed bytes.
    pub(super) fn finish(self) -> Bytes {
        let (buf, start) = self.finish_in();
        // Advancing (unlike slicing) takes no shared header: a buffer filled to its capacity
        // becomes `Bytes` without a second allocation.
        let mut frame = Bytes::from(buf);
        frame.advance(start);
        frame
    }

    /// Writes the length prefix into the room kept for it; returns the buffer and where the
    /// framed bytes start in it.
    pub(super) fn finish_in(self) -> (Vec<u8>, usize) {
        let Frame(mut buf, Body(body)) = self;
        let mut length = buf.len() - body;
        let mut prefix = [0u8; PREFIX_ROOM];
        let mut n = 0;
        loop {
            let mut b = (length & 0x7f) as u8;
            length >>= 7;
            if length > 0 {
                b |= 0x80;
            }
            prefix[n] = b;
            n += 1;
            if length == 0 {
                break;
            }
        }
        let start = body - n;
        buf[start..body].copy_from_slice(&prefix[..n]);
        (buf, start)
    }
}

/// The MessagePack header of a string of `len` bytes (fixstr, str8, str16 or str32), and how
/// many of its bytes are used.
fn str_header(len: usize) -> ([u8; 5], usize) {
    let mut header = [0; 5];
    match len {
        0..=31 => {
            header[0] = 0xa0 | len as u8;
            (header, 1)
        }
        32..=0xff => {
            header[..2].copy_from_slice(&[0xd9, len as u8]);
            (header, 2)
        }
        0x100..=0xffff => {
            header[0] = 0xda;
            header[1..3].copy_from_slice(&(len as u16).to_be_bytes());
            (header, 3)
        }
        _ => {
            header[0] = 0xdb;
            header[1..].copy_from_slice(&(len as u32).to_be_bytes());
            (header, 5)
        }
    }
}

pub(super) fn encode_into<T: Serialize + ?Sized>(
    out: &mut impl std::io::Write,
    value: &T,
) -> Result<(), EncodeError> {
    // Structs as maps keyed by field name, as .NET's contractless resolver and JS expect.
    value
        .serialize(&mut rmp_serde::Serializer::new(out).with_struct_map())
        .map_err(|e| EncodeError(e.to_string()))
}
