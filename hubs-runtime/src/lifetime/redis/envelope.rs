//! Every message the Redis backplane publishes, read and written in one place: ASP.NET Core's
//! `RedisProtocol` (`Microsoft.AspNetCore.SignalR.StackExchangeRedis`), byte for byte.
//!
//! All are MessagePack arrays; readers accept longer arrays than they need (later versions may
//! append items) and any integer width.
//!
//! - Invocation (channels `all`, `group:*`, `user:*`, `connection:*`):
//!   `[excluded connection ids, {protocol name: framed message (bin)}]`, and for a client result
//!   two more items: the invocation id and the channel the answer goes to.
//! - Group command (`internal:groups`): `[id, server name, action (1 add, 2 remove), group,
//!   connection id]`.
//! - Ack (`internal:ack:<server>`): `[id]`.
//! - Client-result answer (`internal:return:<server>`): `[protocol name, framed Completion
//!   (bin)]`.

use bytes::Bytes;
use rmp::encode;

use crate::lifetime::SerializedMessage;

/// A published invocation as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Invocation {
    /// Connections that must not receive it.
    pub(super) excluded: Vec<String>,
    /// The framed Invocation per protocol name (names this build does not know included).
    pub(super) encodings: Vec<(String, Bytes)>,
    /// For a client result: the invocation id and the channel its answer goes to.
    pub(super) reply: Option<Reply>,
}

impl Invocation {
    /// The encodings of the protocols this build knows.
    pub(super) fn message(&self) -> SerializedMessage {
        SerializedMessage::from_named(
            self.encodings
                .iter()
                .map(|(name, bytes)| (name.as_str(), bytes.clone())),
        )
    }
}

/// Where the answer to a client result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    pub(super) invocation_id: String,
    pub(super) return_channel: String,
}

/// What a group command asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupAction {
    Add = 1,
    Remove = 2,
}

/// A request to add a connection held by another node to a group, or remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GroupCommand {
    /// Acknowledged with this id.
    pub(super) id: i32,
    /// The node that asks (and awaits the ack).
    pub(super) server_name: String,
    pub(super) action: GroupAction,
    pub(super) group: String,
    pub(super) connection_id: String,
}

/// A client's answer to a client result, on its way back to the node that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Completion {
    /// The client's protocol, by name.
    pub(super) protocol: String,
    /// The framed Completion the client's protocol reads.
    pub(super) framed: Bytes,
}

/// Bytes that are no envelope of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EnvelopeError(pub(super) String);

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes to a growable buffer cannot fail.
fn infallible<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("writing MessagePack to a Vec cannot fail")
}

fn write_strings(out: &mut Vec<u8>, items: &[String]) {
    infallible(encode::write_array_len(out, items.len() as u32));
    for item in items {
        infallible(encode::write_str(out, item));
    }
}

/// An invocation for `message`'s protocols; `reply` for a client result.
pub(super) fn write_invocation(
    excluded: &[String],
    message: &SerializedMessage,
    reply: Option<&Reply>,
) -> Bytes {
    let encodings: Vec<(&str, &[u8])> = message
        .iter()
        .map(|(protocol, framed)| (protocol.name(), &framed[..]))
        .collect();
    write_encoded_invocation(excluded, &encodings, reply)
}

/// An invocation of the given (protocol name, framed message) encodings.
fn write_encoded_invocation(
    excluded: &[String],
    encodings: &[(&str, &[u8])],
    reply: Option<&Reply>,
) -> Bytes {
    let size: usize = encodings.iter().map(|(_, b)| b.len() + 24).sum::<usize>()
        + excluded.iter().map(|id| id.len() + 2).sum::<usize>()
        + 80;
    let mut out = Vec::with_capacity(size);
    infallible(encode::write_array_len(
        &mut out,
        if reply.is_some() { 4 } else { 2 },
    ));
    write_strings(&mut out, excluded);
    infallible(encode::write_map_len(&mut out, encodings.len() as u32));
    for (name, framed) in encodings {
        infallible(encode::write_str(&mut out, name));
        infallible(encode::write_bin(&mut out, framed));
    }
    if let Some(reply) = reply {
        infallible(encode::write_str(&mut out, &reply.invocation_id));
        infallible(encode::write_str(&mut out, &reply.return_channel));
    }
    Bytes::from(out)
}

/// A group command.
pub(super) fn write_group_command(command: &GroupCommand) -> Bytes {
    let mut out = Vec::with_capacity(32 + command.server_name.len() + command.group.len());
    infallible(encode::write_array_len(&mut out, 5));
    infallible(encode::write_sint(&mut out, command.id.into()));
    infallible(encode::write_str(&mut out, &command.server_name));
    infallible(encode::write_uint(&mut out, command.action as u64));
    infallible(encode::write_str(&mut out, &command.group));
    infallible(encode::write_str(&mut out, &command.connection_id));
    Bytes::from(out)
}

/// An ack of group command `id`.
pub(super) fn write_ack(id: i32) -> Bytes {
    let mut out = Vec::with_capacity(6);
    infallible(encode::write_array_len(&mut out, 1));
    infallible(encode::write_sint(&mut out, id.into()));
    Bytes::from(out)
}

/// A client's answer, framed by its protocol `protocol`.
pub(super) fn write_completion(protocol: &str, framed: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(framed.len() + protocol.len() + 12);
    infallible(encode::write_array_len(&mut out, 2));
    infallible(encode::write_str(&mut out, protocol));
    infallible(encode::write_bin(&mut out, framed));
    Bytes::from(out)
}

/// Reads MessagePack from a shared buffer; binary values are slices of it, not copies.
struct Reader<'a> {
    source: &'a Bytes,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(source: &'a Bytes) -> Self {
        Self {
            source,
            rest: source,
        }
    }

    fn error(what: &str) -> EnvelopeError {
        EnvelopeError(format!("malformed backplane message: expected {what}"))
    }

    /// The array header, which must announce at least `min` items.
    fn array(&mut self, min: u32, kind: &str) -> Result<u32, EnvelopeError> {
        let len =
            rmp::decode::read_array_len(&mut self.rest).map_err(|_| Self::error("an array"))?;
        if len < min {
            return Err(EnvelopeError(format!(
                "Insufficient items in {kind} array."
            )));
        }
        Ok(len)
    }

    fn map(&mut self) -> Result<u32, EnvelopeError> {
        rmp::decode::read_map_len(&mut self.rest).map_err(|_| Self::error("a map"))
    }

    /// An integer of any width that fits `T`.
    fn int<T: TryFrom<i64>>(&mut self) -> Result<T, EnvelopeError> {
        let value: i64 =
            rmp::decode::read_int(&mut self.rest).map_err(|_| Self::error("an integer"))?;
        T::try_from(value).map_err(|_| Self::error("a smaller integer"))
    }

    fn string(&mut self) -> Result<String, EnvelopeError> {
        let len = rmp::decode::read_str_len(&mut self.rest).map_err(|_| Self::error("a string"))?;
        let bytes = self.take(len as usize, "a string")?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Self::error("UTF-8 text"))
    }

    /// A string, or nil (read as `None`), as MessagePack-CSharp's `ReadString` allows.
    fn optional_string(&mut self) -> Result<Option<String>, EnvelopeError> {
        if self.rest.first() == Some(&0xC0) {
            self.rest = &self.rest[1..];
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// A bin value (nil reads as empty), shared with the source buffer.
    fn bin(&mut self) -> Result<Bytes, EnvelopeError> {
        if self.rest.first() == Some(&0xC0) {
            self.rest = &self.rest[1..];
            return Ok(Bytes::new());
        }
        let len = rmp::decode::read_bin_len(&mut self.rest).map_err(|_| Self::error("binary"))?;
        let bytes = self.take(len as usize, "binary")?;
        let start = bytes.as_ptr() as usize - self.source.as_ptr() as usize;
        Ok(self.source.slice(start..start + bytes.len()))
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], EnvelopeError> {
        if self.rest.len() < len {
            return Err(Self::error(what));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }
}

/// Reads an invocation.
pub(super) fn read_invocation(payload: &Bytes) -> Result<Invocation, EnvelopeError> {
    let mut reader = Reader::new(payload);
    let len = reader.array(2, "Invocation")?;
    let count = reader.array(0, "excluded ids")?;
    let excluded = (0..count)
        .map(|_| reader.string())
        .collect::<Result<Vec<_>, _>>()?;
    let encodings = (0..reader.map()?)
        .map(|_| Ok((reader.string()?, reader.bin()?)))
        .collect::<Result<Vec<_>, EnvelopeError>>()?;
    let mut reply = None;
    if len > 3
        && let (Some(invocation_id), Some(return_channel)) =
            (reader.optional_string()?, reader.optional_string()?)
        && !invocation_id.is_empty()
    {
        reply = Some(Reply {
            invocation_id,
            return_channel,
        });
    }
    Ok(Invocation {
        excluded,
        encodings,
        reply,
    })
}

/// Reads a group command.
pub(super) fn read_group_command(payload: &Bytes) -> Result<GroupCommand, EnvelopeError> {
    let mut reader = Reader::new(payload);
    reader.array(5, "GroupCommand")?;
    let id = reader.int()?;
    let server_name = reader.string()?;
    let action = match reader.int::<u8>()? {
        1 => GroupAction::Add,
        2 => GroupAction::Remove,
        other => return Err(EnvelopeError(format!("unknown group action {other}"))),
    };
    Ok(GroupCommand {
        id,
        server_name,
        action,
        group: reader.string()?,
        connection_id: reader.string()?,
    })
}

/// Reads an ack; returns the id of the command it acknowledges.
pub(super) fn read_ack(payload: &Bytes) -> Result<i32, EnvelopeError> {
    let mut reader = Reader::new(payload);
    reader.array(1, "Ack")?;
    reader.int()
}

/// Reads a client's answer.
pub(super) fn read_completion(payload: &Bytes) -> Result<Completion, EnvelopeError> {
    let mut reader = Reader::new(payload);
    reader.array(2, "CompletionMessage")?;
    Ok(Completion {
        protocol: reader.string()?,
        framed: reader.bin()?,
    })
}

#[cfg(test)]
mod tests {
    //! The byte vectors are ASP.NET Core's own (`RedisProtocolTests.cs` in
    //! `src/SignalR/server/StackExchangeRedis/test`), taken as facts: each encodes to exactly
    //! these bytes and decodes back.

    use super::*;
    use crate::lifetime::ProtocolSet;
    use crate::protocol::Protocol;

    fn bytes(v: &[u8]) -> Bytes {
        Bytes::copy_from_slice(v)
    }

    #[test]
    fn acks() {
        let vectors: &[(i32, &[u8])] = &[
            (0, &[0x91, 0x00]),
            (42, &[0x91, 0x2A]),
            (180, &[0x91, 0xCC, 0xB4]),
            (384, &[0x91, 0xCD, 0x01, 0x80]),
            (70_000, &[0x91, 0xCE, 0x00, 0x01, 0x11, 0x70]),
        ];
        for (id, encoded) in vectors {
            assert_eq!(&write_ack(*id)[..], *encoded, "ack {id}");
            assert_eq!(read_ack(&bytes(encoded)), Ok(*id));
        }
    }

    #[test]
    fn group_commands() {
        let command = |action| GroupCommand {
            id: 42,
            server_name: "S".into(),
            action,
            group: "G".into(),
            connection_id: "C".into(),
        };
        let vectors: &[(GroupAction, &[u8])] = &[
            (
                GroupAction::Add,
                &[0x95, 0x2A, 0xA1, b'S', 0x01, 0xA1, b'G', 0xA1, b'C'],
            ),
            (
                GroupAction::Remove,
                &[0x95, 0x2A, 0xA1, b'S', 0x02, 0xA1, b'G', 0xA1, b'C'],
            ),
        ];
        for (action, encoded) in vectors {
            assert_eq!(&write_group_command(&command(*action))[..], *encoded);
            assert_eq!(read_group_command(&bytes(encoded)), Ok(command(*action)));
        }
    }

    /// ASP.NET's vectors use two dummy protocols, `p1` and `p2`, that both write `0x2A`.
    #[test]
    fn invocations() {
        const MAP: [u8; 13] = [
            0x82, 0xA2, b'p', b'1', 0xC4, 0x01, 0x2A, 0xA2, b'p', b'2', 0xC4, 0x01, 0x2A,
        ];
        let with_ids = |ids: &[u8]| [&[0x92][..], ids, &MAP].concat();
        let vectors: Vec<(Vec<String>, Vec<u8>)> = vec![
            (vec![], with_ids(&[0x90])),
            (vec!["a".into()], with_ids(&[0x91, 0xA1, b'a'])),
            (
                ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec(),
                with_ids(&[
                    0x96, 0xA1, b'a', 0xA1, b'b', 0xA1, b'c', 0xA1, b'd', 0xA1, b'e', 0xA1, b'f',
                ]),
            ),
        ];
        let encodings: [(&str, &[u8]); 2] = [("p1", &[0x2A]), ("p2", &[0x2A])];
        for (excluded, encoded) in vectors {
            assert_eq!(
                &write_encoded_invocation(&excluded, &encodings, None)[..],
                &encoded[..]
            );
            let read = read_invocation(&bytes(&encoded)).unwrap();
            assert_eq!(read.excluded, excluded);
            assert_eq!(
                read.encodings,
                [
                    ("p1".to_string(), bytes(&[0x2A])),
                    ("p2".to_string(), bytes(&[0x2A]))
                ]
            );
            assert_eq!(read.reply, None);
        }
    }

    #[test]
    fn client_result_invocations_carry_the_id_and_the_return_channel() {
        let message =
            SerializedMessage::invocation(ProtocolSet::of([Protocol::Json]), "Ask", &("q",))
                .unwrap();
        let reply = Reply {
            invocation_id: "abc".into(),
            return_channel: "H:internal:return:n".into(),
        };
        let encoded = write_invocation(&[], &message, Some(&reply));
        let json = message.get(Protocol::Json).unwrap();
        let mut expected = vec![0x94, 0x90, 0x81, 0xA4, b'j', b's', b'o', b'n'];
        expected.extend([0xC4, json.len() as u8]);
        expected.extend(&json[..]);
        expected.extend([0xA3, b'a', b'b', b'c', 0xB3]);
        expected.extend(b"H:internal:return:n");
        assert_eq!(&encoded[..], &expected[..]);
        let read = read_invocation(&encoded).unwrap();
        assert_eq!(read.reply, Some(reply));
        assert_eq!(read.message(), message);
        // The framed bytes are slices of the received buffer, not copies.
        let framed = read.encodings[0].1.as_ptr() as usize;
        assert!(
            (encoded.as_ptr() as usize..encoded.as_ptr() as usize + encoded.len())
                .contains(&framed)
        );
    }

    #[test]
    fn readers_take_longer_arrays_nil_strings_and_refuse_short_ones() {
        // A 4-item invocation whose id and channel are nil is no client result.
        let read = read_invocation(&bytes(&[0x94, 0x90, 0x80, 0xC0, 0xC0])).unwrap();
        assert_eq!(read.reply, None);
        // Extra items are ignored.
        assert_eq!(read_ack(&bytes(&[0x92, 0x07, 0xA1, b'x'])), Ok(7));
        assert_eq!(
            read_ack(&bytes(&[0x90])).unwrap_err().to_string(),
            "Insufficient items in Ack array."
        );
        assert!(read_invocation(&bytes(&[0x92, 0x90])).is_err());
        assert!(
            read_group_command(&bytes(&[
                0x95, 0x2A, 0xA1, b'S', 0x07, 0xA1, b'G', 0xA1, b'C'
            ]))
            .is_err()
        );
    }

    #[test]
    fn completions() {
        let encoded = write_completion("json", b"{}\x1e");
        let mut expected = vec![0x92, 0xA4, b'j', b's', b'o', b'n', 0xC4, 0x03];
        expected.extend(b"{}\x1e");
        assert_eq!(&encoded[..], &expected[..]);
        let read = read_completion(&encoded).unwrap();
        assert_eq!(
            (read.protocol.as_str(), &read.framed[..]),
            ("json", &b"{}\x1e"[..])
        );
    }
}
