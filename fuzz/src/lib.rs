//! What the fuzz targets share: the messages of the protocol documents, a small hub to drive,
//! the checks every parsed message goes through, and the byte layout of the scripted targets.

pub mod documents;
pub mod hub;
pub mod script;

/// Runs one input's future on a fresh current-thread runtime with a paused clock (virtual
/// time, so timeouts cost nothing); dropping the runtime ends every task the input started.
pub fn run_paused<F: std::future::Future>(input: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
        .block_on(input)
}

use std::borrow::Cow;

use hubs::Timestamp;
use hubs_runtime::protocol::{Arguments, CompletionOutcome, HubMessage, Protocol};
use serde::Deserialize;

/// ASP.NET Core's default `MaximumReceiveMessageSize`, the limit the read loop parses with.
pub const MESSAGE_LIMIT: usize = 32 * 1024;

/// How many arguments of one invocation are bound.
const MAX_BOUND_ARGUMENTS: usize = 8;

/// A payload shaped like the ones hub methods take: nested, optional, binary and a timestamp.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct Order {
    pub id: u64,
    pub lines: Vec<(String, f64)>,
    pub note: Option<String>,
    #[serde(with = "serde_bytes")]
    pub blob: Vec<u8>,
    pub at: Option<Timestamp>,
}

/// Binds the first arguments as a hub method would, with the parameter types hubs commonly
/// use (and one past the end). Failing to bind is an ordinary outcome; panicking is not.
/// Methods check the count before binding, so binding hundreds of arguments would only slow
/// the fuzzer down.
pub fn bind_arguments(arguments: &Arguments<'_>) {
    for index in 0..=arguments.len().min(MAX_BOUND_ARGUMENTS) {
        let _ = arguments.decode::<String>(index);
        let _ = arguments.decode::<i64>(index);
        let _ = arguments.decode::<u8>(index);
        let _ = arguments.decode::<f64>(index);
        let _ = arguments.decode::<bool>(index);
        let _ = arguments.decode::<Option<Vec<String>>>(index);
        let _ = arguments.decode::<serde_bytes::ByteBuf>(index);
        let _ = arguments.decode::<Timestamp>(index);
        let _ = arguments.decode::<Order>(index);
    }
}

/// Decodes an item or result value the ways the hub layer does.
fn bind_value(protocol: Protocol, raw: &[u8]) {
    let _ = protocol.decode_value::<String>(raw);
    let _ = protocol.decode_value::<i64>(raw);
    let _ = protocol.decode_value::<bool>(raw);
    let _ = protocol.decode_value::<Timestamp>(raw);
    let _ = protocol.decode_value::<Order>(raw);
}

/// Parses `input` as the read loop does, message after message until it runs out or fails,
/// binding what each message carries and checking that what the server writes back for it
/// reads the same.
pub fn read_loop(protocol: Protocol, mut input: &[u8], limit: Option<usize>) {
    while let Ok(Some((message, used))) = protocol.parse(input, limit) {
        assert!(used > 0 && used <= input.len(), "parse used {used} bytes");
        if let Some(limit) = limit {
            // The limit covers the message itself, not its frame (separator or prefix).
            assert!(
                used <= limit + 5,
                "a {used}-byte message passed a {limit}-byte limit"
            );
        }
        check_message(protocol, &message);
        input = &input[used..];
    }
}

fn check_message(protocol: Protocol, message: &HubMessage<'_>) {
    match message {
        HubMessage::Invocation(call) | HubMessage::StreamInvocation(call) => {
            bind_arguments(&call.arguments);
            assert!(call.invocation_id.as_deref() != Some(""));
        }
        HubMessage::StreamItem {
            invocation_id,
            item,
        } => {
            bind_value(protocol, item);
            // What the server writes for a stream item must read back as the same item.
            let written = protocol.write_stream_item(invocation_id, item);
            match protocol.parse(&written, None) {
                Ok(Some((
                    HubMessage::StreamItem {
                        invocation_id: id,
                        item: back,
                    },
                    used,
                ))) => {
                    assert_eq!((&*id, back), (&**invocation_id, *item));
                    assert_eq!(used, written.len());
                }
                other => panic!("a written stream item reads back as {other:?}"),
            }
        }
        HubMessage::Completion {
            invocation_id,
            outcome,
        } => {
            if let CompletionOutcome::Result(raw) = outcome {
                bind_value(protocol, raw);
            }
            let written = protocol.write_completion(invocation_id, outcome.clone());
            match protocol.parse(&written, None) {
                Ok(Some((
                    HubMessage::Completion {
                        invocation_id: id,
                        outcome: back,
                    },
                    _,
                ))) => {
                    assert_eq!(&*id, &**invocation_id);
                    assert_eq!(describe(&back), describe(outcome));
                }
                other => panic!("a written completion reads back as {other:?}"),
            }
        }
        HubMessage::Ack { .. }
        | HubMessage::Sequence { .. }
        | HubMessage::CancelInvocation { .. }
        | HubMessage::Ping
        | HubMessage::Close { .. }
        | HubMessage::Ignored => {}
    }
}

/// A comparable form of an outcome.
fn describe<'a>(outcome: &'a CompletionOutcome<'_>) -> (u8, Cow<'a, [u8]>) {
    match outcome {
        CompletionOutcome::Result(raw) => (1, Cow::Borrowed(raw)),
        CompletionOutcome::Error(text) => (2, Cow::Borrowed(text.as_bytes())),
        CompletionOutcome::Empty => (3, Cow::Borrowed(&[])),
    }
}
