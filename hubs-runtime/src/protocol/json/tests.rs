//! The JSON protocol's reading and writing, message by message.

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
    let msg = parse_one("{\"type\":1,\"invocationId\":\"\",\"target\":\"A\",\"arguments\":[]}\x1e");
    let HubMessage::Invocation(inv) = msg else {
        panic!()
    };
    assert!(inv.invocation_id.is_none());
}

#[test]
fn borrows_plain_ids_and_targets_from_the_frame() {
    let msg =
        parse_one("{\"type\":1,\"invocationId\":\"7\",\"target\":\"Send\",\"arguments\":[1]}\x1e");
    let HubMessage::Invocation(inv) = msg else {
        panic!()
    };
    assert!(matches!(inv.target, Cow::Borrowed("Send")));
    assert!(matches!(inv.invocation_id, Some(Cow::Borrowed("7"))));
}

#[test]
fn refuses_a_message_that_is_not_utf8() {
    let error =
        JsonProtocol::parse(b"{\"type\":1,\"target\":\"\xff\"}\x1e", None).expect_err("not UTF-8");
    assert!(
        matches!(&error, ProtocolError::Malformed(text) if text.starts_with("Error reading JSON. The message is not UTF-8")),
        "{error:?}"
    );
}

#[test]
fn writes_completions_with_escaped_ids_and_errors() {
    let frame = JsonProtocol::write_completion("a\"b", CompletionOutcome::error("x\ny"));
    assert_eq!(
        &frame[..],
        b"{\"type\":3,\"invocationId\":\"a\\\"b\",\"error\":\"x\\ny\"}\x1e"
    );
}

#[test]
fn ids_are_written_as_serde_json_writes_them() {
    let ids = (0..=0x7fu8)
        .map(|byte| format!("id{}7", byte as char))
        .chain(["", "é", "日本", "\u{2028}", "a\\b\"c"].map(String::from));
    for id in ids {
        let frame = JsonProtocol::write_completion(&id, CompletionOutcome::Empty);
        let expected = format!(
            "{{\"type\":3,\"invocationId\":{}}}\x1e",
            serde_json::to_string(&id).unwrap()
        );
        assert_eq!(&frame[..], expected.as_bytes(), "{id:?}");
    }
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

/// Messages of every type and shape, for the two envelope readers to agree on.
const SHAPES: &[&str] = &[
    r#"{"type":1,"invocationId":"0","target":"Echo","arguments":["hello"]}"#,
    r#"{"arguments":["hi",42,{"a":[1,2.5e-3,true,null,false]}],"invocationId":"12","streamIds":["s1","s2"],"target":"Send","type":1}"#,
    r#"{"type":4,"invocationId":"5","target":"Counter","arguments":[10,-500,0]}"#,
    r#"{"type":2,"invocationId":"s1","item":{"x":"\u00e9\n\"","y":[]}}"#,
    r#"{"type":3,"invocationId":"1","result":null}"#,
    r#"{"type":3,"invocationId":"1","error":"boom"}"#,
    r#"{"type":5,"invocationId":"9"}"#,
    r#"{"type":6}"#,
    r#"{"type":7,"error":"bye","allowReconnect":true}"#,
    r#"{"type":8,"sequenceId":12345}"#,
    r#"{"type":9,"sequenceId":0}"#,
    " { \"type\" : 1 ,\t\"target\" : \"A\" ,\r\n \"arguments\" : [ ] , \"extra\" : [ { } , -0.5E+10 , \"é\" ] } ",
    "{}",
];

/// Both envelope readers on `json`: the fast one may decline, but what it reads, serde reads
/// the same, and it never reads what serde refuses.
fn agree(json: &str) -> bool {
    let serde = serde_json::from_str::<WireMessage<'_>>(json)
        .ok()
        .map(Envelope::from);
    let mut fast = Envelope::default();
    match fast::read(json, &mut fast) {
        Some(()) => {
            assert_eq!(Some(&fast), serde.as_ref(), "read differently: {json}");
            true
        }
        None => false,
    }
}

#[test]
fn the_fast_reader_reads_the_usual_messages() {
    for json in SHAPES {
        assert!(agree(json), "declined: {json}");
    }
}

#[test]
fn the_fast_reader_declines_what_needs_serde() {
    for json in [
        r#"{"type":1,"target":"Se\u006ed","arguments":[]}"#,
        r#"{"type":1,"invocationId":null,"target":"A","arguments":[]}"#,
        r#"{"type":1,"target":"A","arguments":[],"headers":{"a":"b"}}"#,
        r#"{"type":1,"type":1}"#,
        r#"{"type":1.0}"#,
        r#"{"type":-1}"#,
        r#"{"type":123456789012345678901}"#,
        r#"[1,"0","A",[]]"#,
        r#"{"type":1,"arguments":[01]}"#,
        r#"{"type":1,"arguments":["a\x"]}"#,
        r#"{"type":1} x"#,
    ] {
        assert!(!agree(json), "read: {json}");
    }
}

#[test]
fn the_fast_reader_agrees_with_serde_on_every_small_corruption() {
    const BYTES: &[u8] = b"\"\\,:{}[]01-.eE+ntfu \x01x";
    let mut read = 0;
    let mut tried = 0;
    for json in SHAPES {
        let bytes = json.as_bytes();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for at in 0..=bytes.len() {
            variants.push(bytes[..at].to_vec());
            if at < bytes.len() {
                variants.push([&bytes[..at], &bytes[at + 1..]].concat());
            }
            for &byte in BYTES {
                variants.push([&bytes[..at], &[byte], &bytes[at..]].concat());
                if at < bytes.len() {
                    variants.push([&bytes[..at], &[byte], &bytes[at + 1..]].concat());
                }
            }
        }
        for variant in variants {
            if let Ok(json) = std::str::from_utf8(&variant) {
                tried += 1;
                read += usize::from(agree(json));
            }
        }
    }
    // Most corruptions break the JSON; enough still read to show the comparison bites.
    assert!(tried > 20_000 && read > 2_000, "{read} of {tried} read");
}

#[test]
fn plain_strings_end_at_the_first_quote_backslash_or_control_character() {
    let naive = |bytes: &[u8]| {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(bytes.len())
    };
    for filler in [b'a', b' ', 0x21, 0x5b, 0x7f, 0x80, 0xe9, 0xff] {
        for len in (0..20).chain([40, 41, 47, 70]) {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![filler; len];
                    bytes[at] = byte;
                    // A second match later must not hide the first.
                    if at + 3 < len {
                        bytes[at + 3] = b'"';
                    }
                    assert_eq!(fast::plain_len(&bytes), naive(&bytes), "{bytes:?}");
                }
            }
        }
    }
}

#[test]
fn values_are_encoded_as_serde_json_writes_them_plain_strings_included() {
    #[derive(Serialize)]
    struct Name(String);
    #[derive(Serialize)]
    struct Message {
        text: &'static str,
    }
    fn plain<T: Serialize + ?Sized>(value: &T) -> bool {
        plain::write_plain_string(value, &mut Encoded::default())
    }
    fn same<T: Serialize + ?Sized>(value: &T) {
        let ours = JsonProtocol::encode_value(value).unwrap();
        assert_eq!(
            &ours[..],
            serde_json::to_vec(value).unwrap(),
            "{:?}",
            String::from_utf8_lossy(&ours)
        );
    }
    let long = "plain text ".repeat(100);
    for text in [
        "",
        "hello",
        "é ünï 日本",
        "\u{7f}",
        &long,
        "a\"b",
        "back\\slash",
        "tab\t",
        "\u{1}",
        "end\n",
    ] {
        same(text);
        same(&Name(text.to_owned()));
        same(&Some(text));
        same(&[text]);
    }
    // Which values take the one-copy path: plain strings, bare or in a newtype.
    assert!(plain(&"hello") && plain(&Name("é".into())) && plain(&long.as_str()));
    assert!(!plain(&"a\"b") && !plain(&"tab\t") && !plain(&Some("x")) && !plain(&42));
    same(&'x');
    same(&42);
    same(&());
    same(&None::<String>);
    same(&Message { text: "hi" });
    same(&serde_json::json!({"a": ["b"]}));
}

#[test]
fn arguments_decode_as_serde_json_reads_them_plain_strings_included() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Name(String);
    #[derive(Deserialize, Debug, PartialEq)]
    enum Color {
        Red,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
    }
    fn serde<T: DeserializeOwned>(raw: &[u8]) -> Result<T, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(raw);
        let value = T::deserialize(CaseInsensitive(&mut deserializer))?;
        deserializer.end()?;
        Ok(value)
    }
    fn same<T: DeserializeOwned + PartialEq + std::fmt::Debug>(raw: &str) {
        let theirs = serde::<T>(raw.as_bytes());
        // Alone, and as an invocation's argument, where the reader may mark it a plain string.
        let frame = format!("{{\"type\":1,\"target\":\"M\",\"arguments\":[{raw}]}}\x1e");
        let HubMessage::Invocation(invocation) = parse_one(&frame) else {
            panic!("{frame} is an invocation");
        };
        let from_frame = invocation.arguments.decode::<T>(0).map_err(|e| e.message);
        let alone = plain::decode::<T>(raw.as_bytes()).map_err(|e| e.to_string());
        for ours in [alone, from_frame] {
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{raw} as {}", std::any::type_name::<T>()),
                (Err(_), Err(_)) => {}
                _ => panic!(
                    "{raw} as {}: {ours:?} against {theirs:?}",
                    std::any::type_name::<T>()
                ),
            }
        }
    }
    let long = format!("\"{}\"", "plain ".repeat(200));
    for raw in [
        r#""hello""#,
        r#""""#,
        r#""é 日本""#,
        r#""a\"b""#,
        r#""x""#,
        r#""Red""#,
        r#""6f9619ff-8b86-d011-b42d-00cf4fc964ff""#,
        r#""12""#,
        "12",
        "null",
        r#"{"X":1}"#,
        r#"["a"]"#,
        long.as_str(),
    ] {
        same::<String>(raw);
        same::<Option<String>>(raw);
        same::<Box<str>>(raw);
        same::<Name>(raw);
        same::<char>(raw);
        same::<u32>(raw);
        same::<Color>(raw);
        same::<Point>(raw);
        same::<Vec<String>>(raw);
        same::<serde_json::Value>(raw);
        same::<serde_bytes::ByteBuf>(raw);
        same::<crate::Guid>(raw);
        same::<HashMap<String, i32>>(raw);
    }
}

#[test]
fn the_fast_reader_marks_the_arguments_that_are_strings_with_nothing_escaped() {
    let frame = concat!(
        r#"{"type":1,"target":"M","arguments":["plain", "a\"b", 12, "", ["x"], "é"]}"#,
        "\x1e"
    );
    let HubMessage::Invocation(invocation) = parse_one(frame) else {
        panic!("an invocation");
    };
    let values = &invocation.arguments.values;
    // Inline room is four values; past it nothing is marked (a hint, not a promise).
    assert_eq!(values.len(), 6);
    let marked: Vec<bool> = (0..6).map(|i| values.is_plain_string(i)).collect();
    assert_eq!(marked, [false; 6], "six values spill: {values:?}");
    let frame = concat!(
        r#"{"type":1,"target":"M","arguments":["plain", "a\"b", 12, "é"]}"#,
        "\x1e"
    );
    let HubMessage::Invocation(invocation) = parse_one(frame) else {
        panic!("an invocation");
    };
    let values = &invocation.arguments.values;
    let marked: Vec<bool> = (0..4).map(|i| values.is_plain_string(i)).collect();
    assert_eq!(marked, [true, false, false, true]);
}
