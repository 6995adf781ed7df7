use super::super::frame::{self, MAX_CLIENT_HEADER, code};
use super::parser::{Parser, TEXT_NOT_UTF8};
use super::*;

/// A masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![u8::from(fin) << 7 | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Every event of `input` parsed in pieces of the sizes `cuts` repeats, as reads would
/// cut it, with the rest of a piece kept after an event as the reader keeps it.
fn events(input: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut parser = Parser::new(1 << 20);
    let mut events = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let (mut at, mut cut) = (0, 0);
    while at < input.len() || !pending.is_empty() {
        let piece = if pending.is_empty() {
            let size = cuts[cut % cuts.len()].min(input.len() - at);
            cut += 1;
            at += size;
            input[at - size..at].to_vec()
        } else {
            std::mem::take(&mut pending)
        };
        let (used, event) = parser.parse(&piece);
        match event {
            Some(event) => {
                pending = piece[used..].to_vec();
                let last = matches!(event, Event::Close(_) | Event::Fault(..));
                events.push(event);
                if last {
                    break;
                }
            }
            None => assert_eq!(used, piece.len()),
        }
    }
    events
}

#[test]
fn events_do_not_depend_on_how_reads_cut_the_bytes() {
    let big: Vec<u8> = (0..200_000).map(|i| (i % 95 + 32) as u8).collect();
    let input = [
        frame(true, frame::TEXT, b"hello"),
        frame(false, frame::BINARY, &big[..70_000]),
        frame(true, frame::PING, b"in between"),
        frame(false, frame::CONTINUATION, &big[70_000..70_001]),
        frame(true, frame::PONG, b""),
        frame(true, frame::CONTINUATION, &big[70_001..]),
        frame(true, frame::TEXT, b""),
        frame(false, frame::TEXT, "κό".as_bytes()),
        frame(true, frame::CONTINUATION, "σμε".as_bytes()),
        frame(true, frame::CLOSE, &[]),
        frame(true, frame::TEXT, b"after the close"),
    ]
    .concat();
    let expected = vec![
        Event::Message(Bytes::from_static(b"hello")),
        Event::Ping(b"in between".to_vec()),
        Event::Message(Bytes::from(big.clone())),
        Event::Message(Bytes::from("κόσμε")),
        Event::Close(code::NORMAL),
    ];
    for cuts in [
        &[1][..],
        &[2, 3, 5, 7],
        &[13, 1],
        &[4096],
        &[65_536],
        &[input.len()],
    ] {
        assert_eq!(events(&input, cuts), expected, "cut in pieces of {cuts:?}");
    }
}

#[test]
fn a_frame_over_the_limit_fails_on_its_header() {
    let mut parser = Parser::new(10);
    let header = &frame(true, frame::BINARY, &[0; 11])[..6];
    assert_eq!(
        parser.parse(header),
        (6, Some(Event::Fault(code::SIZE, "message too big")))
    );
    // Fragments count together.
    let mut parser = Parser::new(10);
    let first = frame(false, frame::BINARY, &[0; 6]);
    let second = frame(true, frame::CONTINUATION, &[0; 5]);
    assert_eq!(parser.parse(&first), (first.len(), None));
    assert_eq!(
        parser.parse(&second).1,
        Some(Event::Fault(code::SIZE, "message too big"))
    );
}

/// Found by the `websocket_frames` fuzz target: a message arriving in small reads grew
/// its buffer as `Vec` does, by doubling, to up to twice the limit (416 bytes held for a
/// limit of 257); a control frame's payload could take 240 bytes.
#[test]
fn small_reads_never_take_more_than_the_limit() {
    let input = [
        frame(false, frame::BINARY, &[7; 157]),
        frame(true, frame::PONG, &[1; 120]),
        frame(true, frame::PONG, &[1; 125]),
        frame(true, frame::CONTINUATION, &[7; 100]),
    ]
    .concat();
    for piece in [1, 2, 3, 9, 64] {
        let mut parser = FuzzParser::new(257);
        let mut events = Vec::new();
        for chunk in input.chunks(piece) {
            let (used, event) = parser.parse(chunk);
            assert_eq!(used, chunk.len());
            events.extend(event);
            assert!(parser.held() <= 257 + 125 + MAX_CLIENT_HEADER, "{piece}");
            assert!(parser.0.control.capacity() <= frame::MAX_CONTROL_PAYLOAD);
        }
        assert_eq!(events, [Event::Message(Bytes::from(vec![7; 257]))]);
    }
}

#[test]
fn close_payloads_are_checked() {
    let close = |payload: &[u8]| {
        Parser::new(100)
            .parse(&frame(true, frame::CLOSE, payload))
            .1
    };
    assert_eq!(close(b""), Some(Event::Close(1000)));
    assert_eq!(close(&[0x03, 0xe9]), Some(Event::Close(1001)));
    assert!(matches!(
        close(&[0x03]),
        Some(Event::Fault(code::PROTOCOL, _))
    ));
    assert!(matches!(
        close(&[0x03, 0xed]),
        Some(Event::Fault(code::PROTOCOL, _))
    ));
    assert!(matches!(
        close(&[0x03, 0xe8, 0xff]),
        Some(Event::Fault(code::INVALID, _))
    ));
}

/// A message in one frame read whole takes a short path (`whole_message`); read a byte at a
/// time it takes the general one. Both must see the same events and refusals.
#[test]
fn a_whole_frame_and_the_same_frame_cut_up_read_alike() {
    let unmasked = {
        let mut f = frame(true, frame::TEXT, b"hi");
        f[1] &= 0x7f;
        f.drain(2..6);
        f
    };
    let reserved = {
        let mut f = frame(true, frame::BINARY, b"hi");
        f[0] |= 0x40;
        f
    };
    let cases = [
        frame(true, frame::TEXT, "κόσμε".as_bytes()),
        frame(true, frame::BINARY, &[0xff; 16]),
        frame(true, frame::TEXT, &[b'a', 0xff, b'b']),
        // A code point cut short at the end of the only frame.
        frame(true, frame::TEXT, &"κ".as_bytes()[..1]),
        frame(true, frame::TEXT, b""),
        frame(true, frame::BINARY, &[1; 64]),
        frame(true, frame::BINARY, &[1; 65]),
        unmasked,
        reserved,
    ];
    for input in cases {
        let parse = |cut: usize| {
            let mut parser = Parser::new(64);
            let mut seen = Vec::new();
            for piece in input.chunks(cut) {
                let (used, event) = parser.parse(piece);
                if let Some(event) = event {
                    seen.push(event);
                    break;
                }
                assert_eq!(used, piece.len());
            }
            seen
        };
        assert_eq!(parse(input.len()), parse(1), "{input:?}");
    }
}

#[tokio::test]
async fn messages_that_came_in_one_read_are_taken_in_place() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // A hundred messages the client sent with its request, as hyper hands them over.
    let early: Vec<u8> = (0..100)
        .flat_map(|i: u32| frame(true, frame::TEXT, format!("message {i}").as_bytes()))
        .collect();
    let mut reader = FrameReader::new(ReadIo::Tcp(std::sync::Arc::new(server)), early, 1024, false);
    let buffer = reader.pending.as_ptr_range();
    for i in 0..100 {
        // Every other message lent where it lies, the others copied out.
        let event = match i % 2 {
            0 => {
                let lent = std::future::poll_fn(|cx| {
                    reader.poll_lend(cx, &mut |message: Chunk<'_>| {
                        assert!(matches!(message, Chunk::Text(_)), "lent as the text it is");
                        let message = message.bytes();
                        assert!(buffer.contains(&message.as_ptr()), "lent in place");
                        Bytes::copy_from_slice(message)
                    })
                });
                lent.await.into_event()
            }
            _ => std::future::poll_fn(|cx| reader.poll_event(cx)).await,
        };
        assert_eq!(event, Event::Message(format!("message {i}").into()));
        if i < 99 {
            assert_eq!(
                reader.pending.as_ptr(),
                buffer.start,
                "the rest is not copied per message"
            );
        }
    }
    assert_eq!(reader.pending.capacity(), 0, "freed once used up");
}

/// A parser whose handler tells its messages apart (`ConnectionHandler::delimits_messages`).
fn together(limit: usize) -> Parser {
    Parser::with_joining(limit, true)
}

#[test]
fn whole_messages_of_one_read_are_one_event_for_a_handler_that_delimits_them() {
    let input: Vec<u8> = [
        frame(true, frame::TEXT, b"one\x1e"),
        frame(true, frame::BINARY, b"two\x1e"),
        frame(true, frame::TEXT, "κόσμε\x1e".as_bytes()),
    ]
    .concat();
    assert_eq!(
        together(64).parse(&input),
        (
            input.len(),
            Some(Event::Message(Bytes::from("one\x1etwo\x1eκόσμε\x1e")))
        )
    );
    // Without it, each message is an event of its own.
    let mut alone = Parser::new(64);
    let (used, event) = alone.parse(&input);
    assert_eq!(event, Some(Event::Message(Bytes::from("one\x1e"))));
    assert!(used < input.len());
}

/// What the parser lends of `input`: `Some(text)` for a chunk lent as text known to be UTF-8,
/// `None` for bytes.
fn lent_as_text(mut parser: Parser, input: &[u8]) -> Option<String> {
    let mut input = input.to_vec();
    let (_, found) = parser.parse_in_place(&mut input);
    let lent = found
        .expect("a message")
        .lend(&input, &mut |chunk: Chunk<'_>| match chunk {
            Chunk::Text(text) => Some(text.to_owned()),
            Chunk::Bytes(_) => None,
        });
    match lent {
        Lent::Message(text) => text,
        Lent::Other(event) => panic!("not a message: {event:?}"),
    }
}

#[test]
fn only_text_messages_are_lent_as_text_that_needs_no_check() {
    let text = frame(true, frame::TEXT, "κόσμε\x1e".as_bytes());
    let binary = frame(true, frame::BINARY, b"two\x1e");
    assert_eq!(
        lent_as_text(Parser::new(64), &text).as_deref(),
        Some("κόσμε\x1e")
    );
    assert_eq!(lent_as_text(Parser::new(64), &binary), None);
    let texts = [text.clone(), frame(true, frame::TEXT, b"one\x1e")].concat();
    assert_eq!(
        lent_as_text(together(64), &texts).as_deref(),
        Some("κόσμε\x1eone\x1e")
    );
    // A run with a binary message in it is bytes, whichever comes first.
    assert_eq!(
        lent_as_text(together(64), &[text.clone(), binary.clone()].concat()),
        None
    );
    assert_eq!(lent_as_text(together(64), &[binary, text].concat()), None);
    // A text message assembled from fragments is bytes too: the layer above checks it.
    let fragments = [
        frame(false, frame::TEXT, "κό".as_bytes()),
        frame(true, frame::CONTINUATION, "σμε".as_bytes()),
    ]
    .concat();
    assert_eq!(lent_as_text(Parser::new(64), &fragments), None);
}

#[test]
fn what_cannot_join_a_run_of_whole_messages_is_read_on_its_own() {
    let first = frame(true, frame::TEXT, b"first");
    let cases: [(&str, Vec<u8>, Event); 4] = [
        (
            "invalid UTF-8",
            frame(true, frame::TEXT, &[b'a', 0xff]),
            Event::Fault(code::INVALID, TEXT_NOT_UTF8),
        ),
        (
            "a Ping",
            frame(true, frame::PING, b"ping"),
            Event::Ping(b"ping".to_vec()),
        ),
        (
            "a fragment",
            [
                frame(false, frame::TEXT, b"frag"),
                frame(true, frame::CONTINUATION, b"ment"),
            ]
            .concat(),
            Event::Message(Bytes::from("fragment")),
        ),
        (
            "a message over the limit",
            frame(true, frame::BINARY, &[1; 65]),
            Event::Fault(code::SIZE, ""),
        ),
    ];
    // Parsed in place, as the reader does: what was looked at and left must read as it came.
    let parse = |parser: &mut Parser, input: &mut [u8]| {
        let (used, found) = parser.parse_in_place(input);
        let event = found.map(|found| {
            found
                .lend(input, &mut |chunk: Chunk<'_>| chunk.copied())
                .into_event()
        });
        (used, event)
    };
    for (what, next, expected) in cases {
        let mut input = [first.clone(), next.clone()].concat();
        let mut parser = together(64);
        let (used, event) = parse(&mut parser, &mut input);
        assert_eq!(
            (used, event),
            (first.len(), Some(Event::Message("first".into()))),
            "{what}"
        );
        let (_, event) = parse(&mut parser, &mut input[used..]);
        let event = event.expect(what);
        match (&event, &expected) {
            (Event::Fault(code, _), Event::Fault(expected, _)) => {
                assert_eq!(code, expected, "{what}")
            }
            _ => assert_eq!(event, expected, "{what}"),
        }
    }
}
