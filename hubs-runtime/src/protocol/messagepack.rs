//! The MessagePack hub protocol: each message is a VarInt length prefix and a msgpack array.
//!
//! Incoming messages are read with a small reader that walks the array without decoding values,
//! so arguments stay encoded slices of the frame until the hub binds them by type.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use super::{
    Arguments, CompletionOutcome, EncodeError, HubMessage, HubProtocol, Invocation, Protocol,
    ProtocolError, SequenceMessage, TransferFormat,
};

/// The `messagepack` hub protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePackProtocol;

fn malformed(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Malformed(what.into())
}

/// Reads the VarInt length prefix: the body length and the prefix's own size, or `None` while
/// the prefix is incomplete.
fn read_length_prefix(input: &[u8]) -> Result<Option<(usize, usize)>, ProtocolError> {
    let mut length: u64 = 0;
    for (i, &byte) in input.iter().take(5).enumerate() {
        if i == 4 && byte > 7 {
            return Err(malformed("Messages over 2GB in size are not supported."));
        }
        length |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((length as usize, i + 1)));
        }
    }
    if input.len() >= 5 {
        return Err(malformed("Messages over 2GB in size are not supported."));
    }
    Ok(None)
}

/// A cursor over one msgpack message body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, ProtocolError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed("Unexpected end of a MessagePack message."))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| malformed("Unexpected end of a MessagePack message."))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn be(&mut self, n: usize) -> Result<u64, ProtocolError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn array_len(&mut self) -> Result<usize, ProtocolError> {
        match self.byte()? {
            b @ 0x90..=0x9f => Ok(usize::from(b & 0x0f)),
            0xdc => Ok(self.be(2)? as usize),
            0xdd => Ok(self.be(4)? as usize),
            _ => Err(malformed("Expected a MessagePack array.")),
        }
    }

    fn map_len(&mut self) -> Result<usize, ProtocolError> {
        match self.byte()? {
            b @ 0x80..=0x8f => Ok(usize::from(b & 0x0f)),
            0xde => Ok(self.be(2)? as usize),
            0xdf => Ok(self.be(4)? as usize),
            _ => Err(malformed("Invalid headers.")),
        }
    }

    fn uint(&mut self) -> Result<u64, ProtocolError> {
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

    fn str(&mut self) -> Result<&'a str, ProtocolError> {
        let len = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => return Err(malformed("Expected a string.")),
        };
        std::str::from_utf8(self.take(len)?).map_err(|_| malformed("A string is not UTF-8."))
    }

    fn nil_or_str(&mut self) -> Result<Option<&'a str>, ProtocolError> {
        if self.peek() == Some(0xc0) {
            self.pos += 1;
            return Ok(None);
        }
        self.str().map(Some)
    }

    fn headers(&mut self) -> Result<(), ProtocolError> {
        for _ in 0..self.map_len()? {
            self.str()?;
            self.str()?;
        }
        Ok(())
    }

    /// Skips one value of any type, without recursion.
    fn skip(&mut self) -> Result<(), ProtocolError> {
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
    fn raw_value(&mut self) -> Result<&'a [u8], ProtocolError> {
        let start = self.pos;
        self.skip()?;
        Ok(&self.buf[start..self.pos])
    }

    /// An invocation from `[.., headers, id, target, [args], [streamIds]?]`.
    fn invocation(&mut self, elements: usize) -> Result<Invocation<'a>, ProtocolError> {
        if elements < 5 {
            return Err(malformed("Invocation messages need at least 5 elements."));
        }
        self.headers()?;
        let invocation_id = self.nil_or_str()?.filter(|id| !id.is_empty());
        let target = self.str()?;
        let count = self.array_len()?;
        let mut values = Vec::with_capacity(count.min(64));
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

    fn message(&mut self) -> Result<HubMessage<'a>, ProtocolError> {
        let elements = self.array_len()?;
        if elements == 0 {
            return Err(malformed("A message needs a type."));
        }
        let kind = self.uint()?;
        let needs_id = |reader: &mut Self| -> Result<Cow<'a, str>, ProtocolError> {
            reader.headers()?;
            Ok(Cow::Borrowed(reader.str()?))
        };
        let message = match kind {
            1 => HubMessage::Invocation(self.invocation(elements)?),
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

/// A message body under construction, with room kept in front for the length prefix.
struct Frame(Vec<u8>);

const PREFIX_ROOM: usize = 5;

impl Frame {
    fn new() -> Self {
        Self::with_room(0)
    }

    /// A frame with room for `payload` bytes beyond the usual headers.
    fn with_room(payload: usize) -> Self {
        let mut buf = Vec::with_capacity(64 + payload);
        buf.resize(PREFIX_ROOM, 0);
        Frame(buf)
    }

    fn byte(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        let len = s.len();
        match len {
            0..=31 => self.0.push(0xa0 | len as u8),
            32..=0xff => self.0.extend_from_slice(&[0xd9, len as u8]),
            0x100..=0xffff => {
                self.0.push(0xda);
                self.0.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                self.0.push(0xdb);
                self.0.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn nil_or_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.byte(0xc0),
        }
    }

    /// Writes the length prefix into the room kept for it and returns the framed bytes.
    fn finish(self) -> Bytes {
        let mut buf = self.0;
        let mut length = buf.len() - PREFIX_ROOM;
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
        let start = PREFIX_ROOM - n;
        buf[start..PREFIX_ROOM].copy_from_slice(&prefix[..n]);
        Bytes::from(buf).slice(start..)
    }
}

fn encode_into<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), EncodeError> {
    // Structs as maps keyed by field name, as .NET's contractless resolver and JS expect.
    value
        .serialize(&mut rmp_serde::Serializer::new(out).with_struct_map())
        .map_err(|e| EncodeError(e.to_string()))
}

impl HubProtocol for MessagePackProtocol {
    const NAME: &'static str = "messagepack";
    const MAX_VERSION: u32 = 2;
    const TRANSFER_FORMAT: TransferFormat = TransferFormat::Binary;

    fn parse(
        input: &[u8],
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        let Some((length, prefix)) = read_length_prefix(input)? else {
            return Ok(None);
        };
        if let Some(limit) = max_message_size
            && length > limit
        {
            return Err(ProtocolError::MessageTooLarge { limit });
        }
        let Some(body) = input.get(prefix..prefix + length) else {
            return Ok(None);
        };
        let mut reader = Reader { buf: body, pos: 0 };
        let message = reader.message()?;
        Ok(Some((message, prefix + length)))
    }

    fn decode_value<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
        rmp_serde::from_slice(raw).map_err(|e| e.to_string())
    }

    fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        encode_into(&mut out, value)?;
        Ok(out)
    }

    fn write_invocation<A: Serialize + ?Sized>(
        invocation_id: Option<&str>,
        target: &str,
        arguments: &A,
    ) -> Result<Bytes, EncodeError> {
        let mut frame = Frame::new();
        // [1, headers, id, target, arguments, streamIds]
        frame
            .byte(0x96)
            .byte(1)
            .byte(0x80)
            .nil_or_str(invocation_id)
            .str(target);
        encode_into(&mut frame.0, arguments)?;
        frame.byte(0x90);
        Ok(frame.finish())
    }

    fn write_completion(invocation_id: &str, outcome: CompletionOutcome<'_>) -> Bytes {
        let mut frame = Frame::with_room(
            invocation_id.len()
                + match &outcome {
                    CompletionOutcome::Result(raw) => raw.len(),
                    CompletionOutcome::Error(error) => error.len(),
                    CompletionOutcome::Empty => 0,
                },
        );
        match outcome {
            CompletionOutcome::Error(error) => {
                frame
                    .byte(0x95)
                    .byte(3)
                    .byte(0x80)
                    .str(invocation_id)
                    .byte(1)
                    .str(&error);
            }
            CompletionOutcome::Result(raw) => {
                frame
                    .byte(0x95)
                    .byte(3)
                    .byte(0x80)
                    .str(invocation_id)
                    .byte(3);
                frame.0.extend_from_slice(raw);
            }
            CompletionOutcome::Empty => {
                frame
                    .byte(0x94)
                    .byte(3)
                    .byte(0x80)
                    .str(invocation_id)
                    .byte(2);
            }
        }
        frame.finish()
    }

    fn write_stream_item(invocation_id: &str, item: &[u8]) -> Bytes {
        let mut frame = Frame::with_room(invocation_id.len() + item.len());
        frame.byte(0x94).byte(2).byte(0x80).str(invocation_id);
        frame.0.extend_from_slice(item);
        frame.finish()
    }

    fn write_ping() -> Bytes {
        Bytes::from_static(&[0x02, 0x91, 0x06])
    }

    fn write_sequence_message(kind: SequenceMessage, sequence_id: u64) -> Bytes {
        let mut frame = Frame::new();
        frame.byte(0x92).byte(kind as u8);
        // The smallest unsigned encoding.
        match sequence_id {
            0..=0x7f => {
                frame.byte(sequence_id as u8);
            }
            0x80..=0xff => {
                frame.byte(0xcc).byte(sequence_id as u8);
            }
            0x100..=0xffff => {
                frame.byte(0xcd);
                frame
                    .0
                    .extend_from_slice(&(sequence_id as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                frame.byte(0xce);
                frame
                    .0
                    .extend_from_slice(&(sequence_id as u32).to_be_bytes());
            }
            _ => {
                frame.byte(0xcf);
                frame.0.extend_from_slice(&sequence_id.to_be_bytes());
            }
        }
        frame.finish()
    }

    fn write_close(error: Option<&str>, allow_reconnect: bool) -> Bytes {
        let mut frame = Frame::new();
        frame
            .byte(0x93)
            .byte(7)
            .nil_or_str(error)
            .byte(if allow_reconnect { 0xc3 } else { 0xc2 });
        frame.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn parse(input: &[u8]) -> (HubMessage<'_>, usize) {
        MessagePackProtocol::parse(input, Some(32 * 1024))
            .expect("valid")
            .expect("complete")
    }

    #[test]
    fn length_prefixes_are_little_endian_groups_of_seven_bits() {
        assert_eq!(read_length_prefix(&[0x05]).unwrap(), Some((5, 1)));
        assert_eq!(read_length_prefix(&[0x7f]).unwrap(), Some((127, 1)));
        assert_eq!(read_length_prefix(&[0x80, 0x01]).unwrap(), Some((128, 2)));
        assert_eq!(read_length_prefix(&[0xac, 0x02]).unwrap(), Some((300, 2)));
        assert_eq!(read_length_prefix(&[0x80]).unwrap(), None);
        assert!(read_length_prefix(&[0xff, 0xff, 0xff, 0xff, 0x08]).is_err());
        assert_eq!(
            read_length_prefix(&[0xff, 0xff, 0xff, 0xff, 0x07]).unwrap(),
            Some(((1 << 31) - 1, 5))
        );
    }

    #[test]
    fn writes_frames_with_their_prefix() {
        assert_eq!(&MessagePackProtocol::write_ping()[..], [0x02, 0x91, 0x06]);
        let mut body = Frame::new();
        body.str(&"x".repeat(300 - 3));
        let framed = body.finish();
        assert_eq!(&framed[..2], [0xac, 0x02], "300-byte body");
        assert_eq!(framed.len(), 302);
    }

    #[test]
    fn reads_the_five_and_six_element_invocations() {
        // [1, {}, "3", "Send", ["hi", 42]] as the JS client sends it.
        let five = [
            0x0f, 0x95, 0x01, 0x80, 0xa1, b'3', 0xa4, b'S', b'e', b'n', b'd', 0x92, 0xa2, b'h',
            b'i', 0x2a,
        ];
        let (msg, used) = parse(&five);
        assert_eq!(used, five.len());
        let HubMessage::Invocation(inv) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(inv.invocation_id.as_deref(), Some("3"));
        assert_eq!(inv.target, "Send");
        assert_eq!(inv.arguments.decode::<String>(0).unwrap(), "hi");
        assert_eq!(inv.arguments.decode::<u32>(1).unwrap(), 42);
        // [1, {"k": "v"}, nil, "A", [], ["7"]]
        let six = [
            0x0e, 0x96, 0x01, 0x81, 0xa1, b'k', 0xa1, b'v', 0xc0, 0xa1, b'A', 0x90, 0x91, 0xa1,
            b'7',
        ];
        let (msg, _) = parse(&six);
        let HubMessage::Invocation(inv) = msg else {
            panic!()
        };
        assert!(inv.invocation_id.is_none());
        assert_eq!(inv.stream_ids, ["7"]);
    }

    #[test]
    fn arguments_keep_nested_values_and_binary_intact() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Order {
            id: u32,
            lines: Vec<(String, f64)>,
            #[serde(with = "serde_bytes")]
            blob: Vec<u8>,
        }
        let order = Order {
            id: 7,
            lines: vec![("tea".into(), 2.5)],
            blob: vec![0, 255, 30],
        };
        let frame =
            MessagePackProtocol::write_invocation(Some("1"), "T", &(&order, "after")).unwrap();
        let (msg, used) = parse(&frame);
        assert_eq!(used, frame.len());
        let HubMessage::Invocation(inv) = msg else {
            panic!()
        };
        assert_eq!(inv.arguments.decode::<Order>(0).unwrap(), order);
        assert_eq!(inv.arguments.decode::<String>(1).unwrap(), "after");
    }

    #[test]
    fn writes_completions_by_kind() {
        assert_eq!(
            &MessagePackProtocol::write_completion("1", CompletionOutcome::Empty)[..],
            [0x06, 0x94, 0x03, 0x80, 0xa1, b'1', 0x02]
        );
        let null = MessagePackProtocol::encode_value(&()).unwrap();
        assert_eq!(
            &MessagePackProtocol::write_completion("1", CompletionOutcome::Result(&null))[..],
            [0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0xc0]
        );
        assert_eq!(
            &MessagePackProtocol::write_completion("1", CompletionOutcome::error("no"))[..],
            [0x09, 0x95, 0x03, 0x80, 0xa1, b'1', 0x01, 0xa2, b'n', b'o']
        );
    }

    #[test]
    fn reads_and_writes_stream_items_and_completions() {
        let item = MessagePackProtocol::write_stream_item("s", &[0x2a]);
        assert_eq!(&item[..], [0x06, 0x94, 0x02, 0x80, 0xa1, b's', 0x2a]);
        let (msg, _) = parse(&item);
        assert!(matches!(msg, HubMessage::StreamItem { item: [0x2a], .. }));
        let (msg, _) = parse(&[0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0xc0]);
        assert!(matches!(
            msg,
            HubMessage::Completion {
                outcome: CompletionOutcome::Result([0xc0]),
                ..
            }
        ));
        let (msg, _) = parse(&[0x06, 0x94, 0x03, 0x80, 0xa1, b'1', 0x02]);
        assert!(matches!(
            msg,
            HubMessage::Completion {
                outcome: CompletionOutcome::Empty,
                ..
            }
        ));
        let (msg, _) = parse(&[0x09, 0x95, 0x03, 0x80, 0xa1, b'1', 0x01, 0xa2, b'n', b'o']);
        assert!(
            matches!(msg, HubMessage::Completion { outcome: CompletionOutcome::Error(e), .. } if e == "no")
        );
        assert!(
            MessagePackProtocol::parse(&[0x06, 0x94, 0x03, 0x80, 0xa1, b'1', 0x07], None).is_err()
        );
    }

    #[test]
    fn writes_close_with_three_elements() {
        assert_eq!(
            &MessagePackProtocol::write_close(None, false)[..],
            [0x04, 0x93, 0x07, 0xc0, 0xc2]
        );
        let closed = MessagePackProtocol::write_close(Some("e"), true);
        assert_eq!(&closed[..], [0x05, 0x93, 0x07, 0xa1, b'e', 0xc3]);
    }

    #[test]
    fn reads_pings_closes_and_skips_unknown_types() {
        assert!(matches!(parse(&[0x02, 0x91, 0x06]).0, HubMessage::Ping));
        assert!(matches!(
            parse(&[0x03, 0x92, 0x07, 0xc0]).0,
            HubMessage::Close { error: None }
        ));
        assert!(matches!(
            parse(&[0x03, 0x92, 0x08, 0x01]).0,
            HubMessage::Ack { sequence_id: 1 }
        ));
        assert!(matches!(
            parse(&[0x04, 0x92, 0x09, 0xcc, 0xc8]).0,
            HubMessage::Sequence { sequence_id: 200 }
        ));
        for (id, bytes) in [
            (5u64, &[0x03, 0x92, 0x08, 0x05][..]),
            (300, &[0x05, 0x92, 0x08, 0xcd, 0x01, 0x2c][..]),
        ] {
            assert_eq!(
                &MessagePackProtocol::write_sequence_message(SequenceMessage::Ack, id)[..],
                bytes
            );
        }
        assert!(matches!(
            parse(&[0x03, 0x92, 0x63, 0x01]).0,
            HubMessage::Ignored
        ));
    }

    #[test]
    fn waits_for_whole_frames_and_enforces_the_limit() {
        assert!(
            MessagePackProtocol::parse(&[0x03, 0x92], None)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            MessagePackProtocol::parse(&[0x80, 0x01], Some(100)).unwrap_err(),
            ProtocolError::MessageTooLarge { limit: 100 }
        );
        for bad in [
            &[0x01, 0xc1][..],
            &[0x02, 0x91, 0xa1][..],
            &[0x03, 0x92, 0x01, 0x80][..],
            &[0x04, 0x93, 0x03, 0x80, 0xa1][..],
        ] {
            assert!(MessagePackProtocol::parse(bad, None).is_err(), "{bad:?}");
        }
    }
}
