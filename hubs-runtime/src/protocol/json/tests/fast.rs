//! The one-pass envelope reader against serde's, and its string scan.

use super::super::*;
use super::parse_one;

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
        // Steps of sixteen and eight, then single bytes; past 64 bytes, whole blocks are
        // tested at once where the CPU has AVX2.
        for len in (0..36).chain([40, 41, 47, 48, 63, 64, 65, 70, 80, 128, 130, 200]) {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![filler; len];
                    bytes[at] = byte;
                    // A second match later must not hide the first.
                    if at + 3 < len {
                        bytes[at + 3] = b'"';
                    }
                    assert_eq!(scan::plain_len(&bytes), naive(&bytes), "{bytes:?}");
                }
            }
        }
    }
}

#[test]
fn a_chunk_of_sixteen_reads_the_same_in_a_vector_and_in_words() {
    for filler in [b'a', 0x20, 0x7f, 0x80, 0xff] {
        for at in 0..16 {
            for byte in 0..=255u8 {
                let mut chunk = [filler; 16];
                chunk[at] = byte;
                let naive = chunk
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                assert_eq!(scan::sixteen(&chunk), naive, "{chunk:?}");
                assert_eq!(scan::sixteen_in_words(&chunk), naive, "{chunk:?}");
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
    let marked: Vec<bool> = (0..6).map(|i| values.plain_string(i).is_some()).collect();
    assert_eq!(marked, [false; 6], "six values spill: {values:?}");
    let frame = concat!(
        r#"{"type":1,"target":"M","arguments":["plain", "a\"b", 12, "é"]}"#,
        "\x1e"
    );
    let HubMessage::Invocation(invocation) = parse_one(frame) else {
        panic!("an invocation");
    };
    let values = &invocation.arguments.values;
    let marked: Vec<bool> = (0..4).map(|i| values.plain_string(i).is_some()).collect();
    assert_eq!(marked, [true, false, false, true]);
}
