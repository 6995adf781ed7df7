//! What the lifetime layer carries: who a message is for ([`Target`]), the message encoded once
//! per protocol ([`SerializedMessage`]), and what a client answers to a server-to-client
//! invocation ([`ClientResult`], [`ClientResultError`]).
//!
//! These types are portable: a [`SerializedMessage`] is nothing but protocol names and framed
//! bytes, so another node can rebuild it from what a backplane carried
//! ([`SerializedMessage::from_named`], or serde, which writes it as a map from protocol name to
//! bytes, the shape ASP.NET Core's Redis backplane uses), and a [`Target`] serializes with
//! serde.

use bytes::Bytes;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::{CompletionOutcome, EncodeError, Protocol};

/// Who a message is for: every target ASP.NET Core SignalR has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Every connection.
    All,
    /// Every connection but these ids.
    AllExcept(Vec<String>),
    /// One connection.
    Connection(String),
    /// Several connections.
    Connections(Vec<String>),
    /// The members of a group.
    Group(String),
    /// The members of each of several groups (a member of two of them gets the message twice,
    /// as in ASP.NET Core).
    Groups(Vec<String>),
    /// The members of a group but these ids.
    GroupExcept(String, Vec<String>),
    /// Every connection of a user.
    User(String),
    /// Every connection of each of several users.
    Users(Vec<String>),
}

/// A set of protocols, for encoding a message only in the protocols someone uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtocolSet(u32);

impl ProtocolSet {
    /// Every protocol.
    pub fn all() -> Self {
        Self::of(Protocol::ALL.iter().copied())
    }

    /// The set of `protocols`.
    pub fn of(protocols: impl IntoIterator<Item = Protocol>) -> Self {
        protocols.into_iter().fold(Self::default(), Self::with)
    }

    /// This set plus `protocol`.
    pub fn with(self, protocol: Protocol) -> Self {
        Self(self.0 | 1 << protocol.index())
    }

    /// Whether `protocol` is in the set.
    pub fn contains(self, protocol: Protocol) -> bool {
        self.0 & (1 << protocol.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The protocols in the set, in [`Protocol::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Protocol> {
        Protocol::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }
}

/// A message encoded once for each protocol in use; every recipient shares these bytes.
///
/// Each encoding is a whole framed message (JSON ending in the record separator, MessagePack
/// with its length prefix), exactly what a connection of that protocol is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SerializedMessage {
    encoded: [Option<Bytes>; Protocol::COUNT],
}

impl SerializedMessage {
    /// An Invocation of client method `target` with `arguments`, for each of `protocols`,
    /// struct fields named as serde declares them in both; [`ClientProxy::send`] writes them
    /// with the hub's JSON property names instead.
    ///
    /// [`ClientProxy::send`]: crate::ClientProxy::send
    pub fn invocation<A: Serialize + ?Sized>(
        protocols: ProtocolSet,
        target: &str,
        arguments: &A,
    ) -> Result<Self, EncodeError> {
        Self::encode(protocols, |protocol| {
            protocol.write_invocation(None, target, arguments)
        })
    }

    /// The message `write` encodes for each of `protocols`. An encoding for JSON must be
    /// UTF-8: checked here once, so that no recipient's socket checks it again.
    pub fn encode(
        protocols: ProtocolSet,
        mut write: impl FnMut(Protocol) -> Result<Bytes, EncodeError>,
    ) -> Result<Self, EncodeError> {
        let mut message = Self::default();
        for protocol in protocols.iter() {
            let framed = write(protocol)?;
            if !protocol.can_send(&framed) {
                return Err(EncodeError(format!(
                    "the {} encoding is not UTF-8",
                    protocol.name()
                )));
            }
            message.encoded[protocol.index()] = Some(framed);
        }
        Ok(message)
    }

    /// Rebuilds a message from protocol names and framed bytes (what a backplane carried);
    /// encodings of protocols this build does not know are skipped.
    pub fn from_named<'a>(encodings: impl IntoIterator<Item = (&'a str, Bytes)>) -> Self {
        let mut message = Self::default();
        for (name, bytes) in encodings {
            if let Some(protocol) = Protocol::from_name(name) {
                message.set(protocol, bytes);
            }
        }
        message
    }

    /// Sets the framed bytes for `protocol`. Bytes for JSON that are not UTF-8 are dropped
    /// (and logged), leaving the message without that encoding, as no client could read them.
    pub fn set(&mut self, protocol: Protocol, framed: Bytes) {
        let sendable = protocol.can_send(&framed);
        if !sendable {
            tracing::error!(
                protocol = protocol.name(),
                "dropped an encoding that is not UTF-8"
            );
        }
        self.encoded[protocol.index()] = sendable.then_some(framed);
    }

    /// The framed bytes for `protocol`, if it was encoded.
    pub fn get(&self, protocol: Protocol) -> Option<&Bytes> {
        self.encoded[protocol.index()].as_ref()
    }

    /// The protocols the message is encoded in.
    pub fn protocols(&self) -> ProtocolSet {
        ProtocolSet::of(
            Protocol::ALL
                .iter()
                .copied()
                .filter(|p| self.get(*p).is_some()),
        )
    }

    /// Each encoding with its protocol, in [`Protocol::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, &Bytes)> {
        Protocol::ALL
            .iter()
            .filter_map(|p| self.get(*p).map(|bytes| (*p, bytes)))
    }
}

/// A map from protocol name to framed bytes.
impl Serialize for SerializedMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.iter().count()))?;
        for (protocol, bytes) in self.iter() {
            map.serialize_entry(protocol.name(), serde_bytes::Bytes::new(bytes))?;
        }
        map.end()
    }
}

/// Reads the map [`Serialize`] writes; protocols this build does not know are skipped.
impl<'de> Deserialize<'de> for SerializedMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Encodings;

        impl<'de> Visitor<'de> for Encodings {
            type Value = SerializedMessage;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map from protocol name to framed bytes")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut message = SerializedMessage::default();
                while let Some((name, bytes)) = map.next_entry::<String, serde_bytes::ByteBuf>()? {
                    if let Some(protocol) = Protocol::from_name(&name) {
                        message.set(protocol, Bytes::from(bytes.into_vec()));
                    }
                }
                Ok(message)
            }
        }

        deserializer.deserialize_map(Encodings)
    }
}

/// What a client answered to a server-to-client invocation.
#[derive(Debug, Clone)]
pub struct ClientResult {
    protocol: Protocol,
    raw: Bytes,
}

impl ClientResult {
    /// A result encoded with `protocol`.
    pub fn new(protocol: Protocol, raw: Bytes) -> Self {
        Self { protocol, raw }
    }

    /// What a Completion of a client of `protocol` answers: its result (null when it had
    /// none), or its error.
    pub fn from_outcome(
        protocol: Protocol,
        outcome: &CompletionOutcome<'_>,
    ) -> Result<Self, ClientResultError> {
        match outcome {
            CompletionOutcome::Result(raw) => Ok(Self::new(protocol, Bytes::copy_from_slice(raw))),
            CompletionOutcome::Error(error) => Err(ClientResultError::Client(error.to_string())),
            CompletionOutcome::Empty => Ok(Self::new(
                protocol,
                Bytes::copy_from_slice(&protocol.encode_value(&()).unwrap_or_default()),
            )),
        }
    }

    /// The protocol the result is encoded with.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The encoded result value.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// Deserializes the result.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        self.protocol.decode_value(&self.raw)
    }
}

/// Why a client result did not arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientResultError {
    /// No such connection.
    NoConnection(String),
    /// The connection closed first.
    Disconnected(String),
    /// The client answered with an error.
    Client(String),
    /// The arguments did not serialize.
    Encode(String),
    /// The connection is on another node, and the answer could not come back: the backplane
    /// failed or the node that holds the connection is gone.
    Unreachable(String),
}

impl std::fmt::Display for ClientResultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientResultError::NoConnection(id) => write!(f, "Connection '{id}' does not exist."),
            ClientResultError::Disconnected(id) => write!(f, "Connection '{id}' disconnected."),
            ClientResultError::Client(error)
            | ClientResultError::Encode(error)
            | ClientResultError::Unreachable(error) => f.write_str(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_rebuilds_from_names_and_bytes_on_another_node() {
        let sent = SerializedMessage::invocation(ProtocolSet::all(), "Hi", &("ann",)).unwrap();
        let carried: Vec<(&str, Bytes)> = sent
            .iter()
            .map(|(p, bytes)| (p.name(), bytes.clone()))
            .chain([("xml", Bytes::from_static(b"<no/>"))])
            .collect();
        let rebuilt = SerializedMessage::from_named(carried);
        assert_eq!(rebuilt, sent);
        assert_eq!(rebuilt.protocols(), ProtocolSet::all());
    }

    /// A JSON encoding must be UTF-8 (it goes out in WebSocket text frames): checked once as
    /// the message is made, so no recipient's socket checks it again.
    #[test]
    fn a_json_encoding_that_is_not_utf8_is_refused_once_for_every_recipient() {
        let not_utf8 = Bytes::from_static(b"{\"type\":1,\"target\":\"\xff\"}\x1e");
        let encoded = SerializedMessage::encode(ProtocolSet::all(), |_| Ok(not_utf8.clone()));
        assert_eq!(
            encoded.unwrap_err().to_string(),
            "failed to serialize a message: the json encoding is not UTF-8"
        );
        // MessagePack is binary: any bytes go.
        let only_binary = ProtocolSet::of([Protocol::MessagePack]);
        let encoded = SerializedMessage::encode(only_binary, |_| Ok(not_utf8.clone()));
        assert_eq!(encoded.unwrap().protocols(), only_binary);

        // What a backplane carried: the JSON encoding is dropped, the other kept.
        let carried = [
            ("json", not_utf8.clone()),
            ("messagepack", not_utf8.clone()),
        ];
        let rebuilt = SerializedMessage::from_named(carried);
        assert_eq!(rebuilt.protocols(), only_binary);
        let mut message =
            SerializedMessage::invocation(ProtocolSet::all(), "Hi", &("ann",)).unwrap();
        message.set(Protocol::Json, not_utf8);
        assert_eq!(message.get(Protocol::Json), None);
    }

    #[test]
    fn serde_writes_the_protocol_map_as_binary_values() {
        let mut message = SerializedMessage::default();
        message.set(Protocol::Json, Bytes::from_static(b"*"));
        message.set(Protocol::MessagePack, Bytes::from_static(b"*"));
        let packed = rmp_serde::to_vec(&message).unwrap();
        let mut expected = vec![0x82, 0xA4];
        expected.extend(b"json");
        expected.extend([0xC4, 0x01, 0x2A, 0xAB]);
        expected.extend(b"messagepack");
        expected.extend([0xC4, 0x01, 0x2A]);
        assert_eq!(packed, expected);
        let back: SerializedMessage = rmp_serde::from_slice(&packed).unwrap();
        assert_eq!(back, message);

        let target = Target::GroupExcept("g".into(), vec!["a".into()]);
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
    }

    #[test]
    fn completions_become_results_or_errors() {
        let null = ClientResult::from_outcome(Protocol::Json, &CompletionOutcome::Empty).unwrap();
        assert_eq!(null.raw().as_ref(), b"null");
        let error = ClientResult::from_outcome(Protocol::Json, &CompletionOutcome::error("no"));
        assert_eq!(error.unwrap_err(), ClientResultError::Client("no".into()));
    }
}
