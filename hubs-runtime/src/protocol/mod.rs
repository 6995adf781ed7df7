//! Hub protocol layer: bytes of a connection <-> hub messages.
//!
//! A protocol knows how to find message boundaries in a byte stream, how to read each message
//! type and how to write the messages a server sends. Argument values stay encoded until the
//! hub layer asks for them by type ([`Arguments::decode`]), so nothing builds an intermediate
//! value tree.

mod deserialize_methods;
mod encoded;
mod handshake;
mod json;
mod messagepack;
mod property_names;
mod text_or;
mod values;

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

pub use crate::connection::TransferFormat;
pub use encoded::Encoded;
pub use handshake::{
    HANDSHAKE_OK, HandshakeError, HandshakeRequest, parse_handshake, write_handshake_error,
};
pub use json::JsonProtocol;
pub use messagepack::MessagePackProtocol;
pub use property_names::{JsonPropertyNames, camel_case, json_property_name};
pub(crate) use values::ArgumentValues;

/// The ASCII record separator that ends every JSON message and the handshake.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// The operations every hub protocol provides.
///
/// Implemented by one unit struct per wire format; [`Protocol`] picks one at run time.
pub trait HubProtocol {
    /// The name clients send in the handshake (`json`, `messagepack`).
    const NAME: &'static str;
    /// Highest protocol version understood (2 includes stateful reconnect messages).
    const MAX_VERSION: u32;
    /// The transfer format the protocol needs from the transport.
    const TRANSFER_FORMAT: TransferFormat;

    /// Reads one message from the start of `input`.
    ///
    /// Returns the message and the number of bytes it used, `Ok(None)` when `input` does not
    /// yet hold a whole message, or an error for malformed input or a message larger than
    /// `max_message_size`.
    fn parse(
        input: &[u8],
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError>;

    /// Decodes one encoded argument or item value.
    fn decode_value<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String>;

    /// Encodes a value as this protocol embeds it in a message (a completion result).
    fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Encoded, EncodeError>;

    /// Writes a whole framed Invocation whose arguments are `arguments` (a sequence).
    fn write_invocation<A: Serialize + ?Sized>(
        invocation_id: Option<&str>,
        target: &str,
        arguments: &A,
    ) -> Result<Bytes, EncodeError>;

    /// Writes a whole framed Completion into `buffer` (its allocation reused) after at least
    /// `room` bytes, which keep whatever they held or are zeros; returns where the frame
    /// starts (it runs to the buffer's end).
    fn write_completion_in(
        buffer: &mut Vec<u8>,
        room: usize,
        invocation_id: &str,
        outcome: CompletionOutcome<'_>,
    ) -> usize;

    /// Writes a whole framed Completion.
    fn write_completion(invocation_id: &str, outcome: CompletionOutcome<'_>) -> Bytes {
        let mut buffer = Vec::new();
        let start = Self::write_completion_in(&mut buffer, 0, invocation_id, outcome);
        // Advancing (unlike slicing) takes no shared header.
        let mut frame = Bytes::from(buffer);
        bytes::Buf::advance(&mut frame, start);
        frame
    }

    /// Writes a whole framed StreamItem whose item is already encoded.
    fn write_stream_item(invocation_id: &str, item: &[u8]) -> Bytes;

    /// Writes a whole framed Ping.
    fn write_ping() -> Bytes;

    /// Writes a whole framed Ack (type 8) or Sequence (type 9).
    fn write_sequence_message(kind: SequenceMessage, sequence_id: u64) -> Bytes;

    /// Writes a whole framed Close.
    fn write_close(error: Option<&str>, allow_reconnect: bool) -> Bytes;
}

/// A hub protocol a connection negotiated in its handshake ([`Context::protocol`]); which
/// ones clients may choose is `HubOptions::supported_protocols`.
///
/// ```
/// use hubs::prelude::*;
/// use hubs::{Protocol, Transport};
///
/// struct Diagnostics;
///
/// #[hub]
/// impl Diagnostics {
///     /// How this connection talks to the server, e.g. "WebSockets, Json".
///     pub async fn how(&self, ctx: &Context) -> String {
///         let transport = ctx.transport().map_or("unknown", Transport::name);
///         format!("{transport}, {:?}", ctx.protocol())
///     }
/// }
///
/// // JSON only (no MessagePack clients).
/// let endpoint = HubEndpoint::builder(Diagnostics)
///     .configure(|o| o.supported_protocols = vec![Protocol::Json])
///     .build();
/// # let _ = endpoint;
/// ```
///
/// [`Context::protocol`]: crate::Context::protocol
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// The JSON hub protocol (`json`).
    Json,
    /// The MessagePack hub protocol (`messagepack`).
    MessagePack,
}

macro_rules! dispatch {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            Protocol::Json => {
                type $p = JsonProtocol;
                $body
            }
            Protocol::MessagePack => {
                type $p = MessagePackProtocol;
                $body
            }
        }
    };
}

impl Protocol {
    /// Every protocol this build supports.
    pub const ALL: &'static [Protocol] = &[Protocol::Json, Protocol::MessagePack];
    /// How many protocols exist; sizes per-protocol tables.
    pub const COUNT: usize = 2;

    /// The protocol named `name` in a handshake (matched without regard to case).
    pub fn from_name(name: &str) -> Option<Protocol> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The handshake name.
    pub fn name(self) -> &'static str {
        dispatch!(self, P => P::NAME)
    }

    /// A dense index for per-protocol tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Highest version supported.
    pub fn max_version(self) -> u32 {
        dispatch!(self, P => P::MAX_VERSION)
    }

    /// The transfer format the protocol needs.
    pub fn transfer_format(self) -> TransferFormat {
        dispatch!(self, P => P::TRANSFER_FORMAT)
    }

    /// Whether `frame` may be sent to a client of this protocol as it is: a text protocol's
    /// frames must be UTF-8, as a WebSocket's text frames must.
    pub(crate) fn can_send(self, frame: &[u8]) -> bool {
        self.transfer_format() == TransferFormat::Binary || crate::utf8::from_utf8(frame).is_ok()
    }

    /// See [`HubProtocol::parse`].
    #[inline]
    pub fn parse(
        self,
        input: &[u8],
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        dispatch!(self, P => P::parse(input, max_message_size))
    }

    /// [`parse`](Self::parse) of text its transport found to be UTF-8, which the JSON
    /// protocol need not check again.
    #[inline]
    pub(crate) fn parse_text(
        self,
        input: &str,
        max_message_size: Option<usize>,
    ) -> Result<Option<(HubMessage<'_>, usize)>, ProtocolError> {
        match self {
            Protocol::Json => JsonProtocol::parse_text(input, max_message_size),
            Protocol::MessagePack => MessagePackProtocol::parse(input.as_bytes(), max_message_size),
        }
    }

    /// See [`HubProtocol::encode_value`].
    pub fn encode_value<T: Serialize + ?Sized>(self, value: &T) -> Result<Encoded, EncodeError> {
        dispatch!(self, P => P::encode_value(value))
    }

    /// See [`HubProtocol::write_invocation`].
    pub fn write_invocation<A: Serialize + ?Sized>(
        self,
        invocation_id: Option<&str>,
        target: &str,
        arguments: &A,
    ) -> Result<Bytes, EncodeError> {
        dispatch!(self, P => P::write_invocation(invocation_id, target, arguments))
    }

    /// See [`HubProtocol::write_completion`].
    pub fn write_completion(self, invocation_id: &str, outcome: CompletionOutcome<'_>) -> Bytes {
        dispatch!(self, P => P::write_completion(invocation_id, outcome))
    }

    /// See [`HubProtocol::write_completion_in`].
    pub(crate) fn write_completion_in(
        self,
        buffer: &mut Vec<u8>,
        room: usize,
        invocation_id: &str,
        outcome: CompletionOutcome<'_>,
    ) -> usize {
        dispatch!(self, P => P::write_completion_in(buffer, room, invocation_id, outcome))
    }

    /// See [`HubProtocol::write_stream_item`].
    pub fn write_stream_item(self, invocation_id: &str, item: &[u8]) -> Bytes {
        dispatch!(self, P => P::write_stream_item(invocation_id, item))
    }

    /// Decodes one encoded value (an argument, a stream item, a client result).
    pub fn decode_value<T: DeserializeOwned>(self, raw: &[u8]) -> Result<T, String> {
        dispatch!(self, P => P::decode_value(raw))
    }

    /// See [`HubProtocol::write_sequence_message`].
    pub fn write_sequence_message(self, kind: SequenceMessage, sequence_id: u64) -> Bytes {
        dispatch!(self, P => P::write_sequence_message(kind, sequence_id))
    }

    /// See [`HubProtocol::write_ping`].
    pub fn write_ping(self) -> Bytes {
        dispatch!(self, P => P::write_ping())
    }

    /// See [`HubProtocol::write_close`].
    pub fn write_close(self, error: Option<&str>, allow_reconnect: bool) -> Bytes {
        dispatch!(self, P => P::write_close(error, allow_reconnect))
    }
}

/// A message received from a client. Borrows from the bytes it was parsed from.
#[derive(Debug)]
pub enum HubMessage<'a> {
    /// Type 1: call a hub method.
    Invocation(Invocation<'a>),
    /// Type 2: one item of an upload stream.
    StreamItem {
        /// The stream id.
        invocation_id: Cow<'a, str>,
        /// The encoded item.
        item: &'a [u8],
    },
    /// Type 3: the end of an upload stream or a client result.
    Completion {
        /// The invocation or stream id.
        invocation_id: Cow<'a, str>,
        /// The result, the error, or neither.
        outcome: CompletionOutcome<'a>,
    },
    /// Type 4: call a streaming hub method.
    StreamInvocation(Invocation<'a>),
    /// Type 5: cancel a streaming invocation.
    CancelInvocation {
        /// The invocation id.
        invocation_id: Cow<'a, str>,
    },
    /// Type 6: keep-alive.
    Ping,
    /// Type 7: the client is closing.
    Close {
        /// The error the client reports, if any.
        error: Option<Cow<'a, str>>,
    },
    /// Type 8: the peer received every message up to this sequence id (stateful reconnect).
    Ack {
        /// The highest sequence id received.
        sequence_id: u64,
    },
    /// Type 9: the sequence id of the next message the peer sends (stateful reconnect).
    Sequence {
        /// The sequence id.
        sequence_id: u64,
    },
    /// Types this server does not know: skipped.
    Ignored,
}

/// An Invocation or StreamInvocation.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// Present when the caller expects a Completion.
    pub invocation_id: Option<Cow<'a, str>>,
    /// The hub method name as the client sent it.
    pub target: Cow<'a, str>,
    /// The encoded arguments.
    pub arguments: Arguments<'a>,
    /// Ids of upload streams the client will send.
    pub stream_ids: Vec<Cow<'a, str>>,
}

/// The still-encoded arguments of an invocation.
#[derive(Debug)]
pub struct Arguments<'a> {
    protocol: Protocol,
    values: ArgumentValues<'a>,
}

impl<'a> Arguments<'a> {
    /// Arguments encoded with `protocol`, one slice per value.
    pub(crate) fn new(protocol: Protocol, values: ArgumentValues<'a>) -> Self {
        Self { protocol, values }
    }

    /// How many arguments the client sent.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the client sent no arguments.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The encoded values, one slice per argument (hub filters keep a copy).
    pub(crate) fn values(&self) -> &[&'a [u8]] {
        &self.values
    }

    /// Deserializes argument `index` straight from the received bytes.
    pub fn decode<T: DeserializeOwned>(&self, index: usize) -> Result<T, ArgumentError> {
        let raw = self.values.get(index).ok_or_else(|| ArgumentError {
            index,
            message: "missing".into(),
        })?;
        match (self.protocol, self.values.plain_string(index)) {
            (Protocol::Json, Some(text)) => JsonProtocol::decode_plain_string(text),
            (protocol, _) => protocol.decode_value(raw),
        }
        .map_err(|message| ArgumentError { index, message })
    }
}

/// An argument that does not deserialize into the parameter's type.
#[derive(Debug, Clone)]
pub struct ArgumentError {
    /// Which argument failed.
    pub index: usize,
    /// What the deserializer said.
    pub message: String,
}

/// The two messages of stateful reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceMessage {
    /// Type 8: everything up to the id arrived.
    Ack = 8,
    /// Type 9: the id of the next message sent.
    Sequence = 9,
}

/// How a Completion ends an invocation.
#[derive(Debug, Clone)]
pub enum CompletionOutcome<'a> {
    /// A result value, encoded with the connection's protocol.
    Result(&'a [u8]),
    /// An error text.
    Error(Cow<'a, str>),
    /// Neither (a finished stream).
    Empty,
}

impl<'a> CompletionOutcome<'a> {
    /// An error outcome borrowing `text`.
    pub fn error(text: &'a str) -> Self {
        CompletionOutcome::Error(Cow::Borrowed(text))
    }
}

/// Bytes that are not a valid message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A message exceeded the maximum receive size.
    MessageTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A message could not be read.
    Malformed(String),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::MessageTooLarge { limit } => write!(
                f,
                "The maximum message size of {limit}B was exceeded. The message size can be configured in AddHubOptions."
            ),
            ProtocolError::Malformed(m) => write!(f, "{m}"),
        }
    }
}

/// A value that could not be serialized for the wire.
#[derive(Debug, Clone)]
pub struct EncodeError(pub String);

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed to serialize a message: {}", self.0)
    }
}

impl std::error::Error for EncodeError {}

/// Readies a reused `buffer` for a frame written after its first `room` bytes, with space for
/// `more`: those bytes keep whatever a write before left there (none of it is sent) and are
/// zeros only where the buffer was shorter, so a reused buffer costs no fill.
#[inline]
fn keep_room(buffer: &mut Vec<u8>, room: usize, more: usize) {
    buffer.truncate(room);
    buffer.reserve_exact(room - buffer.len() + more);
    buffer.resize(room, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_written_after_room_is_the_completion_written_alone() {
        let long = "é".repeat(200);
        for protocol in [Protocol::Json, Protocol::MessagePack] {
            let encoded = protocol.encode_value("result").unwrap();
            let outcomes = [
                CompletionOutcome::Result(&encoded),
                CompletionOutcome::error(&long),
                CompletionOutcome::Empty,
            ];
            for room in [0, 2, 10] {
                for outcome in outcomes.clone() {
                    // A buffer used before: none of what it held reaches the frame.
                    let mut buffer = vec![7; 300];
                    let start =
                        protocol.write_completion_in(&mut buffer, room, "1", outcome.clone());
                    assert!(start >= room, "{protocol:?}, room {room}");
                    let alone = protocol.write_completion("1", outcome);
                    assert_eq!(buffer[start..], alone[..], "{protocol:?}, room {room}");
                }
            }
        }
    }
}
