//! A WebSocket client that writes any frame, valid or not, byte by byte, and reads the
//! server's frames exactly as they arrive on the wire.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any one expected frame or event may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// Opcode of a continuation frame (RFC 6455 §5.2).
pub(crate) const CONTINUATION: u8 = 0x0;
/// Opcode of a text frame.
pub(crate) const TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub(crate) const BINARY: u8 = 0x2;
/// Opcode of a Close frame.
pub(crate) const CLOSE: u8 = 0x8;
/// Opcode of a Ping frame.
pub(crate) const PING: u8 = 0x9;
/// Opcode of a Pong frame.
pub(crate) const PONG: u8 = 0xA;

/// The key a client frame is masked with unless a test says otherwise: not zero, so a server
/// that forgot to unmask would echo garbage.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame as a client sends it, built field by field.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

impl Frame {
    /// A final, masked frame of `opcode`.
    pub(crate) fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(MASK),
            payload: payload.into(),
        }
    }

    /// A text frame.
    pub(crate) fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(TEXT, payload)
    }

    /// An invocation of the hub's `echo` with `text`, in the JSON protocol.
    pub(crate) fn echo_call(id: &str, text: &str) -> Self {
        let call = serde_json::json!({"type": 1, "invocationId": id, "target": "echo", "arguments": [text]});
        Self::text(format!("{call}\x1e"))
    }

    /// A binary frame.
    pub(crate) fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(BINARY, payload)
    }

    /// A continuation frame.
    pub(crate) fn continuation(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(CONTINUATION, payload)
    }

    /// A Ping frame.
    pub(crate) fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(PING, payload)
    }

    /// A Close frame with a status code and reason.
    pub(crate) fn close(code: u16, reason: &[u8]) -> Self {
        Self::new(CLOSE, [&code.to_be_bytes()[..], reason].concat())
    }

    /// The same frame with FIN clear: more fragments follow.
    pub(crate) fn more(mut self) -> Self {
        self.fin = false;
        self
    }

    /// The same frame with reserved bits set (`0b100` is RSV1, `0b001` RSV3).
    pub(crate) fn rsv(mut self, bits: u8) -> Self {
        self.rsv = bits;
        self
    }

    /// The same frame without a mask, as only a server may send it.
    pub(crate) fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }

    /// The frame on the wire, its length in the shortest form (§5.2).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 14);
        out.push(u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | self.opcode);
        let masked = u8::from(self.mask.is_some()) << 7;
        out.extend(header_length(masked, self.payload.len() as u64));
        match self.mask {
            Some(key) => {
                out.extend(key);
                let masked = self.payload.iter().enumerate();
                out.extend(masked.map(|(i, byte)| byte ^ key[i % 4]));
            }
            None => out.extend(&self.payload),
        }
        out
    }
}

/// The second header byte (`first` holds the mask bit) and the extended length, if any.
pub(crate) fn header_length(first: u8, length: u64) -> Vec<u8> {
    match length {
        0..=125 => vec![first | length as u8],
        126..=0xffff => [&[first | 126][..], &(length as u16).to_be_bytes()].concat(),
        _ => [&[first | 127][..], &length.to_be_bytes()].concat(),
    }
}

/// A frame the server sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// Whether this is the last frame of its message.
    pub(crate) fin: bool,
    /// The opcode.
    pub(crate) opcode: u8,
    /// The payload (server frames are not masked).
    pub(crate) payload: Vec<u8>,
}

impl Received {
    /// The status code of a Close frame (`None` for an empty one).
    pub(crate) fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, CLOSE, "a Close frame: {self:?}");
        let code = self.payload.get(..2)?;
        Some(u16::from_be_bytes([code[0], code[1]]))
    }
}

/// One TCP connection upgraded to a WebSocket.
pub(crate) struct RawSocket {
    stream: TcpStream,
    read: Vec<u8>,
}

/// The opening handshake of RFC 6455's §1.3 example key, plus `extra` header lines.
pub(crate) fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

impl RawSocket {
    /// Sends `request` and returns the response head and the socket.
    pub(crate) async fn request(address: SocketAddr, request: &str) -> (String, RawSocket) {
        Self::request_bytes(address, request.as_bytes()).await
    }

    /// Sends `request` (which may carry frames after its head) and returns the response head
    /// and the socket.
    pub(crate) async fn request_bytes(address: SocketAddr, request: &[u8]) -> (String, RawSocket) {
        let stream = TcpStream::connect(address).await.unwrap();
        Self::request_on(stream, request).await
    }

    async fn request_on(mut stream: TcpStream, request: &[u8]) -> (String, RawSocket) {
        stream.set_nodelay(true).unwrap();
        stream.write_all(request).await.unwrap();
        let mut socket = RawSocket {
            stream,
            read: Vec::new(),
        };
        let head = loop {
            if let Some(end) = socket.read.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = socket.read.drain(..end + 4).collect();
                break String::from_utf8(head).unwrap();
            }
            assert!(socket.fill().await > 0, "no response to the upgrade");
        };
        (head, socket)
    }

    /// Opens a WebSocket on `path`.
    pub(crate) async fn open(address: SocketAddr, path: &str) -> RawSocket {
        let request = upgrade_request(path, "Sec-WebSocket-Version: 13\r\n");
        let (head, socket) = Self::request(address, &request).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        socket
    }

    /// Opens a WebSocket on `path` from a socket that takes at most about `bytes` before its
    /// reader reads (the kernel's receive buffer, otherwise tuned up to tens of megabytes):
    /// the server's writes then block soon after the client stops reading.
    pub(crate) async fn open_with_receive_buffer(
        address: SocketAddr,
        path: &str,
        bytes: u32,
    ) -> RawSocket {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let stream = socket.connect(address).await.unwrap();
        let request = upgrade_request(path, "Sec-WebSocket-Version: 13\r\n");
        let (head, socket) = Self::request_on(stream, request.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        socket
    }

    /// Opens a hub connection on `path` and completes the JSON hub handshake.
    pub(crate) async fn open_hub(address: SocketAddr, path: &str) -> RawSocket {
        Self::open(address, path).await.hub_handshake(1).await
    }

    /// Negotiates stateful reconnect on the hub at `path`, then opens its WebSocket and
    /// completes the version-2 JSON hub handshake.
    pub(crate) async fn open_stateful_hub(address: SocketAddr, path: &str) -> RawSocket {
        let path = Self::negotiate_stateful(address, path).await;
        Self::open(address, &path).await.hub_handshake(2).await
    }

    /// Negotiates stateful reconnect on the hub at `path`: the path (with the connection
    /// token) of the connection's first socket and of any that resume it.
    pub(crate) async fn negotiate_stateful(address: SocketAddr, path: &str) -> String {
        let query = "negotiateVersion=1&useStatefulReconnect=true";
        let response = crate::support::post(address, &format!("{path}/negotiate?{query}")).await;
        let body = &response[response.find("\r\n\r\n").expect("a whole response") + 4..];
        let negotiated: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(negotiated["useStatefulReconnect"], true, "{body}");
        let token = negotiated["connectionToken"].as_str().unwrap();
        format!("{path}?id={token}")
    }

    /// The JSON hub protocol's handshake at `version`, answered with success.
    pub(crate) async fn hub_handshake(mut self, version: u8) -> RawSocket {
        let request = format!("{{\"protocol\":\"json\",\"version\":{version}}}\x1e");
        self.send(Frame::text(request)).await;
        self.expect(TEXT, b"{}\x1e").await;
        self
    }

    /// Writes `frame`.
    pub(crate) async fn send(&mut self, frame: Frame) {
        self.send_bytes(&frame.encode()).await;
    }

    /// Writes several frames in one write.
    pub(crate) async fn send_all(&mut self, frames: impl IntoIterator<Item = Frame>) {
        let bytes: Vec<u8> = frames.into_iter().flat_map(|f| f.encode()).collect();
        self.send_bytes(&bytes).await;
    }

    /// The TCP stream, for a client that writes from one task and reads from another.
    pub(crate) fn into_stream(self) -> TcpStream {
        assert!(self.read.is_empty(), "nothing read is left behind");
        self.stream
    }

    /// Writes raw bytes.
    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Ends the sending direction of TCP (a FIN) without a Close frame, still reading.
    pub(crate) async fn end_tcp_without_close(&mut self) {
        self.stream.shutdown().await.unwrap();
    }

    /// Writes `frame` in pieces of `chunk` bytes, each its own write.
    pub(crate) async fn send_in_chunks(&mut self, frame: Frame, chunk: usize) {
        for piece in frame.encode().chunks(chunk) {
            self.send_bytes(piece).await;
            self.stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
    }

    /// Reads more bytes; 0 when the server closed TCP (a reset counts as closed).
    async fn fill(&mut self) -> usize {
        let read = tokio::time::timeout(PATIENCE, self.stream.read_buf(&mut self.read));
        match read.await.expect("the server answers within 5 s") {
            Ok(n) => n,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(error) => panic!("reading the socket: {error}"),
        }
    }

    /// The next frame, or `None` when the server closed TCP. Checks what every server frame
    /// must be: unmasked, no reserved bits, the shortest length form.
    pub(crate) async fn next(&mut self) -> Option<Received> {
        loop {
            if let Some((frame, used)) = parse(&self.read) {
                self.read.drain(..used);
                return Some(frame);
            }
            if self.fill().await == 0 {
                assert!(self.read.is_empty(), "TCP closed inside a frame");
                return None;
            }
        }
    }

    /// The hub messages (JSON protocol) of the next frame, which must be text.
    pub(crate) async fn next_hub_messages(&mut self) -> Vec<serde_json::Value> {
        let frame = self.next().await.expect("a frame, not the end of TCP");
        assert_eq!((frame.fin, frame.opcode), (true, TEXT), "{frame:?}");
        let text = String::from_utf8(frame.payload).unwrap();
        text.split_terminator('\x1e')
            .map(|message| serde_json::from_str(message).unwrap())
            .collect()
    }

    /// The next frame, which must be `opcode` with `payload`.
    pub(crate) async fn expect(&mut self, opcode: u8, payload: &[u8]) {
        let frame = self.next().await.expect("a frame, not the end of TCP");
        assert_eq!(
            (frame.fin, frame.opcode, frame.payload.len()),
            (true, opcode, payload.len()),
            "{frame:?}"
        );
        assert!(frame.payload == payload, "payload differs");
    }

    /// The server closes: a Close frame with `code`, then TCP ends; nothing else comes.
    pub(crate) async fn expect_close(&mut self, code: u16) -> Received {
        self.expect_close_of(&[Some(code)]).await
    }

    /// The server answers the client's Close (with `sent`, its code if any) as §5.5.1 asks:
    /// a Close echoing that code, or 1000, or an empty one for an empty one; then TCP ends.
    pub(crate) async fn expect_close_reply(&mut self, sent: Option<u16>) -> Received {
        self.expect_close_of(&[sent, Some(1000)]).await
    }

    /// A Close frame whose code (`None`: no code) is one of `codes`, then the end of TCP.
    async fn expect_close_of(&mut self, codes: &[Option<u16>]) -> Received {
        let frame = self
            .next()
            .await
            .expect("a Close frame, not the end of TCP");
        assert_eq!(frame.opcode, CLOSE, "a Close frame: {frame:?}");
        let code = frame.close_code();
        assert!(
            codes.contains(&code),
            "close code {code:?}, expected one of {codes:?}"
        );
        self.expect_tcp_end().await;
        frame
    }

    /// The server closes TCP without sending anything more.
    pub(crate) async fn expect_tcp_end(&mut self) {
        assert_eq!(self.next().await, None, "nothing after the Close frame");
    }

    /// Nothing arrives for `wait` (the connection stays open and quiet).
    pub(crate) async fn expect_quiet(&mut self, wait: Duration) {
        let read = tokio::time::timeout(wait, self.stream.read_buf(&mut self.read)).await;
        assert!(read.is_err(), "the server sent {:?}", &self.read);
    }
}

/// The server frame at the start of `data` and its length, if it is all there.
pub(crate) fn parse(data: &[u8]) -> Option<(Received, usize)> {
    let (&first, &second) = (data.first()?, data.get(1)?);
    assert_eq!(first & 0x70, 0, "a server frame with reserved bits set");
    assert_eq!(second & 0x80, 0, "a masked server frame");
    let (length, header) = match second & 0x7f {
        126 => (
            u16::from_be_bytes(data.get(2..4)?.try_into().ok()?) as u64,
            4,
        ),
        127 => (u64::from_be_bytes(data.get(2..10)?.try_into().ok()?), 10),
        short => (u64::from(short), 2),
    };
    assert_eq!(
        header_length(0, length).len() + 1,
        header,
        "the server used a longer length form than needed for {length} bytes"
    );
    let end = header + usize::try_from(length).ok()?;
    let payload = data.get(header..end)?.to_vec();
    let frame = Received {
        fin: first & 0x80 != 0,
        opcode: first & 0x0f,
        payload,
    };
    Some((frame, end))
}
