//! The frames the generator writes and reads, checked byte by byte.

use super::*;

#[test]
fn stamps_round_trip_through_templates() {
    let payload = stamped_payload(32);
    assert_eq!(payload.len(), 32);
    let frame = HubProtocol::Json.invocation_frame(Some("1"), "Echo", &[Arg::Str(&payload)]);
    let mut t = Template::new(frame);
    let bytes = t.stamp(0x0123_4567_89ab_cdef).to_vec();
    let (f, used) = parse_frame_unmasked(&bytes);
    assert_eq!(used, bytes.len());
    let mut seen = Vec::new();
    for_each_stamp(f, |s| seen.push(s));
    assert_eq!(seen, [0x0123_4567_89ab_cdef]);
    assert!(f.ends_with(b"]}\x1e"));
}

/// Client frames are masked with a zero key: skip the header to see the payload.
fn parse_frame_unmasked(frame: &[u8]) -> (&[u8], usize) {
    let header = match frame[1] & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    } + 4;
    (&frame[header..], frame.len())
}

#[test]
fn msgpack_invocations_have_a_varint_length() {
    let payload = stamped_payload(1024);
    let frame = HubProtocol::MessagePack.invocation_frame(None, "Broadcast", &[Arg::Str(&payload)]);
    let (body, _) = parse_frame_unmasked(&frame);
    // 1024 + headers > 127: a two-byte varint.
    let len = (body[0] & 0x7f) as usize | (body[1] as usize) << 7;
    assert_eq!(len, body.len() - 2);
    assert_eq!(&body[2..5], &[0x96, 0x01, 0x80]);
}

#[test]
fn acks_carry_the_sequence_id_in_either_protocol() {
    let body = |protocol: HubProtocol, id| {
        let mut frame = Vec::new();
        protocol.write_ack(id, &mut frame);
        assert_eq!(
            parse_frame_unmasked(&frame).1,
            frame.len(),
            "one whole frame"
        );
        parse_frame_unmasked(&frame).0.to_vec()
    };
    assert_eq!(
        body(HubProtocol::Json, 300),
        b"{\"type\":8,\"sequenceId\":300}\x1e"
    );
    assert_eq!(
        body(HubProtocol::Json, u64::MAX),
        b"{\"type\":8,\"sequenceId\":18446744073709551615}\x1e"
    );
    // A varint length, then [8, id]: 300 as a uint32, 5 as a positive fixint.
    assert_eq!(
        body(HubProtocol::MessagePack, 300),
        [0x07, 0x92, 0x08, 0xce, 0x00, 0x00, 0x01, 0x2c]
    );
    assert_eq!(body(HubProtocol::MessagePack, 5), [0x03, 0x92, 0x08, 0x05]);
    assert_eq!(
        body(HubProtocol::MessagePack, u64::MAX),
        [
            0x0b, 0x92, 0x08, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]
    );
}

#[test]
fn server_frames_parse_with_every_length_form() {
    for len in [5usize, 200, 70_000] {
        let mut frame = vec![0x81];
        match len {
            n if n < 126 => frame.push(n as u8),
            n if n <= 0xffff => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend(std::iter::repeat_n(b'a', len));
        assert!(parse_frame(&frame[..frame.len() - 1]).unwrap().is_none());
        let (f, used) = parse_frame(&frame).unwrap().unwrap();
        assert_eq!((f.opcode, f.payload.len(), used), (1, len, frame.len()));
    }
}

#[test]
fn the_engineio_pong_is_a_client_text_frame() {
    assert_eq!(socketio::PONG, client_frame(opcode::TEXT, b"3"));
}

#[test]
fn broken_stamps_are_skipped() {
    let mut seen = Vec::new();
    for_each_stamp(b"~@zz ~@00000000000000ff ~@", |s| seen.push(s));
    assert_eq!(seen, [255]);
}
