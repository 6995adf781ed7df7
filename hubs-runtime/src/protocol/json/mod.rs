//! The JSON hub protocol: UTF-8 JSON objects, each ended by the record separator.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;

use crate::rare::rare;

mod fast;
mod plain;
mod scan;

use super::property_names::CaseInsensitive;
use super::{
    ArgumentValues, Arguments, CompletionOutcome, EncodeError, Encoded, HubMessage, HubProtocol,
    Invocation, Protocol, ProtocolError, RECORD_SEPARATOR, SequenceMessage, TransferFormat,
    keep_room,
};

/// The `json` hub protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonProtocol;

/// Every field any client message may carry; serde skips unknown keys and accepts any order.
///
/// Strings borrow from the frame unless they contain escapes: serde borrows a `Cow` field only
/// when it is not wrapped, so the optional ones go through [`Text`].
#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(rename = "type")]
    kind: Option<u64>,
    #[serde(rename = "invocationId", borrow, default)]
    invocation_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    target: Option<Text<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Vec<&'a RawValue>>,
    #[serde(rename = "streamIds", borrow, default)]
    stream_ids: Option<Vec<Text<'a>>>,
    #[serde(borrow, default)]
    error: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    item: Option<&'a RawValue>,
    #[serde(rename = "sequenceId", default)]
    sequence_id: Option<u64>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    // Checked for shape (an object of strings) and otherwise unused.
    #[serde(borrow, default)]
    #[allow(dead_code)]
    headers: Option<HashMap<Text<'a>, Text<'a>>>,
}

/// A JSON string, borrowed from the frame when it has no escapes.
#[derive(Deserialize, PartialEq, Eq, Hash)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

fn text(value: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    value.map(|Text(text)| text)
}

/// The fields of a message, however it was read ([`fast::read`] or serde); values are
/// their JSON text.
#[derive(Debug, Default, PartialEq)]
struct Envelope<'a> {
    kind: Option<u64>,
    invocation_id: Option<Cow<'a, str>>,
    target: Option<Cow<'a, str>>,
    arguments: Option<ArgumentValues<'a>>,
    stream_ids: Option<Vec<Cow<'a, str>>>,
    error: Option<Cow<'a, str>>,
    item: Option<&'a [u8]>,
    sequence_id: Option<u64>,
    result: Option<&'a [u8]>,
}

impl<'a> From<WireMessage<'a>> for Envelope<'a> {
    fn from(wire: WireMessage<'a>) -> Self {
        let raw = |value: &'a RawValue| value.get().as_bytes();
        Envelope {
            kind: wire.kind,
            invocation_id: text(wire.invocation_id),
            target: text(wire.target),
            // Collected in place: the slices take the room of the raw values they come from.
            arguments: wire.arguments.map(|a| a.into_iter().map(raw).collect()),
            stream_ids: wire
                .stream_ids
                .map(|ids| ids.into_iter().map(|Text(id)| id).collect()),
            error: text(wire.error),
            item: wire.item.map(raw),
            sequence_id: wire.sequence_id,
            result: wire.result.map(raw),
        }
    }
}

/// Reads the envelope of one message (without its separator) into `envelope`, which starts
/// empty; the caller's, so that it is not moved on its way to the message.
fn read_envelope<'a>(json: &'a str, envelope: &mut Envelope<'a>) -> Result<(), ProtocolError> {
    if fast::read(json, envelope).is_some() {
        return Ok(());
    }
    rare();
    *envelope = serde_json::from_str::<WireMessage<'_>>(json)
        .map(Envelope::from)
        .map_err(|e| ProtocolError::Malformed(format!("Error reading JSON. {e}")))?;
    Ok(())
}

/// A key that is present, even with a `null` value (plain `Option` would read `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

#[cold]
fn missing(property: &str) -> ProtocolError {
    ProtocolError::Malformed(format!("Missing required property '{property}'."))
}

#[cold]
fn not_utf8(error: std::str::Utf8Error) -> ProtocolError {
    ProtocolError::Malformed(format!(
        "Error reading JSON. The message is not UTF-8: {error}"
    ))
}

fn required_id(id: Option<Cow<'_, str>>) -> Result<Cow<'_, str>, ProtocolError> {
    id.ok_or_else(|| missing("invocationId"))
}

/// The invocation in `wire`, its fields taken where they lie.
#[inline(always)]
fn invocation<'a>(wire: &mut Envelope<'a>) -> Result<Invocation<'a>, ProtocolError> {
    let target = wire.target.take().ok_or_else(|| missing("target"))?;
    let arguments = wire.arguments.take().ok_or_else(|| missing("arguments"))?;
    Ok(Invocation {
        invocation_id: wire.invocation_id.take().filter(|id| !id.is_empty()),
        target,
        arguments: Arguments::new(Protocol::Json, arguments),
        stream_ids: wire.stream_ids.take().unwrap_or_default(),
    })
}

/// The length of `s` as a JSON string without escapes: frames sized exactly become `Bytes`
/// without a second allocation (a string with escapes only grows the buffer).
fn quoted_len(s: &str) -> usize {
    s.len() + 2
}

/// `s` as a JSON string. Ids and names seldom need an escape: those are copied between quotes
/// after the scan the reader uses (serde_json escapes exactly what it stops at).
#[inline(always)]
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    if scan::plain_len(s.as_bytes()) == s.len() {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        push_escaped_string(out, s);
    }
}

#[cold]
fn push_escaped_string(out: &mut Vec<u8>, s: &str) {
    // Writing a str to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing a string to memory");
}

/// A message other than an invocation, from its envelope. Invocations are most of what
/// clients send: the other kinds are read here, apart, so that an invocation's path is short.
#[inline(never)]
fn other_message<'a>(kind: u64, wire: &mut Envelope<'a>) -> Result<HubMessage<'a>, ProtocolError> {
    Ok(match kind {
        2 => HubMessage::StreamItem {
            item: wire.item.ok_or_else(|| missing("item"))?,
            invocation_id: required_id(wire.invocation_id.take())?,
        },
        3 => {
            let outcome = match (wire.result, wire.error.take()) {
                (Some(_), Some(_)) => {
                    return Err(ProtocolError::Malformed(
                        "The 'error' and 'result' properties are mutually exclusive.".into(),
                    ));
                }
                (Some(result), None) => CompletionOutcome::Result(result),
                (None, Some(error)) => CompletionOutcome::Error(error),
                (None, None) => CompletionOutcome::Empty,
            };
            HubMessage::Completion {
                invocation_id: required_id(wire.invocation_id.take())?,
                outcome,
            }
        }
        4 => {
            if wire.invocation_id.as_ref().is_none_or(|id| id.is_empty()) {
                return Err(missing("invocationId"));
            }
            HubMessage::StreamInvocation(invocation(wire)?)
        }
        5 => HubMessage::CancelInvocation {
            invocation_id: required_id(wire.invocation_id.take())?,
        },
        6 => HubMessage::Ping,
        7 => HubMessage::Close {
            error: wire.error.take(),
        },
        8 => HubMessage::Ack {
            sequence_id: wire.sequence_id.ok_or_else(|| missing("sequenceId"))?,
        },
        9 => HubMessage::Sequence {
            sequence_id: wire.sequence_id.ok_or_else(|| missing("sequenceId"))?,
        },
        _ => HubMessage::Ignored,
    })
}

impl JsonProtocol {
    /// [`HubProtocol::decode_value`] for a value the reader found to be a JSON string with
    /// nothing escaped, in text it checked (see [`ArgumentValues`]): its text is neither
    /// scanned nor checked again.
    pub(crate) fn decode_plain_string<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
        plain::decode_plain_string(raw).map_err(|e| e.to_string())
    }

    /// [`HubProtocol::parse`] of text its transport found to be UTF-8: not checked again.
    #[inline]
    pub(crate) fn parse_text(
        input: &str,
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        let Some(end) = message_end(input.as_bytes(), max_message_size)? else {
            return Ok(None);
        };
        // The separator is ASCII, so the message ends between characters.
        read_message(&input[..end]).map(|message| Some((message, end + 1)))
    }
}

/// Where the first message of `input` ends (its record separator), if it is all there;
/// looked for only as far as the size limit allows.
#[inline(always)]
fn message_end(
    input: &[u8],
    max_message_size: Option<usize>,
) -> Result<Option<usize>, ProtocolError> {
    let window = match max_message_size {
        Some(limit) => &input[..input.len().min(limit + 1)],
        None => input,
    };
    match memchr::memchr(RECORD_SEPARATOR, window) {
        Some(end) => Ok(Some(end)),
        None => match max_message_size {
            Some(limit) if input.len() > limit => Err(ProtocolError::MessageTooLarge { limit }),
            _ => Ok(None),
        },
    }
}

/// The message whose JSON text (without its separator) is `json`.
#[inline(always)]
fn read_message(json: &str) -> Result<HubMessage<'_>, ProtocolError> {
    let mut wire = Envelope::default();
    read_envelope(json, &mut wire)?;
    let kind = wire.kind.ok_or_else(|| missing("type"))?;
    match kind {
        1 => Ok(HubMessage::Invocation(invocation(&mut wire)?)),
        _ => {
            rare();
            other_message(kind, &mut wire)
        }
    }
}

impl HubProtocol for JsonProtocol {
    const NAME: &'static str = "json";
    const MAX_VERSION: u32 = 2;
    const TRANSFER_FORMAT: TransferFormat = TransferFormat::Text;

    fn parse(
        input: &[u8],
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        let Some(end) = message_end(input, max_message_size)? else {
            return Ok(None);
        };
        // Checked once as a whole, so serde_json need not check each string again.
        let json = crate::utf8::from_utf8(&input[..end]).map_err(not_utf8)?;
        read_message(json).map(|message| Some((message, end + 1)))
    }

    fn decode_value<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
        // Property names are matched without regard to case, as ASP.NET Core reads JSON.
        plain::decode(raw).map_err(|e| e.to_string())
    }

    fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Encoded, EncodeError> {
        let mut out = Encoded::default();
        if plain::write_plain_string(value, &mut out) {
            return Ok(out);
        }
        out.clear();
        serde_json::to_writer(&mut out, value).map_err(|e| EncodeError(e.to_string()))?;
        Ok(out)
    }

    fn write_invocation<A: Serialize + ?Sized>(
        invocation_id: Option<&str>,
        target: &str,
        arguments: &A,
    ) -> Result<Bytes, EncodeError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(br#"{"type":1,"#);
        if let Some(id) = invocation_id {
            out.extend_from_slice(br#""invocationId":"#);
            push_json_string(&mut out, id);
            out.push(b',');
        }
        out.extend_from_slice(br#""target":"#);
        push_json_string(&mut out, target);
        out.extend_from_slice(br#","arguments":"#);
        serde_json::to_writer(&mut out, arguments).map_err(|e| EncodeError(e.to_string()))?;
        out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
        Ok(out.into())
    }

    fn write_completion_in(
        out: &mut Vec<u8>,
        room: usize,
        invocation_id: &str,
        outcome: CompletionOutcome<'_>,
    ) -> usize {
        const HEAD: &[u8] = br#"{"type":3,"invocationId":"#;
        let (key, value): (&[u8], usize) = match &outcome {
            CompletionOutcome::Result(raw) => (br#","result":"#, raw.len()),
            CompletionOutcome::Error(error) => (br#","error":"#, quoted_len(error)),
            CompletionOutcome::Empty => (b"", 0),
        };
        let size = HEAD.len() + quoted_len(invocation_id) + key.len() + value + 2;
        keep_room(out, room, size);
        out.extend_from_slice(HEAD);
        push_json_string(out, invocation_id);
        out.extend_from_slice(key);
        match outcome {
            CompletionOutcome::Result(raw) => out.extend_from_slice(raw),
            CompletionOutcome::Error(error) => push_json_string(out, &error),
            CompletionOutcome::Empty => {}
        }
        out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
        room
    }

    fn write_stream_item(invocation_id: &str, item: &[u8]) -> Bytes {
        const HEAD: &[u8] = br#"{"type":2,"invocationId":"#;
        const KEY: &[u8] = br#","item":"#;
        let mut out =
            Vec::with_capacity(HEAD.len() + quoted_len(invocation_id) + KEY.len() + item.len() + 2);
        out.extend_from_slice(HEAD);
        push_json_string(&mut out, invocation_id);
        out.extend_from_slice(KEY);
        out.extend_from_slice(item);
        out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
        out.into()
    }

    fn write_ping() -> Bytes {
        Bytes::from_static(b"{\"type\":6}\x1e")
    }

    fn write_sequence_message(kind: SequenceMessage, sequence_id: u64) -> Bytes {
        format!(
            "{{\"type\":{},\"sequenceId\":{sequence_id}}}\x1e",
            kind as u8
        )
        .into()
    }

    fn write_close(error: Option<&str>, allow_reconnect: bool) -> Bytes {
        let mut out = Vec::with_capacity(80);
        out.extend_from_slice(br#"{"type":7"#);
        if let Some(error) = error {
            out.extend_from_slice(br#","error":"#);
            push_json_string(&mut out, error);
        }
        if allow_reconnect {
            out.extend_from_slice(br#","allowReconnect":true"#);
        }
        out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
        out.into()
    }
}

#[cfg(test)]
mod tests;
