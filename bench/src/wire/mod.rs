//! What the generator sends and reads, built once and patched in place.
//!
//! Every measured message carries a *stamp*: the marker `~@` and 16 lowercase hex digits, the
//! generator's clock in nanoseconds when it was sent. The stamp sits inside a string argument,
//! so every protocol (raw WebSocket, SignalR JSON and MessagePack, Socket.IO) carries it as
//! the same bytes and the server echoes or broadcasts it unchanged. Replies are never
//! parsed: the generator finds stamps with a substring search. Client frames use the mask key
//! `00 00 00 00` (any key is valid), so a pre-built frame's payload is its plain bytes and a
//! stamp is patched straight into it.

use std::io::Write as _;
use std::sync::LazyLock;

use memchr::memmem;

/// The two bytes that start a stamp.
pub const MARK: &[u8; 2] = b"~@";
/// Bytes of a stamp: the marker and 16 hex digits.
pub const STAMP_LEN: usize = 18;

/// WebSocket opcodes.
pub mod opcode {
    /// A continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0;
    /// A text frame.
    pub const TEXT: u8 = 1;
    /// A binary frame.
    pub const BINARY: u8 = 2;
    /// A close frame.
    pub const CLOSE: u8 = 8;
    /// A ping frame.
    pub const PING: u8 = 9;
    /// A pong frame.
    pub const PONG: u8 = 10;
}

/// A payload string of `size` bytes (at least a stamp): a zero stamp, then `x` padding.
pub fn stamped_payload(size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(STAMP_LEN));
    p.extend_from_slice(MARK);
    p.extend_from_slice(b"0000000000000000");
    p.resize(size.max(STAMP_LEN), b'x');
    p
}

/// Writes `value` as 16 lowercase hex digits.
pub fn write_hex(out: &mut [u8], value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in out[..16].iter_mut().enumerate() {
        *b = DIGITS[((value >> ((15 - i) * 4)) & 0xf) as usize];
    }
}

fn read_hex(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &d in digits.get(..16)? {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        value = value << 4 | u64::from(v);
    }
    Some(value)
}

/// Calls `found` with every stamp in `data`, in order.
pub fn for_each_stamp(data: &[u8], mut found: impl FnMut(u64)) {
    // Built once: choosing a search strategy costs more than searching a small frame.
    static FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(MARK));
    let mut at = 0;
    while let Some(i) = FINDER.find(&data[at..]) {
        let start = at + i + MARK.len();
        match read_hex(&data[start..]) {
            Some(value) => {
                found(value);
                at = start + 16;
            }
            None => at = start,
        }
    }
}

/// A whole client frame (header, zero mask key, payload) of `opcode`.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        f.push(0x80 | len as u8);
    } else if len <= 0xffff {
        f.push(0x80 | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// A pre-built frame with one stamp to patch before each send.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Vec<u8>,
    digits_at: usize,
}

impl Template {
    /// A template of a whole frame; its first stamp is the one patched.
    ///
    /// # Panics
    /// When `frame` holds no stamp.
    pub fn new(frame: Vec<u8>) -> Self {
        let at = memmem::find(&frame, MARK).expect("a template holds a stamp");
        Self {
            bytes: frame,
            digits_at: at + MARK.len(),
        }
    }

    /// The frame carrying `stamp`.
    pub fn stamp(&mut self, stamp: u64) -> &[u8] {
        write_hex(&mut self.bytes[self.digits_at..], stamp);
        &self.bytes
    }

    /// The frame as last stamped.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One frame read from a server: its opcode and payload.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The opcode (see [`opcode`]).
    pub opcode: u8,
    /// The unmasked payload.
    pub payload: &'a [u8],
}

/// Why the bytes from a server cannot be read as WebSocket frames.
#[derive(Debug)]
pub struct FrameError(pub &'static str);

/// The payload length a frame header declares and the bytes of the header before the mask
/// key (if any); `None` while `data` is too short to tell.
pub fn payload_length(data: &[u8]) -> Option<(usize, usize)> {
    match *data.get(1)? & 0x7f {
        126 => Some((
            u16::from_be_bytes(data.get(2..4)?.try_into().ok()?) as usize,
            4,
        )),
        127 => Some((
            u64::from_be_bytes(data.get(2..10)?.try_into().ok()?) as usize,
            10,
        )),
        n => Some((n as usize, 2)),
    }
}

/// Reads the server frame at the start of `data`: the frame and the bytes it used, or `None`
/// when `data` does not hold a whole frame yet.
pub fn parse_frame(data: &[u8]) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    if data.len() < 2 {
        return Ok(None);
    }
    let opcode = data[0] & 0x0f;
    if data[1] & 0x80 != 0 {
        return Err(FrameError("a server frame is masked"));
    }
    let Some((len, header)) = payload_length(data) else {
        return Ok(None);
    };
    if data.len() < header + len {
        return Ok(None);
    }
    Ok(Some((
        Frame {
            opcode,
            payload: &data[header..header + len],
        },
        header + len,
    )))
}

/// The hub protocol a SignalR connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubProtocol {
    /// `json`: text frames, messages end with 0x1e.
    Json,
    /// `messagepack`: binary frames, messages start with a varint length.
    MessagePack,
}

/// An argument of an invocation the generator sends.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// A string of plain ASCII (no JSON escapes needed).
    Str(&'a [u8]),
    /// A non-negative integer.
    Int(u64),
}

impl HubProtocol {
    /// The handshake name.
    pub fn name(self) -> &'static str {
        match self {
            HubProtocol::Json => "json",
            HubProtocol::MessagePack => "messagepack",
        }
    }

    /// The frame opcode of this protocol's messages.
    pub fn opcode(self) -> u8 {
        match self {
            HubProtocol::Json => opcode::TEXT,
            HubProtocol::MessagePack => opcode::BINARY,
        }
    }

    /// The handshake request frame (always JSON text): version 1, or 2 for stateful reconnect.
    pub fn handshake_frame(self, version: u8) -> Vec<u8> {
        let text = format!(
            "{{\"protocol\":\"{}\",\"version\":{version}}}\x1e",
            self.name()
        );
        client_frame(opcode::TEXT, text.as_bytes())
    }

    /// Appends an Ack frame to `out` (stateful reconnect: the client has every counted
    /// message up to `id`): written where the caller's buffer has room, as the generator's
    /// hot path requires.
    pub fn write_ack(self, id: u64, out: &mut Vec<u8>) {
        let start = out.len();
        // FIN and the opcode, the mask bit and a length patched below, the zero mask key.
        out.extend_from_slice(&[0x80 | self.opcode(), 0x80, 0, 0, 0, 0]);
        let message = out.len();
        match self {
            HubProtocol::Json => {
                write!(out, "{{\"type\":8,\"sequenceId\":{id}}}\x1e").expect("a Vec takes it");
            }
            HubProtocol::MessagePack => {
                // [8, id] after its varint length, one byte: the array is at most 11.
                out.extend_from_slice(&[0, 0x92, 0x08]);
                msgpack_uint(out, id);
                out[message] = (out.len() - message - 1) as u8;
            }
        }
        // Every Ack is under 126 bytes: the short length form.
        out[start + 1] |= (out.len() - message) as u8;
    }

    /// A Ping message frame.
    pub fn ping_frame(self) -> Vec<u8> {
        match self {
            HubProtocol::Json => client_frame(opcode::TEXT, b"{\"type\":6}\x1e"),
            HubProtocol::MessagePack => client_frame(opcode::BINARY, &[0x02, 0x91, 0x06]),
        }
    }

    /// An Invocation frame of `target` with `args`; with an invocation id the server answers
    /// with a Completion.
    pub fn invocation_frame(
        self,
        invocation_id: Option<&str>,
        target: &str,
        args: &[Arg<'_>],
    ) -> Vec<u8> {
        let message = match self {
            HubProtocol::Json => json_invocation(invocation_id, target, args),
            HubProtocol::MessagePack => msgpack_invocation(invocation_id, target, args),
        };
        client_frame(self.opcode(), &message)
    }
}

fn json_invocation(invocation_id: Option<&str>, target: &str, args: &[Arg<'_>]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"{\"type\":1,");
    if let Some(id) = invocation_id {
        m.extend_from_slice(format!("\"invocationId\":\"{id}\",").as_bytes());
    }
    m.extend_from_slice(format!("\"target\":\"{target}\",\"arguments\":[").as_bytes());
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            m.push(b',');
        }
        json_arg(&mut m, arg);
    }
    m.extend_from_slice(b"]}\x1e");
    m
}

/// One argument as JSON; strings must need no escapes.
fn json_arg(out: &mut Vec<u8>, arg: &Arg<'_>) {
    match arg {
        Arg::Str(s) => {
            out.push(b'"');
            out.extend_from_slice(s);
            out.push(b'"');
        }
        Arg::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
    }
}

fn msgpack_str(out: &mut Vec<u8>, s: &[u8]) {
    match s.len() {
        n if n < 32 => out.push(0xa0 | n as u8),
        n if n < 256 => out.extend_from_slice(&[0xd9, n as u8]),
        n if n < 65536 => {
            out.push(0xda);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0xdb);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s);
}

fn msgpack_uint(out: &mut Vec<u8>, n: u64) {
    match n {
        n if n < 128 => out.push(n as u8),
        n if n <= u64::from(u32::MAX) => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        n => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// The varint length prefix of the MessagePack hub protocol.
pub fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn msgpack_invocation(invocation_id: Option<&str>, target: &str, args: &[Arg<'_>]) -> Vec<u8> {
    // [1, headers, invocationId, target, [arguments], [streamIds]]
    let mut body = vec![0x96, 0x01, 0x80];
    match invocation_id {
        Some(id) => msgpack_str(&mut body, id.as_bytes()),
        None => body.push(0xc0),
    }
    msgpack_str(&mut body, target.as_bytes());
    assert!(args.len() < 16, "fixarray of arguments");
    body.push(0x90 | args.len() as u8);
    for arg in args {
        match arg {
            Arg::Str(s) => msgpack_str(&mut body, s),
            Arg::Int(n) => msgpack_uint(&mut body, *n),
        }
    }
    body.push(0x90);
    let mut m = Vec::with_capacity(body.len() + 5);
    varint(&mut m, body.len());
    m.extend_from_slice(&body);
    m
}

/// Socket.IO (protocol 5 over Engine.IO 4) packets, as text frames.
pub mod socketio {
    use super::{Arg, client_frame, opcode};

    /// An event packet `42[<ack id>]["event", args...]`; string arguments must need no JSON
    /// escapes.
    pub fn event_frame(ack_id: Option<u64>, event: &str, args: &[Arg<'_>]) -> Vec<u8> {
        let mut m = b"42".to_vec();
        if let Some(id) = ack_id {
            m.extend_from_slice(id.to_string().as_bytes());
        }
        m.extend_from_slice(format!("[\"{event}\"").as_bytes());
        for arg in args {
            m.push(b',');
            super::json_arg(&mut m, arg);
        }
        m.push(b']');
        client_frame(opcode::TEXT, &m)
    }

    /// The Engine.IO pong answering the server's ping (`2`): a masked text frame `3`.
    pub const PONG: &[u8] = &[0x80 | opcode::TEXT, 0x81, 0, 0, 0, 0, b'3'];

    /// Connecting to the default namespace.
    pub fn connect_frame() -> Vec<u8> {
        client_frame(opcode::TEXT, b"40")
    }
}

#[cfg(test)]
mod tests;
