//! The MessagePack hub protocol: each message is a VarInt length prefix and a msgpack array.
//!
//! Incoming messages are read by `reader.rs` without decoding values, so arguments stay encoded
//! slices of the frame until the hub binds them by type; `frame.rs` writes outgoing ones.

mod frame;
mod reader;
mod string;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use super::{
    CompletionOutcome, EncodeError, Encoded, HubMessage, HubProtocol, ProtocolError,
    SequenceMessage, TransferFormat,
};
use frame::{Frame, encode_into};
use reader::Reader;

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
        string::decode(raw).map_err(|e| e.to_string())
    }

    fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Encoded, EncodeError> {
        let mut out = Encoded::default();
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

    fn write_completion_in(
        buffer: &mut Vec<u8>,
        room: usize,
        invocation_id: &str,
        outcome: CompletionOutcome<'_>,
    ) -> usize {
        // Array header, type, headers map, id, then the result kind and its value.
        let head = 3 + Frame::str_size(invocation_id);
        let mut frame = Frame::exact_in(
            std::mem::take(buffer),
            room,
            head + match &outcome {
                CompletionOutcome::Result(raw) => 1 + raw.len(),
                CompletionOutcome::Error(error) => 1 + Frame::str_size(error),
                CompletionOutcome::Empty => 1,
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
        let start;
        (*buffer, start) = frame.finish_in();
        start
    }

    fn write_stream_item(invocation_id: &str, item: &[u8]) -> Bytes {
        let mut frame = Frame::exact(3 + Frame::str_size(invocation_id) + item.len());
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
    fn sizes_completions_with_longer_ids_and_errors_exactly() {
        // A 40-byte id takes a str8 header and a 300-byte error a str16 one: the frame is sized
        // from both, and its length prefix (two VarInt bytes past 127) covers exactly the rest.
        let id = "i".repeat(40);
        let error = "e".repeat(300);
        let frame = MessagePackProtocol::write_completion(&id, CompletionOutcome::error(&error));
        let body = 3 + (2 + 40) + 1 + (3 + 300);
        assert_eq!(frame.len(), 2 + body);
        assert_eq!(&frame[..2], [(body & 0x7f) as u8 | 0x80, (body >> 7) as u8]);
        let (msg, used) = parse(&frame);
        assert_eq!(used, frame.len());
        assert!(matches!(
            msg,
            HubMessage::Completion { invocation_id, outcome: CompletionOutcome::Error(e) }
                if invocation_id == id && e == error
        ));
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
