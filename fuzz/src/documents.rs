//! The protocol documents' messages (written to `corpus/` by `make_corpus.py`), which the
//! scripted targets can send by index, so even a short input reaches a whole exchange.

macro_rules! seeds {
    ($($dir:literal / $name:literal),* $(,)?) => {
        &[$(include_bytes!(concat!("../corpus/", $dir, "/", $name))),*]
    };
}

/// Handshakes first (json v1, messagepack v1, json v2, messagepack v2), then every JSON
/// message, then every MessagePack message. `make_corpus.py` refers to these indices.
pub const ALL: &[&[u8]] = seeds![
    "handshake" / "json_v1",
    "handshake" / "messagepack_v1",
    "handshake" / "json_v2",
    "handshake" / "messagepack_v2",
    "json_messages" / "invocation",
    "json_messages" / "invocation_two_args",
    "json_messages" / "invocation_order",
    "json_messages" / "invocation_non_blocking",
    "json_messages" / "invocation_upload",
    "json_messages" / "stream_item",
    "json_messages" / "completion_stream_end",
    "json_messages" / "completion_result",
    "json_messages" / "completion_error",
    "json_messages" / "stream_invocation",
    "json_messages" / "cancel_invocation",
    "json_messages" / "ping",
    "json_messages" / "close",
    "json_messages" / "close_error",
    "json_messages" / "ack",
    "json_messages" / "sequence",
    "json_messages" / "ask",
    "json_messages" / "join",
    "messagepack_messages" / "invocation",
    "messagepack_messages" / "invocation_two_args",
    "messagepack_messages" / "invocation_six_elements",
    "messagepack_messages" / "invocation_upload",
    "messagepack_messages" / "invocation_binary",
    "messagepack_messages" / "invocation_timestamp",
    "messagepack_messages" / "stream_item",
    "messagepack_messages" / "completion_void",
    "messagepack_messages" / "completion_result",
    "messagepack_messages" / "completion_error",
    "messagepack_messages" / "stream_invocation",
    "messagepack_messages" / "cancel_invocation",
    "messagepack_messages" / "ping",
    "messagepack_messages" / "close_js",
    "messagepack_messages" / "close_dotnet",
    "messagepack_messages" / "ack",
    "messagepack_messages" / "sequence",
    "messagepack_messages" / "ask",
];

/// Negotiate query strings the clients of PROTOCOL.md §1.2 send, and misuses of them.
pub const NEGOTIATE_QUERIES: &[&str] = &[
    "negotiateVersion=1",
    "negotiateVersion=1&useStatefulReconnect=true",
    "",
    "negotiateVersion=0",
    "NegotiateVersion=7",
    "negotiateVersion=abc",
    "negotiateVersion=-1",
    "negotiateVersion=1&negotiateVersion=0&user=ann",
];
