//! Reading a message body: a cursor that walks the msgpack array without decoding values, so
//! arguments stay encoded slices of the frame until the hub binds them by type.

use std::borrow::Cow;

use super::super::{
    ArgumentValues, Arguments, CompletionOutcome, HubMessage, Invocation, Protocol, ProtocolError,
};
use super::malformed;
use crate::rare::rare;

/// A cursor over one msgpack message body.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Result<u8, ProtocolError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed("Unexpected end of a MessagePack message."))?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| malformed("Unexpected end of a MessagePack message."))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub(super) fn be(&mut self, n: usize) -> Result<u64, ProtocolError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(super) fn array_len(&mut self) -> Result<usize, ProtocolError> {
        match self.byte()? {
            b @ 0x90..=0x9f => Ok(usize::from(b & 0x0f)),
            0xdc => Ok(self.be(2)? as usize),
            0xdd => Ok(self.be(4)? as usize),
            _ => Err(malformed("Expected a MessagePack array.")),
        }
    }

    pub(super) fn map_len(&mut self) -> Result<usize, ProtocolError> {
        match self.byte()? {
            b @ 0x80..=0x8f => Ok(usize::from(b & 0x0f)),
            0xde => Ok(self.be(2)? as usize),
            0xdf => Ok(self.be(4)? as usize),
            _ => Err(malformed("Invalid headers.")),
        }
    }

    pub(super) fn uint(&mut self) -> Result<u64, ProtocolError> {
        let value = match self.byte()? {
            b @ 0x00..=0x7f => i64::from(b),
            0xcc => return self.be(1),
            0xcd => return self.be(2),
            0xce => return self.be(4),
            0xcf => return self.be(8),
            0xd0 => i64::from(self.be(1)? as u8 as i8),
            0xd1 => i64::from(self.be(2)? as u16 as i16),
            0xd2 => i64::from(self.be(4)? as u32 as i32),
            0xd3 => self.be(8)? as i64,
            _ => return Err(malformed("Expected an integer.")),
        };
        u64::try_from(value).map_err(|_| malformed("Expected a non-negative integer."))
    }

    pub(super) fn str(&mut self) -> Result<&'a str, ProtocolError> {
        let len = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return Err(malformed("Expected a string.")),
        };
        crate::utf8::from_utf8(self.take(len)?).map_err(|_| malformed("A string is not UTF-8."))
    }

    pub(super) fn nil_or_str(&mut self) -> Result<Option<&'a str>, ProtocolError> {
        if self.peek() == Some(0xc0) {
            self.pos += 1;
            return Ok(None);
        }
        self.str().map(Some)
    }

    pub(super) fn headers(&mut self) -> Result<(), ProtocolError> {
        for _ in 0..self.map_len()? {
            self.str()?;
            self.str()?;
        }
        Ok(())
    }

    /// Skips one value of any type, without recursion.
    pub(super) fn skip(&mut self) -> Result<(), ProtocolError> {
        let mut remaining: u64 = 1;
        while remaining > 0 {
            remaining -= 1;
            let marker = self.byte()?;
            let (payload, children) = match marker {
                0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, 0),
                0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
                0x90..=0x9f => (0, u64::from(marker & 0x0f)),
                0xa0..=0xbf => (usize::from(marker & 0x1f), 0),
                0xc4 | 0xd9 => (self.be(1)? as usize, 0),
                0xc5 | 0xda => (self.be(2)? as usize, 0),
                0xc6 | 0xdb => (self.be(4)? as usize, 0),
                0xc7 => (self.be(1)? as usize + 1, 0),
                0xc8 => (self.be(2)? as usize + 1, 0),
                0xc9 => (self.be(4)? as usize + 1, 0),
                0xca => (4, 0),
                0xcb => (8, 0),
                0xcc | 0xd0 => (1, 0),
                0xcd | 0xd1 => (2, 0),
                0xce | 0xd2 => (4, 0),
                0xcf | 0xd3 => (8, 0),
                0xd4 => (2, 0),
                0xd5 => (3, 0),
                0xd6 => (5, 0),
                0xd7 => (9, 0),
                0xd8 => (17, 0),
                0xdc => (0, self.be(2)?),
                0xdd => (0, self.be(4)?),
                0xde => (0, 2 * self.be(2)?),
                0xdf => (0, 2 * self.be(4)?),
                0xc1 => return Err(malformed("Invalid MessagePack marker 0xc1.")),
            };
            self.take(payload)?;
            remaining += children;
        }
        Ok(())
    }

    /// The bytes of the next value, undecoded.
    pub(super) fn raw_value(&mut self) -> Result<&'a [u8], ProtocolError> {
        let start = self.pos;
        self.skip()?;
        Ok(&self.buf[start..self.pos])
    }

    /// An invocation from `[.., headers, id, target, [args], [streamIds]?]`.
    pub(super) fn invocation(&mut self, elements: usize) -> Result<Invocation<'a>, ProtocolError> {
        if elements < 5 {
            return Err(malformed("Invocation messages need at least 5 elements."));
        }
        self.headers()?;
        let invocation_id = self.nil_or_str()?.filter(|id| !id.is_empty());
        let target = self.str()?;
        let count = self.array_len()?;
        let mut values = ArgumentValues::with_capacity(count.min(64));
        for _ in 0..count {
            values.push(self.raw_value()?);
        }
        let mut stream_ids = Vec::new();
        if elements >= 6 {
            for _ in 0..self.array_len()? {
                stream_ids.push(Cow::Borrowed(self.str()?));
            }
        }
        Ok(Invocation {
            invocation_id: invocation_id.map(Cow::Borrowed),
            target: Cow::Borrowed(target),
            arguments: Arguments::new(Protocol::MessagePack, values),
            stream_ids,
        })
    }

    pub(super) fn message(&mut self) -> Result<HubMessage<'a>, ProtocolError> {
        let elements = self.array_len()?;
        if elements == 0 {
            return Err(malformed("A message needs a type."));
        }
        match self.uint()? {
            1 => Ok(HubMessage::Invocation(self.invocation(elements)?)),
            kind => {
                rare();
                self.other_message(kind, elements)
            }
        }
    }

    /// A message other than an invocation, its type read. Invocations are most of what
    /// clients send: the other kinds are read here, apart, so that an invocation's path is
    /// short.
    #[inline(never)]
    fn other_message(
        &mut self,
        kind: u64,
        elements: usize,
    ) -> Result<HubMessage<'a>, ProtocolError> {
        let needs_id = |reader: &mut Self| -> Result<Cow<'a, str>, ProtocolError> {
            reader.headers()?;
            Ok(Cow::Borrowed(reader.str()?))
        };
        let message = match kind {
            2 if elements >= 4 => HubMessage::StreamItem {
                invocation_id: needs_id(self)?,
                item: self.raw_value()?,
            },
            3 if elements >= 4 => {
                let invocation_id = needs_id(self)?;
                let outcome = match self.uint()? {
                    1 if elements >= 5 => CompletionOutcome::Error(Cow::Borrowed(self.str()?)),
                    2 => CompletionOutcome::Empty,
                    3 if elements >= 5 => CompletionOutcome::Result(self.raw_value()?),
                    kind => {
                        return Err(malformed(format!("Invalid invocation result kind {kind}.")));
                    }
                };
                HubMessage::Completion {
                    invocation_id,
                    outcome,
                }
            }
            4 => {
                let invocation = self.invocation(elements)?;
                if invocation.invocation_id.is_none() {
                    return Err(malformed("StreamInvocation needs an invocation id."));
                }
                HubMessage::StreamInvocation(invocation)
            }
            5 if elements >= 3 => HubMessage::CancelInvocation {
                invocation_id: needs_id(self)?,
            },
            6 => HubMessage::Ping,
            7 => HubMessage::Close {
                error: if elements >= 2 {
                    self.nil_or_str()?.map(Cow::Borrowed)
                } else {
                    None
                },
            },
            8 if elements >= 2 => HubMessage::Ack {
                sequence_id: self.uint()?,
            },
            9 if elements >= 2 => HubMessage::Sequence {
                sequence_id: self.uint()?,
            },
            2 | 3 | 5 | 8 | 9 => {
                return Err(malformed(format!(
                    "Too few elements for message type {kind}."
                )));
            }
            _ => HubMessage::Ignored,
        };
        Ok(message)
    }
}
