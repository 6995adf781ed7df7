//! The JSON hub protocol: UTF-8 JSON objects, each ended by the record separator.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;

use super::property_names::CaseInsensitive;
use super::{
    Arguments, CompletionOutcome, EncodeError, HubMessage, HubProtocol, Invocation, Protocol,
    ProtocolError, RECORD_SEPARATOR, SequenceMessage, TransferFormat,
};

/// The `json` hub protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonProtocol;

/// Every field any client message may carry; serde skips unknown keys and accepts any order.
#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(rename = "type")]
    kind: Option<u64>,
    #[serde(rename = "invocationId", borrow, default)]
    invocation_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Vec<&'a RawValue>>,
    #[serde(rename = "streamIds", borrow, default)]
    stream_ids: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    item: Option<&'a RawValue>,
    #[serde(rename = "sequenceId", default)]
    sequence_id: Option<u64>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    // Checked for shape (an object of strings) and otherwise unused.
    #[serde(borrow, default)]
    #[allow(dead_code)]
    headers: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
}

/// A key that is present, even with a `null` value (plain `Option` would read `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

fn missing(property: &str) -> ProtocolError {
    ProtocolError::Malformed(format!("Missing required property '{property}'."))
}

fn required_id(id: Option<Cow<'_, str>>) -> Result<Cow<'_, str>, ProtocolError> {
    id.ok_or_else(|| missing("invocationId"))
}

fn invocation(wire: WireMessage<'_>) -> Result<Invocation<'_>, ProtocolError> {
    let target = wire.target.ok_or_else(|| missing("target"))?;
    let arguments = wire.arguments.ok_or_else(|| missing("arguments"))?;
    let values = arguments.iter().map(|v| v.get().as_bytes()).collect();
    Ok(Invocation {
        invocation_id: wire.invocation_id.filter(|id| !id.is_empty()),
        target,
        arguments: Arguments::new(Protocol::Json, values),
        stream_ids: wire.stream_ids.unwrap_or_default(),
    })
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a str to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing a string to memory");
}

impl HubProtocol for JsonProtocol {
    const NAME: &'static str = "json";
    const MAX_VERSION: u32 = 2;
    const TRANSFER_FORMAT: TransferFormat = TransferFormat::Text;

    fn parse(
        input: &[u8],
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        // Look for the separator only as far as the size limit allows.
        let window = match max_message_size {
            Some(limit) => &input[..input.len().min(limit + 1)],
            None => input,
        };
        let Some(end) = memchr::memchr(RECORD_SEPARATOR, window) else {
            return match max_message_size {
                Some(limit) if input.len() > limit => Err(ProtocolError::MessageTooLarge { limit }),
                _ => Ok(None),
            };
        };
        let wire: WireMessage<'_> = serde_json::from_slice(&input[..end])
            .map_err(|e| ProtocolError::Malformed(format!("Error reading JSON. {e}")))?;
        let kind = wire.kind.ok_or_else(|| missing("type"))?;
        let message = match kind {
            1 => HubMessage::Invocation(invocation(wire)?),
            2 => HubMessage::StreamItem {
                item: wire.item.ok_or_else(|| missing("item"))?.get().as_bytes(),
                invocation_id: required_id(wire.invocation_id)?,
            },
            3 => {
                let outcome = match (wire.result, wire.error) {
                    (Some(_), Some(_)) => {
                        return Err(ProtocolError::Malformed(
                            "The 'error' and 'result' properties are mutually exclusive.".into(),
                        ));
                    }
                    (Some(result), None) => CompletionOutcome::Result(result.get().as_bytes()),
                    (None, Some(error)) => CompletionOutcome::Error(error),
                    (None, None) => CompletionOutcome::Empty,
                };
                HubMessage::Completion {
                    invocation_id: required_id(wire.invocation_id)?,
                    outcome,
                }
            }
            4 => {
                if wire.invocation_id.as_deref().is_none_or(str::is_empty) {
                    return Err(missing("invocationId"));
                }
                HubMessage::StreamInvocation(invocation(wire)?)
            }
            5 => HubMessage::CancelInvocation {
                invocation_id: required_id(wire.invocation_id)?,
            },
            6 => HubMessage::Ping,
            7 => HubMessage::Close { error: wire.error },
            8 => HubMessage::Ack {
                sequence_id: wire.sequence_id.ok_or_else(|| missing("sequenceId"))?,
            },
            9 => HubMessage::Sequence {
                sequence_id: wire.sequence_id.ok_or_else(|| missing("sequenceId"))?,
            },
            _ => HubMessage::Ignored,
        };
        Ok(Some((message, end + 1)))
    }

    fn decode_value<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
        // Property names are matched without regard to case, as ASP.NET Core reads JSON.
        let mut deserializer = serde_json::Deserializer::from_slice(raw);
        let value =
            T::deserialize(CaseInsensitive(&mut deserializer)).map_err(|e| e.to_string())?;
        deserializer.end().map_err(|e| e.to_string())?;
        Ok(value)
    }

    fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
        serde_json::to_vec(value).map_err(|e| EncodeError(e.to_string()))
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

    fn write_completion(invocation_id: &str, outcome: CompletionOutcome<'_>) -> Bytes {
        let payload = match &outcome {
            CompletionOutcome::Result(raw) => raw.len(),
            CompletionOutcome::Error(error) => error.len() + 8,
            CompletionOutcome::Empty => 0,
        };
        let mut out = Vec::with_capacity(48 + invocation_id.len() + payload);
        out.extend_from_slice(br#"{"type":3,"invocationId":"#);
        push_json_string(&mut out, invocation_id);
        match outcome {
            CompletionOutcome::Result(raw) => {
                out.extend_from_slice(br#","result":"#);
                out.extend_from_slice(raw);
            }
            CompletionOutcome::Error(error) => {
                out.extend_from_slice(br#","error":"#);
                push_json_string(&mut out, &error);
            }
            CompletionOutcome::Empty => {}
        }
        out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
        out.into()
    }

    fn write_stream_item(invocation_id: &str, item: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(40 + item.len());
        out.extend_from_slice(br#"{"type":2,"invocationId":"#);
        push_json_string(&mut out, invocation_id);
        out.extend_from_slice(br#","item":"#);
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
mod tests {
    use super::*;

    fn parse_one(input: &str) -> HubMessage<'_> {
        let (msg, used) = JsonProtocol::parse(input.as_bytes(), Some(32 * 1024))
            .expect("valid")
            .expect("complete");
        assert_eq!(used, input.len());
        msg
    }

    #[test]
    fn reads_an_invocation_with_keys_in_any_order_and_unknown_keys() {
        let msg = parse_one(
            "{\"arguments\":[\"hi\",42,{\"a\":[1]}],\"extra\":{\"x\":1},\"headers\":{},\"target\":\"Send\",\"invocationId\":\"3\",\"type\":1}\x1e",
        );
        let HubMessage::Invocation(inv) = msg else {
            panic!("expected an invocation, got {msg:?}")
        };
        assert_eq!(inv.target, "Send");
        assert_eq!(inv.invocation_id.as_deref(), Some("3"));
        assert_eq!(inv.arguments.len(), 3);
        assert_eq!(inv.arguments.decode::<String>(0).unwrap(), "hi");
        assert_eq!(inv.arguments.decode::<u8>(1).unwrap(), 42);
        assert!(inv.arguments.decode::<String>(1).is_err());
        assert!(inv.stream_ids.is_empty());
    }

    #[test]
    fn an_empty_invocation_id_means_fire_and_forget() {
        let msg =
            parse_one("{\"type\":1,\"invocationId\":\"\",\"target\":\"A\",\"arguments\":[]}\x1e");
        let HubMessage::Invocation(inv) = msg else {
            panic!()
        };
        assert!(inv.invocation_id.is_none());
    }

    #[test]
    fn reads_escaped_strings() {
        let msg = parse_one("{\"type\":1,\"target\":\"A\\u0042\",\"arguments\":[\"x\\ny\"]}\x1e");
        let HubMessage::Invocation(inv) = msg else {
            panic!()
        };
        assert_eq!(inv.target, "AB");
        assert_eq!(inv.arguments.decode::<String>(0).unwrap(), "x\ny");
    }

    #[test]
    fn waits_for_the_separator() {
        assert!(
            JsonProtocol::parse(b"{\"type\":6}", Some(100))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn reports_only_the_first_of_several_messages() {
        let input = b"{\"type\":6}\x1e{\"type\":7}\x1e";
        let (msg, used) = JsonProtocol::parse(input, None).unwrap().unwrap();
        assert!(matches!(msg, HubMessage::Ping));
        assert_eq!(used, 11);
        let (msg, _) = JsonProtocol::parse(&input[used..], None).unwrap().unwrap();
        assert!(matches!(msg, HubMessage::Close { error: None }));
    }

    #[test]
    fn rejects_messages_over_the_limit_even_before_they_end() {
        let mut big = vec![b' '; 101];
        assert_eq!(
            JsonProtocol::parse(&big, Some(100)).unwrap_err(),
            ProtocolError::MessageTooLarge { limit: 100 }
        );
        big.push(RECORD_SEPARATOR);
        assert!(JsonProtocol::parse(&big, Some(100)).is_err());
        // Exactly at the limit is fine.
        let mut at_limit = b"{\"type\":6}".to_vec();
        at_limit.resize(100, b' ');
        at_limit.push(RECORD_SEPARATOR);
        assert!(JsonProtocol::parse(&at_limit, Some(100)).unwrap().is_some());
    }

    #[test]
    fn rejects_malformed_messages() {
        for bad in [
            "{not json}\x1e",
            "{\"type\":\"1\"}\x1e",
            "{}\x1e",
            "{\"type\":1,\"arguments\":[]}\x1e",
            "{\"type\":1,\"target\":\"A\"}\x1e",
            "{\"type\":1,\"target\":\"A\",\"arguments\":[],\"streamIds\":\"x\"}\x1e",
            "{\"type\":1,\"target\":\"A\",\"arguments\":[],\"headers\":{\"a\":1}}\x1e",
            "{\"type\":4,\"target\":\"A\",\"arguments\":[]}\x1e",
            "{\"type\":5}\x1e",
        ] {
            assert!(
                matches!(
                    JsonProtocol::parse(bad.as_bytes(), None),
                    Err(ProtocolError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_stream_items_and_completions_with_null_values() {
        let HubMessage::StreamItem {
            invocation_id,
            item,
        } = parse_one("{\"type\":2,\"invocationId\":\"1\",\"item\":null}\x1e")
        else {
            panic!()
        };
        assert_eq!((&*invocation_id, item), ("1", &b"null"[..]));
        let HubMessage::Completion { outcome, .. } =
            parse_one("{\"type\":3,\"invocationId\":\"1\",\"result\":null}\x1e")
        else {
            panic!()
        };
        assert!(matches!(outcome, CompletionOutcome::Result(b"null")));
        let HubMessage::Completion { outcome, .. } =
            parse_one("{\"type\":3,\"invocationId\":\"1\",\"error\":\"bad\"}\x1e")
        else {
            panic!()
        };
        assert!(matches!(outcome, CompletionOutcome::Error(e) if e == "bad"));
        let HubMessage::Completion { outcome, .. } =
            parse_one("{\"type\":3,\"invocationId\":\"1\"}\x1e")
        else {
            panic!()
        };
        assert!(matches!(outcome, CompletionOutcome::Empty));
        for bad in [
            "{\"type\":2,\"invocationId\":\"1\"}\x1e",
            "{\"type\":3,\"invocationId\":\"1\",\"result\":1,\"error\":\"x\"}\x1e",
        ] {
            assert!(JsonProtocol::parse(bad.as_bytes(), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_and_writes_acks_and_sequences() {
        assert!(matches!(
            parse_one("{\"type\":8,\"sequenceId\":3}\x1e"),
            HubMessage::Ack { sequence_id: 3 }
        ));
        assert!(matches!(
            parse_one("{\"type\":9,\"sequenceId\":1}\x1e"),
            HubMessage::Sequence { sequence_id: 1 }
        ));
        assert!(JsonProtocol::parse(b"{\"type\":8}\x1e", None).is_err());
        assert_eq!(
            &JsonProtocol::write_sequence_message(SequenceMessage::Sequence, 12)[..],
            b"{\"type\":9,\"sequenceId\":12}\x1e"
        );
    }

    #[test]
    fn skips_unknown_types() {
        assert!(matches!(
            parse_one("{\"type\":99,\"x\":1}\x1e"),
            HubMessage::Ignored
        ));
    }

    #[test]
    fn writes_messages_like_aspnet_core() {
        let inv = JsonProtocol::write_invocation(None, "Receive", &("a", 1)).unwrap();
        assert_eq!(
            &inv[..],
            b"{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"a\",1]}\x1e"
        );
        let inv = JsonProtocol::write_invocation(Some("s1"), "Q", &Vec::<u8>::new()).unwrap();
        assert_eq!(
            &inv[..],
            b"{\"type\":1,\"invocationId\":\"s1\",\"target\":\"Q\",\"arguments\":[]}\x1e"
        );
        let done = JsonProtocol::write_completion("3", CompletionOutcome::Result(b"null"));
        assert_eq!(
            &done[..],
            b"{\"type\":3,\"invocationId\":\"3\",\"result\":null}\x1e"
        );
        let failed = JsonProtocol::write_completion("4", CompletionOutcome::error("no \"way\""));
        assert_eq!(
            &failed[..],
            b"{\"type\":3,\"invocationId\":\"4\",\"error\":\"no \\\"way\\\"\"}\x1e"
        );
        let ended = JsonProtocol::write_completion("5", CompletionOutcome::Empty);
        assert_eq!(&ended[..], b"{\"type\":3,\"invocationId\":\"5\"}\x1e");
        assert_eq!(&JsonProtocol::write_ping()[..], b"{\"type\":6}\x1e");
        assert_eq!(
            &JsonProtocol::write_stream_item("7", b"[1]")[..],
            b"{\"type\":2,\"invocationId\":\"7\",\"item\":[1]}\x1e"
        );
        assert_eq!(
            &JsonProtocol::write_close(None, false)[..],
            b"{\"type\":7}\x1e"
        );
        assert_eq!(
            &JsonProtocol::write_close(Some("Connection closed with an error."), true)[..],
            b"{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\x1e"
        );
    }
}
