#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/ from the examples of ../shared/PROTOCOL.md.

Run from anywhere: `python3 fuzz/make_corpus.py`. It rewrites only the seed files it names
(libFuzzer's own additions, which .gitignore keeps out of git, are left alone).

The message seeds are the client-to-server messages of PROTOCOL.md §2-3 in both encodings;
src/documents.rs reads the same files, so the scripted targets send them too. The scripted
targets (negotiate_and_transport_requests, stateful_reconnect) take a byte layout described
in src/script.rs: an operation byte, then that operation's fields.
"""

from pathlib import Path

RS = b"\x1e"
CORPUS = Path(__file__).resolve().parent / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# §2.1: the handshake, always JSON and RS, whichever protocol follows.
HANDSHAKES = {
    "json_v1": b'{"protocol":"json","version":1}' + RS,
    "messagepack_v1": b'{"protocol":"messagepack","version":1}' + RS,
    "json_v2": b'{"protocol":"json","version":2}' + RS,
    "messagepack_v2": b'{"protocol":"messagepack","version":2}' + RS,
}

# §3.1 and §2.2: one client message of each type, in JSON; targets name FuzzHub's methods.
JSON = {
    "invocation": b'{"type":1,"invocationId":"3","target":"Echo","arguments":["hi"]}',
    "invocation_two_args": b'{"type":1,"invocationId":"4","target":"Add","arguments":[40,2]}',
    "invocation_order": b'{"type":1,"invocationId":"5","target":"EchoOrder","arguments":'
    b'[{"id":7,"lines":[["tea",2.5]],"note":null,"blob":[0,255],"at":"2023-11-14T22:13:20.123Z"}]}',
    "invocation_non_blocking": b'{"type":1,"target":"Broadcast","arguments":["hi"]}',
    "invocation_upload": b'{"type":1,"invocationId":"0","target":"Collect","arguments":[],"streamIds":["1"]}',
    "stream_item": b'{"type":2,"invocationId":"1","item":"x"}',
    "completion_stream_end": b'{"type":3,"invocationId":"1"}',
    "completion_result": b'{"type":3,"invocationId":"s0","result":true}',
    "completion_error": b'{"type":3,"invocationId":"s0","error":"Client didn\'t provide a result."}',
    "stream_invocation": b'{"type":4,"invocationId":"2","target":"Count","arguments":[3]}',
    "cancel_invocation": b'{"type":5,"invocationId":"2"}',
    "ping": b'{"type":6}',
    "close": b'{"type":7}',
    "close_error": b'{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
    "ack": b'{"type":8,"sequenceId":3}',
    "sequence": b'{"type":9,"sequenceId":1}',
    "ask": b'{"type":1,"invocationId":"6","target":"Ask","arguments":[]}',
    "join": b'{"type":1,"invocationId":"7","target":"Join","arguments":["g"]}',
}


def msgpack_str(text):
    data = text.encode()
    assert len(data) < 32
    return bytes([0xA0 | len(data)]) + data


def varint(length):
    """§3.2: little-endian groups of 7 bits, high bit set while more follow."""
    out = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def framed(body):
    return varint(len(body)) + body


S = msgpack_str
NIL, EMPTY_MAP = b"\xc0", b"\x80"

# §3.2: the same messages in MessagePack, each with its VarInt length prefix.
MESSAGEPACK = {
    "invocation": b"\x95\x01" + EMPTY_MAP + S("3") + S("Echo") + b"\x91" + S("hi"),
    "invocation_two_args": b"\x95\x01" + EMPTY_MAP + S("4") + S("Add") + b"\x92\x28\x02",
    "invocation_six_elements": b"\x96\x01\x81" + S("k") + S("v") + NIL + S("Broadcast") + b"\x91"
    + S("hi") + b"\x90",
    "invocation_upload": b"\x96\x01" + EMPTY_MAP + S("0") + S("Collect") + b"\x90\x91" + S("1"),
    "invocation_binary": b"\x95\x01" + EMPTY_MAP + S("8") + S("Echo") + b"\x91\xc4\x03\x00\xff\x1e",
    "invocation_timestamp": b"\x95\x01" + EMPTY_MAP + S("9") + S("Echo") + b"\x91\xd6\xff\x65\x53\xf1\x00",
    "stream_item": b"\x94\x02" + EMPTY_MAP + S("1") + S("x"),
    "completion_void": b"\x94\x03" + EMPTY_MAP + S("1") + b"\x02",
    "completion_result": b"\x95\x03" + EMPTY_MAP + S("s0") + b"\x03\xc3",
    "completion_error": b"\x95\x03" + EMPTY_MAP + S("s0") + b"\x01" + S("no"),
    "stream_invocation": b"\x95\x04" + EMPTY_MAP + S("2") + S("Count") + b"\x91\x03",
    "cancel_invocation": b"\x93\x05" + EMPTY_MAP + S("2"),
    "ping": b"\x91\x06",
    "close_js": b"\x92\x07" + NIL,
    "close_dotnet": b"\x93\x07" + S("e") + b"\xc3",
    "ack": b"\x92\x08\x03",
    "sequence": b"\x92\x09\xcc\xc8",
    "ask": b"\x95\x01" + EMPTY_MAP + S("6") + S("Ask") + b"\x90",
}


def main():
    for name, data in HANDSHAKES.items():
        write("handshake", name, data)
    write("handshake", "with_first_message", HANDSHAKES["json_v1"] + JSON["ping"] + RS)
    write("handshake", "unknown_protocol", b'{"version":1,"protocol":"xml","extra":[1]}' + RS)

    for name, data in JSON.items():
        write("json_messages", name, data + RS)
    write("json_messages", "batch", b"".join(JSON[k] + RS for k in ("invocation", "ping", "close")))

    for name, body in MESSAGEPACK.items():
        write("messagepack_messages", name, framed(body))
    write("messagepack_messages", "batch",
          b"".join(framed(MESSAGEPACK[k]) for k in ("invocation", "ping", "close_js")))
    # §3.2's worked example: a 300-byte body has the prefix AC 02.
    head = b"\x95\x01" + EMPTY_MAP + S("3") + S("Echo") + b"\x91"
    text_length = 300 - len(head) - 3
    long_body = head + b"\xda" + text_length.to_bytes(2, "big") + b"p" * text_length
    assert len(long_body) == 300 and framed(long_body)[:2] == b"\xac\x02"
    write("messagepack_messages", "prefix_two_bytes", framed(long_body))

    for name in ("ack", "sequence"):
        write("sequence_messages", f"json_{name}", JSON[name] + RS)
        write("sequence_messages", f"messagepack_{name}", framed(MESSAGEPACK[name]))

    write_scripts()
    write_tokens()
    write_websocket_frames()


def client_frame(opcode, payload, fin=True, mask=b"\x37\xfa\x21\x3d"):
    """A masked client WebSocket frame (RFC 6455 §5.2) in the shortest length form."""
    n = len(payload)
    if n < 126:
        length = bytes([0x80 | n])
    elif n < 65536:
        length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode]) + length + mask + masked


def write_websocket_frames():
    """websocket_frames: a prefix (the default limit, two read sizes, raw bytes) and frames."""
    prefix = bytes([1, 1, 0, 5, 0, 7, 0])
    text, binary, continuation, close, ping, pong = 1, 2, 0, 8, 9, 10
    write("websocket_frames", "messages_and_close", prefix + client_frame(text, b"hello")
          + client_frame(binary, bytes(range(200))) + client_frame(ping, b"p")
          + client_frame(close, b"\x03\xe8bye"))
    write("websocket_frames", "fragmented_text", prefix
          + client_frame(text, "κό".encode()[:3], fin=False) + client_frame(pong, b"")
          + client_frame(continuation, "κόσμε".encode()[3:]))


def write_tokens():
    """jwt_bearer: header JSON, 0xFF, claims JSON (the target signs them), or a token as is."""
    header = b'{"alg":"HS256","typ":"JWT"}'
    claims = (b'{"sub":"ann","name":"Ann","iss":"hubs","aud":"fuzz","exp":4102444800,'
              b'"nbf":0,"groups":["ops","dev"],"role":"admin"}')
    write("jwt_bearer", "signed", header + b"\xff" + claims)
    write("jwt_bearer", "signed_with_key_id",
          b'{"alg":"HS256","kid":"next"}\xff{"sub":"bo","iss":"hubs","aud":["fuzz","x"],"exp":4102444800}')
    write("jwt_bearer", "expired", header + b'\xff{"sub":"ann","iss":"hubs","aud":"fuzz","exp":1}')
    write("jwt_bearer", "unsigned_text", b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbm4ifQ.")


# The scripted targets' operations (src/script.rs and each target's Op list).
def doc(index):
    """A message chosen from documents.rs's list (selector below 0xC0)."""
    return bytes([index])


def raw(data):
    """A raw byte string: selector 0xC0, one length byte, the bytes (below 255 bytes)."""
    assert len(data) < 255
    return b"\xc0" + bytes([len(data)]) + data


def text(data):
    """A length-prefixed string field."""
    assert len(data) < 255
    return bytes([len(data)]) + data


def query(data):
    """A negotiate query of one's own (selector 0xC0); lower selectors pick a listed one."""
    return b"\xc0" + text(data)


# negotiate_and_transport_requests: op, then fields (see the target's comments).
NEGOTIATE, POST, POLL, OPEN_EVENTS, READ_EVENTS, CLOSE_EVENTS, DELETE, RAW_REQUEST, ADVANCE, \
    WEBSOCKET_GET = range(10)
HUB, SMALL = 0, 1
LATEST_TOKEN, LATEST_ID, MISSING_ID = 0, 1, 3
DOC_HANDSHAKE_JSON, DOC_JSON_INVOCATION = 0, 4  # indices into documents::ALL


def write_scripts():
    target = "negotiate_and_transport_requests"
    v1 = bytes([0])  # documents::NEGOTIATE_QUERIES[0], "negotiateVersion=1"
    handshake_then_echo = raw(HANDSHAKES["json_v1"] + JSON["invocation"] + RS)
    write(target, "long_polling_echo",
          bytes([NEGOTIATE, HUB]) + v1
          + bytes([POLL, HUB, LATEST_TOKEN])
          + bytes([POST, HUB, LATEST_TOKEN]) + handshake_then_echo
          + bytes([POLL, HUB, LATEST_TOKEN, POLL, HUB, LATEST_TOKEN, DELETE, HUB, LATEST_TOKEN]))
    write(target, "server_sent_events_echo",
          bytes([NEGOTIATE, HUB]) + v1
          + bytes([OPEN_EVENTS, HUB, LATEST_TOKEN])
          + bytes([POST, HUB, LATEST_TOKEN]) + handshake_then_echo
          + bytes([READ_EVENTS, 0, CLOSE_EVENTS, 0]))
    write(target, "negotiate_version_0_stateful",
          bytes([NEGOTIATE, HUB]) + query(b"useStatefulReconnect=true")
          + bytes([POST, HUB, LATEST_ID]) + raw(HANDSHAKES["json_v1"])
          + bytes([POLL, HUB, LATEST_TOKEN]))
    write(target, "negotiate_errors",
          bytes([NEGOTIATE, HUB]) + query(b"negotiateVersion=abc")
          + bytes([NEGOTIATE, SMALL]) + query(b"NEGOTIATEVERSION=-1")
          + bytes([POST, SMALL, MISSING_ID]) + raw(b"x"))
    write(target, "small_limits",
          bytes([NEGOTIATE, SMALL]) + v1
          + bytes([POLL, SMALL, LATEST_TOKEN])
          + bytes([POST, SMALL, LATEST_TOKEN])
          + raw(HANDSHAKES["json_v1"] + b'{"type":1,"target":"Echo","arguments":["' + b"x" * 80 + b'"]}' + RS)
          + bytes([ADVANCE, 3, POLL, SMALL, LATEST_TOKEN]))

    target = "stateful_reconnect"
    CONNECT, SEND, SEND_ACK, SEND_SEQUENCE, READ, DROP, RECONNECT, CLOSE, WAIT, INVOKE = range(10)
    write(target, "drop_and_resume_json",
          bytes([CONNECT, 0, INVOKE]) + text(b"hi") + bytes([READ, DROP, RECONNECT, READ,
                                                             SEND_ACK, 1, SEND_SEQUENCE, 1, INVOKE])
          + text(b"again") + bytes([READ, WAIT, 12, READ, CLOSE]))
    write(target, "drop_and_resume_messagepack",
          bytes([CONNECT, 1, INVOKE]) + text(b"hi") + bytes([DROP, WAIT, 5, RECONNECT, READ,
                                                             SEND_SEQUENCE, 9, READ]))
    write(target, "resume_too_late",
          bytes([CONNECT, 0, INVOKE]) + text(b"hi") + bytes([DROP, WAIT, 80, RECONNECT, READ]))
    write(target, "document_messages",
          bytes([CONNECT, 0, SEND]) + doc(DOC_JSON_INVOCATION)
          + bytes([SEND]) + raw(JSON["ack"] + RS) + bytes([READ, DROP, RECONNECT, READ]))


if __name__ == "__main__":
    main()
