//! Stateful reconnect's two messages without a socket: Ack and Sequence parsed in both
//! protocols, what the server writes for any id read back unchanged, and the client's Acks
//! applied to a `Resumable` replay log whose `SequenceWriter` is the protocol's. (Recording
//! and replaying frames is crate-private; `stateful_reconnect` reaches it over a WebSocket.)
#![no_main]

use hubs::Protocol;
use hubs_runtime::connection::Resumable;
use hubs_runtime::protocol::{HubMessage, SequenceMessage};
use libfuzzer_sys::fuzz_target;

fn read_back(protocol: Protocol, kind: SequenceMessage, id: u64) {
    let written = protocol.write_sequence_message(kind, id);
    let parsed = protocol
        .parse(&written, None)
        .expect("valid")
        .expect("whole");
    assert_eq!(parsed.1, written.len());
    match (kind, parsed.0) {
        (SequenceMessage::Ack, HubMessage::Ack { sequence_id })
        | (SequenceMessage::Sequence, HubMessage::Sequence { sequence_id }) => {
            assert_eq!(sequence_id, id)
        }
        (_, other) => panic!("{kind:?} {id} reads back as {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    for protocol in Protocol::ALL.iter().copied() {
        let log = Resumable::new(100_000);
        log.activate(Box::new(move |id| {
            protocol.write_sequence_message(SequenceMessage::Sequence, id)
        }));
        let mut input = data;
        while let Ok(Some((message, used))) = protocol.parse(input, None) {
            match message {
                HubMessage::Ack { sequence_id } => {
                    read_back(protocol, SequenceMessage::Ack, sequence_id);
                    log.acknowledge(sequence_id);
                }
                HubMessage::Sequence { sequence_id } => {
                    read_back(protocol, SequenceMessage::Sequence, sequence_id);
                }
                _ => {}
            }
            input = &input[used..];
        }
        assert!(log.is_active());
        // Any id at all, taken from the input eight bytes at a time.
        for chunk in data.chunks_exact(8).take(4) {
            let id = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            read_back(protocol, SequenceMessage::Ack, id);
            read_back(protocol, SequenceMessage::Sequence, id);
            log.acknowledge(id);
        }
    }
});
