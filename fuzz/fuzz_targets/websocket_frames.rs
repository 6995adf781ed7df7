//! The WebSocket read path (`connection/websocket/read/mod.rs`) without a socket: the parser the
//! transport's `FrameReader` runs, with the transport's default limit (1 MiB) or a small one,
//! fed bytes cut into reads of sizes the input chooses, keeping the rest of a read after an
//! event as the reader does. The bytes are either raw or frames built from fields (any
//! opcode, FIN, RSV, mask bit, length form and payload), for which a model of RFC 6455 gives
//! the exact events expected. Each input is read again as the hub's reader reads, joining the
//! whole messages that follow one another in a read into one event.
//!
//! Checked: no panic; every outcome is messages, Pings, then at most one Close or fault,
//! faults carrying 1002, 1007 or 1009; reads cut differently give the same events as one read
//! of everything; an unmasked frame fails with 1002; between reads the parser holds at most
//! the limit plus one control frame's payload and a header; joining changes only how the
//! messages' bytes are grouped, never the bytes, their order, the Pings, the Close or the fault.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use hubs_runtime::ConnectionOptions;
use hubs_runtime::connection::{WebSocketFuzzEvent as Event, WebSocketFuzzParser as Parser};
use libfuzzer_sys::fuzz_target;

/// The longest client frame header, and the most a control frame carries (RFC 6455 §5.2, §5.5).
const MAX_HEADER: usize = 14;
const MAX_CONTROL: usize = 125;

/// Every event of `input` read in pieces of the sizes `cuts` repeats, as the reader would see
/// them, up to the first Close or fault.
fn events(input: &[u8], cuts: &[usize], limit: usize) -> Vec<Event> {
    events_of(Parser::new(limit), input, cuts, limit)
}

/// [`events`], read by `parser`.
fn events_of(mut parser: Parser, input: &[u8], cuts: &[usize], limit: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let (mut at, mut cut) = (0, 0);
    while at < input.len() || !pending.is_empty() {
        let piece = if pending.is_empty() {
            let size = cuts[cut % cuts.len()].clamp(1, input.len() - at);
            cut += 1;
            at += size;
            &input[at - size..at]
        } else {
            &std::mem::take(&mut pending)[..]
        };
        let (used, event) = parser.parse(piece);
        assert!(used <= piece.len());
        let held = parser.held();
        assert!(
            held <= limit + MAX_CONTROL + MAX_HEADER,
            "the parser holds {held} bytes with a limit of {limit}"
        );
        match event {
            Some(event) => {
                let last = matches!(event, Event::Close(_) | Event::Fault(..));
                events.push(event);
                if last {
                    break;
                }
                pending = piece[used..].to_vec();
            }
            None => assert_eq!(used, piece.len(), "bytes left without an event"),
        }
    }
    events
}

/// The shape every sequence of events must have, and the codes a Close or fault may carry.
fn check_outcome(events: &[Event], limit: usize) {
    for (i, event) in events.iter().enumerate() {
        let last = i + 1 == events.len();
        match event {
            Event::Message(bytes) => assert!(!bytes.is_empty() && bytes.len() <= limit),
            Event::Ping(payload) => assert!(payload.len() <= MAX_CONTROL),
            Event::Close(code) => {
                assert!(last);
                assert!(
                    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                    "{code}"
                );
            }
            Event::Fault(code, _) => {
                assert!(last);
                assert!(matches!(code, 1002 | 1007 | 1009), "fault code {code}");
            }
            Event::Gone => panic!("the parser never reports Gone"),
        }
    }
}

/// A client frame described by its fields.
#[derive(Debug)]
struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    /// 0: the shortest length form; 1: the 16-bit one; 2: the 64-bit one.
    length_form: u8,
    mask: [u8; 4],
    payload: Vec<u8>,
}

/// Payloads worth having whole: text cut inside code points, close codes.
const SAMPLES: &[&[u8]] = &[
    "κόσμε".as_bytes(),
    &[0xce],
    &[0xba, 0xe1, 0xbd],
    &[0xb9, 0xcf, 0x83],
    &[0xed, 0xa0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
    &[0x03, 0xe8],
    &[0x03, 0xe9, b'b', b'y', b'e'],
    &[0x03, 0xed],
    &[0x0b, 0xb8],
    &[0x03, 0xe8, 0xff],
];

impl<'a> Arbitrary<'a> for Frame {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let bits: u8 = u.arbitrary()?;
        let opcode = match u.int_in_range(0..=9)? {
            0 => u.int_in_range(0..=15)?,
            1 | 2 => 0x0,
            3 | 4 => 0x1,
            5 => 0x2,
            6 => 0x8,
            7 => 0x9,
            8 => 0xA,
            _ => 0x1,
        };
        let payload = match u.int_in_range(0..=3)? {
            0 => u.choose(SAMPLES)?.to_vec(),
            1 => vec![u.arbitrary()?; u.int_in_range(0..=300)?],
            _ => u.arbitrary::<&[u8]>()?.to_vec(),
        };
        Ok(Frame {
            fin: bits & 1 == 0,
            // Mostly valid frames: a reserved bit or no mask one time in eight.
            rsv: if bits & 0b1110 == 0b1110 {
                bits >> 5
            } else {
                0
            },
            masked: bits & 0b1_0000 == 0 || u.ratio(7, 8)?,
            opcode,
            length_form: u.int_in_range(0u8..=4)?.saturating_sub(2),
            mask: u.arbitrary()?,
            payload,
        })
    }
}

impl Frame {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | self.opcode);
        let mask_bit = u8::from(self.masked) << 7;
        let n = self.payload.len();
        match (self.length_form, n) {
            (0, 0..=125) => out.push(mask_bit | n as u8),
            (0 | 1, 0..=0xffff) => {
                out.push(mask_bit | 126);
                out.extend((n as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        if self.masked {
            out.extend(self.mask);
            out.extend(
                self.payload
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ self.mask[i % 4]),
            );
        } else {
            out.extend(&self.payload);
        }
    }
}

/// RFC 6455's reading of whole frames: the events expected and their codes (reasons aside).
fn model(frames: &[Frame], limit: usize) -> Vec<(u8, u16, Vec<u8>)> {
    const MESSAGE: u8 = 0;
    const PING: u8 = 1;
    const CLOSE: u8 = 2;
    const FAULT: u8 = 3;
    let mut out = Vec::new();
    let mut message: Option<(bool, Vec<u8>)> = None;
    let fault = |out: &mut Vec<_>, code| out.push((FAULT, code, Vec::new()));
    for frame in frames {
        let control = frame.opcode & 0x8 != 0;
        if frame.rsv != 0 || !frame.masked {
            fault(&mut out, 1002);
            return out;
        }
        let valid = match frame.opcode {
            0x8..=0xA => frame.fin && frame.payload.len() <= MAX_CONTROL,
            0x0 => message.is_some(),
            0x1 | 0x2 => message.is_none(),
            _ => false,
        };
        if !valid {
            fault(&mut out, 1002);
            return out;
        }
        if !control {
            let (text, data) = message.get_or_insert_with(|| (frame.opcode == 0x1, Vec::new()));
            if data.len() + frame.payload.len() > limit {
                fault(&mut out, 1009);
                return out;
            }
            data.extend(&frame.payload);
            let broken = match std::str::from_utf8(data) {
                Ok(_) => false,
                Err(error) => error.error_len().is_some() || frame.fin,
            };
            if *text && broken {
                fault(&mut out, 1007);
                return out;
            }
            if frame.fin {
                let (_, data) = message.take().expect("a message");
                if !data.is_empty() {
                    out.push((MESSAGE, 0, data));
                }
            }
            continue;
        }
        match (frame.opcode, &frame.payload[..]) {
            (0x9, payload) => out.push((PING, 0, payload.to_vec())),
            (0xA, _) => {}
            (_, []) => {
                out.push((CLOSE, 1000, Vec::new()));
                return out;
            }
            (_, [_]) => {
                fault(&mut out, 1002);
                return out;
            }
            (_, [high, low, reason @ ..]) => {
                let code = u16::from_be_bytes([*high, *low]);
                if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                    fault(&mut out, 1002);
                } else if std::str::from_utf8(reason).is_err() {
                    fault(&mut out, 1007);
                } else {
                    out.push((CLOSE, code, Vec::new()));
                }
                return out;
            }
        }
    }
    out
}

/// The events with each run of messages as one: what joining whole messages may change.
fn messages_merged(events: &[Event]) -> Vec<(u8, u16, Vec<u8>)> {
    let mut merged: Vec<(u8, u16, Vec<u8>)> = Vec::new();
    for event in flatten(events) {
        match (merged.last_mut(), event) {
            (Some((0, _, run)), (0, _, bytes)) => run.extend(bytes),
            (_, event) => merged.push(event),
        }
    }
    merged
}

fn flatten(events: &[Event]) -> Vec<(u8, u16, Vec<u8>)> {
    events
        .iter()
        .map(|event| match event {
            Event::Message(bytes) => (0, 0, bytes.to_vec()),
            Event::Ping(payload) => (1, 0, payload.clone()),
            Event::Close(code) => (2, *code, Vec::new()),
            Event::Fault(code, _) => (3, *code, Vec::new()),
            Event::Gone => unreachable!(),
        })
        .collect()
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let limit = if u.arbitrary()? {
        ConnectionOptions::default().transport_max_message_size
    } else {
        u.int_in_range(1..=512)?
    };
    let cuts: Vec<usize> = (0..u.int_in_range(1..=8)?)
        .map(|_| u.int_in_range(1..=300))
        .collect::<Result<_>>()?;
    let structured: bool = u.arbitrary()?;
    let (input, expected) = if structured {
        let frames: Vec<Frame> = u.arbitrary()?;
        let mut input = Vec::new();
        for frame in &frames {
            frame.encode(&mut input);
        }
        (input, Some(model(&frames, limit)))
    } else {
        (u.bytes(u.len())?.to_vec(), None)
    };
    if input.is_empty() {
        return Ok(());
    }
    let whole = events(&input, &[input.len()], limit);
    check_outcome(&whole, limit);
    let cut = events(&input, &cuts, limit);
    assert_eq!(cut, whole, "reads cut in {cuts:?} change the events");
    let byte_by_byte = events(&input, &[1], limit);
    assert_eq!(byte_by_byte, whole, "reads of one byte change the events");
    // Joined, a message may pass the limit (each of its parts is within it): the shape is
    // checked on the events read alone, the bytes here.
    for cuts in [&[input.len()][..], &cuts] {
        let joined = events_of(Parser::joining(limit), &input, cuts, limit);
        assert!(joined.len() <= whole.len(), "joining made more events");
        assert_eq!(
            messages_merged(&joined),
            messages_merged(&whole),
            "joining whole messages in reads cut in {cuts:?} changes what is read"
        );
    }
    if let Some(expected) = expected {
        assert_eq!(flatten(&whole), expected, "events differ from RFC 6455's");
    } else if input.len() >= 2 && input[0] & 0x70 == 0 && input[1] & 0x80 == 0 {
        // An unmasked first frame (without reserved bits, which fail first) fails as soon as
        // its header is in.
        let header = match input[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        if input.len() >= header {
            assert!(matches!(whole[..], [Event::Fault(1002, _)]), "{whole:?}");
        } else {
            assert!(whole.is_empty(), "{whole:?}");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
