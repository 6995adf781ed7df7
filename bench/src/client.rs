//! One generator connection: TCP, the WebSocket upgrade, the protocol's own handshake, then
//! raw frames. Setup may allocate and parse; the hot path ([`Conn::read`], [`Conn::frames`],
//! [`Conn::queue`], [`Conn::flush`]) only moves bytes, into buffers it keeps: a connection in
//! steady state allocates nothing, and what one wake of a connection has to send (requests,
//! pongs) leaves in one write.

use std::io;
use std::net::SocketAddr;
use std::ops::ControlFlow;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::http::{HttpClient, read_head};
use crate::wire::{self, Arg, Frame, HubProtocol, opcode, parse_frame};

/// What a connection speaks on top of WebSockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Plain WebSocket messages, text or binary.
    Raw {
        /// Binary frames instead of text.
        binary: bool,
    },
    /// The SignalR hub protocol.
    SignalR {
        /// JSON or MessagePack.
        protocol: HubProtocol,
        /// POST `{path}/negotiate` first (version 1) instead of skipNegotiation.
        negotiate: bool,
        /// Negotiate stateful reconnect and handshake version 2 (implies `negotiate`); the
        /// server then counts its messages, and the client acknowledges them.
        stateful: bool,
    },
    /// Socket.IO 5 over Engine.IO 4, WebSocket transport only.
    SocketIo,
}

impl Flavor {
    /// Parses `raw`, `raw-binary`, `signalr-json`, `signalr-msgpack` (with a `+negotiate`
    /// suffix to negotiate, or `+stateful` to negotiate stateful reconnect) and `socketio`.
    pub fn parse(name: &str) -> Option<Flavor> {
        let (base, negotiate, stateful) = if let Some(base) = name.strip_suffix("+negotiate") {
            (base, true, false)
        } else if let Some(base) = name.strip_suffix("+stateful") {
            (base, true, true)
        } else {
            (name, false, false)
        };
        Some(match base {
            "raw" => Flavor::Raw { binary: false },
            "raw-binary" => Flavor::Raw { binary: true },
            "signalr-json" => Flavor::SignalR {
                protocol: HubProtocol::Json,
                negotiate,
                stateful,
            },
            "signalr-msgpack" => Flavor::SignalR {
                protocol: HubProtocol::MessagePack,
                negotiate,
                stateful,
            },
            "socketio" => Flavor::SocketIo,
            _ => return None,
        })
    }

    /// The frame opcode of data messages.
    pub fn opcode(self) -> u8 {
        match self {
            Flavor::Raw { binary: true } => opcode::BINARY,
            Flavor::Raw { binary: false } | Flavor::SocketIo => opcode::TEXT,
            Flavor::SignalR { protocol, .. } => protocol.opcode(),
        }
    }
}

/// The messages of each workload, as each flavor says them. Calls that expect an answer
/// (echo, joins) carry an invocation or ack id; the others are fire-and-forget.
impl Flavor {
    /// Echo `payload`: raw echo, SignalR `Echo` with a Completion, Socket.IO `echo` with an
    /// ack.
    pub fn echo_frame(self, payload: &[u8]) -> Vec<u8> {
        match self {
            Flavor::Raw { .. } => wire::client_frame(self.opcode(), payload),
            Flavor::SignalR { protocol, .. } => {
                protocol.invocation_frame(Some("1"), "Echo", &[Arg::Str(payload)])
            }
            Flavor::SocketIo => wire::socketio::event_frame(Some(1), "echo", &[Arg::Str(payload)]),
        }
    }

    /// Send `payload` to every connection.
    pub fn broadcast_frame(self, payload: &[u8]) -> Vec<u8> {
        match self {
            Flavor::Raw { .. } => wire::client_frame(self.opcode(), payload),
            Flavor::SignalR { protocol, .. } => {
                protocol.invocation_frame(None, "Broadcast", &[Arg::Str(payload)])
            }
            Flavor::SocketIo => {
                wire::socketio::event_frame(None, "broadcast", &[Arg::Str(payload)])
            }
        }
    }

    /// Send `payload` to the members of `group` (not for raw servers).
    pub fn group_send_frame(self, group: &str, payload: &[u8]) -> Vec<u8> {
        let args = [Arg::Str(group.as_bytes()), Arg::Str(payload)];
        match self {
            Flavor::Raw { .. } => panic!("raw servers have no groups"),
            Flavor::SignalR { protocol, .. } => {
                protocol.invocation_frame(None, "SendToGroup", &args)
            }
            Flavor::SocketIo => wire::socketio::event_frame(None, "toGroup", &args),
        }
    }

    /// Join `group`, answered once done (not for raw servers).
    pub fn join_frame(self, group: &str) -> Vec<u8> {
        let args = [Arg::Str(group.as_bytes())];
        match self {
            Flavor::Raw { .. } => panic!("raw servers have no groups"),
            Flavor::SignalR { protocol, .. } => {
                protocol.invocation_frame(Some("1"), "JoinGroup", &args)
            }
            Flavor::SocketIo => wire::socketio::event_frame(Some(1), "join", &args),
        }
    }

    /// Join groups `prefix0` .. `prefix{n-1}`, answered once done (not for raw servers).
    pub fn join_many_frame(self, prefix: &str, n: u64) -> Vec<u8> {
        let args = [Arg::Str(prefix.as_bytes()), Arg::Int(n)];
        match self {
            Flavor::Raw { .. } => panic!("raw servers have no groups"),
            Flavor::SignalR { protocol, .. } => {
                protocol.invocation_frame(Some("1"), "JoinGroups", &args)
            }
            Flavor::SocketIo => wire::socketio::event_frame(Some(1), "joinMany", &args),
        }
    }

    /// The client's keep-alive message, where the protocol has one the client sends.
    pub fn ping_frame(self) -> Option<Vec<u8>> {
        match self {
            Flavor::SignalR { protocol, .. } => Some(protocol.ping_frame()),
            Flavor::Raw { .. } | Flavor::SocketIo => None,
        }
    }

    /// Whether the server has groups.
    pub fn has_groups(self) -> bool {
        !matches!(self, Flavor::Raw { .. })
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The server.
    pub addr: SocketAddr,
    /// The WebSocket path (the hub path for SignalR; Socket.IO uses `/socket.io/`).
    pub path: String,
    /// The protocol on top.
    pub flavor: Flavor,
}

fn err(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}

/// An open connection past every handshake.
#[derive(Debug)]
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    /// What the next [`flush`](Self::flush) writes.
    out: Vec<u8>,
    socketio: bool,
    /// The server closed the connection (EOF or a Close frame).
    pub closed: bool,
}

impl Conn {
    fn new(stream: TcpStream, leftover: Vec<u8>, socketio: bool) -> Self {
        Self {
            stream,
            buf: leftover,
            pos: 0,
            out: Vec::new(),
            socketio,
            closed: false,
        }
    }

    /// Reads what the socket has (waiting for at least one byte); 0 at end of stream.
    pub async fn read(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 2048 {
            self.buf.reserve(4096);
        }
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            self.closed = true;
        }
        Ok(n)
    }

    /// Hands every whole data frame read so far to `each`. Engine.IO pings get their pong
    /// queued for the next [`flush`](Self::flush); Close frames mark the connection closed.
    pub fn frames(&mut self, mut each: impl FnMut(Frame<'_>)) -> io::Result<()> {
        self.scan(|frame| {
            each(frame);
            ControlFlow::Continue(())
        })
    }

    /// Hands data frames to `each` until it breaks or the whole frames run out; control
    /// frames and Engine.IO pings are noted on the way.
    fn scan(&mut self, mut each: impl FnMut(Frame<'_>) -> ControlFlow<()>) -> io::Result<()> {
        let mut pos = self.pos;
        loop {
            let parsed = parse_frame(&self.buf[pos..]).map_err(|e| err(e.0))?;
            let Some((frame, used)) = parsed else { break };
            pos += used;
            match frame.opcode {
                opcode::CLOSE => self.closed = true,
                opcode::PING | opcode::PONG => {}
                opcode::TEXT if self.socketio && frame.payload == b"2" => {
                    self.out.extend_from_slice(wire::socketio::PONG);
                }
                _ => {
                    if each(frame).is_break() {
                        break;
                    }
                }
            }
        }
        self.compact(pos);
        Ok(())
    }

    fn compact(&mut self, pos: usize) {
        if pos == self.buf.len() {
            self.buf.clear();
            if self.buf.capacity() > 64 * 1024 {
                self.buf = Vec::new();
            }
            self.pos = 0;
        } else if pos > 0 && pos * 2 >= self.buf.len() {
            self.buf.copy_within(pos.., 0);
            self.buf.truncate(self.buf.len() - pos);
            self.pos = 0;
        } else {
            self.pos = pos;
        }
    }

    /// Queues whole frames for the next [`flush`](Self::flush), so that what a connection
    /// sends at one wake leaves in one write (one syscall, one TCP segment).
    pub fn queue(&mut self, frames: &[u8]) {
        self.out.extend_from_slice(frames);
    }

    /// Writes what is queued: frames, and pongs owed for Engine.IO pings.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written = self.stream.write_all(&self.out).await;
        self.out.clear();
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        written
    }

    /// Queues an Ack of every counted message up to `id` where `flavor` negotiated stateful
    /// reconnect; false (nothing queued) where it did not.
    pub fn queue_ack(&mut self, flavor: Flavor, id: u64) -> bool {
        let Flavor::SignalR {
            protocol,
            stateful: true,
            ..
        } = flavor
        else {
            return false;
        };
        protocol.write_ack(id, &mut self.out);
        true
    }

    /// Writes whole frames now, after anything queued.
    pub async fn send(&mut self, frames: &[u8]) -> io::Result<()> {
        self.queue(frames);
        self.flush().await
    }

    /// The next data frame, owned (setup only).
    pub async fn next_frame(&mut self) -> io::Result<(u8, Vec<u8>)> {
        loop {
            let mut found = None;
            self.scan(|frame| {
                found = Some((frame.opcode, frame.payload.to_vec()));
                ControlFlow::Break(())
            })?;
            self.flush().await?;
            if let Some(found) = found {
                return Ok(found);
            }
            if self.closed || self.read().await? == 0 {
                return Err(err("the server closed the connection during setup"));
            }
        }
    }

    /// Sends `frame` and returns the next data frame that is not a SignalR Ping (setup only:
    /// joining groups and other calls whose answer is awaited).
    pub async fn call(&mut self, frame: &[u8]) -> io::Result<Vec<u8>> {
        self.send(frame).await?;
        loop {
            let (_, payload) = self.next_frame().await?;
            let ping = payload.starts_with(b"{\"type\":6}") || payload == [0x02, 0x91, 0x06];
            if !ping {
                return Ok(payload);
            }
        }
    }
}

/// Opens a connection and completes every handshake; `http` is reused for negotiate.
pub async fn connect(endpoint: &Endpoint, http: Option<&mut HttpClient>) -> io::Result<Conn> {
    connect_with(endpoint, http, None).await
}

/// [`connect`] with the socket's receive buffer set to `recv_buffer` bytes first (a client
/// that reads slowly and lets little pile up in its kernel).
pub async fn connect_with(
    endpoint: &Endpoint,
    http: Option<&mut HttpClient>,
    recv_buffer: Option<u32>,
) -> io::Result<Conn> {
    let query = match endpoint.flavor {
        Flavor::SignalR {
            negotiate: true,
            stateful,
            ..
        } => {
            let mut own;
            let http = match http {
                Some(http) => http,
                None => {
                    own = HttpClient::new(endpoint.addr);
                    &mut own
                }
            };
            format!("?id={}", http.negotiate(&endpoint.path, stateful).await?)
        }
        Flavor::SocketIo => "?EIO=4&transport=websocket".to_string(),
        _ => String::new(),
    };
    let path = match endpoint.flavor {
        Flavor::SocketIo => "/socket.io/",
        _ => endpoint.path.as_str(),
    };
    let socket = match endpoint.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let mut stream = socket.connect(endpoint.addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path}{query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        endpoint.addr
    );
    stream.write_all(request.as_bytes()).await?;
    let (head, leftover) = read_head(&mut stream).await?;
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        return Err(err(format!(
            "upgrade refused: {}",
            line.lines().next().unwrap_or("")
        )));
    }
    let socketio = endpoint.flavor == Flavor::SocketIo;
    let mut conn = Conn::new(stream, leftover, socketio);
    match endpoint.flavor {
        Flavor::Raw { .. } => {}
        Flavor::SignalR {
            protocol, stateful, ..
        } => {
            conn.send(&protocol.handshake_frame(if stateful { 2 } else { 1 }))
                .await?;
            let (_, answer) = conn.next_frame().await?;
            if !answer.starts_with(b"{}") {
                return Err(err(format!(
                    "handshake refused: {}",
                    String::from_utf8_lossy(&answer)
                )));
            }
        }
        Flavor::SocketIo => {
            let (_, open) = conn.next_frame().await?;
            if !open.starts_with(b"0{") {
                return Err(err("no Engine.IO open packet"));
            }
            conn.send(&wire::socketio::connect_frame()).await?;
            let (_, connected) = conn.next_frame().await?;
            if !connected.starts_with(b"40") {
                return Err(err(format!(
                    "Socket.IO connect refused: {}",
                    String::from_utf8_lossy(&connected)
                )));
            }
        }
    }
    Ok(conn)
}
