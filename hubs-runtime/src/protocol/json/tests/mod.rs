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

/// Text a WebSocket reader checked reads as the same bytes do, messages, their lengths,
/// the wait for more and the size limit alike, without the check.
#[test]
fn text_known_to_be_utf8_reads_as_its_bytes_do() {
    let inputs = [
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[\"κόσμε 🌍\"]}\x1e",
        "{\"type\":6}\x1e{\"type\":1,\"target\":\"é\",\"arguments\":[]}\x1e",
        "{\"type\":1,\"target\":\"Send\",\"arguments\":[\"half",
        "{\"type\":1,\"target\":\"ünï\",\"arguments\":[\"x\"],\"streamIds\":[\"s\"]}\x1e",
        "{\"type\":3,\"invocationId\":\"ß\",\"error\":\"no\"}\x1e",
        "{\"type\":1,\"target\":\"x\"}",
        "not json\x1e",
    ];
    for input in inputs {
        for limit in [None, Some(40), Some(1024)] {
            let bytes = JsonProtocol::parse(input.as_bytes(), limit);
            let text = JsonProtocol::parse_text(input, limit);
            assert_eq!(
                format!("{text:?}"),
                format!("{bytes:?}"),
                "{input:?} {limit:?}"
            );
        }
    }
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

mod fast;
