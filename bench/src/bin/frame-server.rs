//! Contestant `frame`: the fan-out limit. A WebSocket server on bare Tokio sockets that turns
//! every message it receives into one pre-built frame and writes that frame to every socket
//! straight from the receiving task (`try_write`); only a socket that cannot take it at once
//! gets a queue and a writer. No WebSocket library, no per-message allocation per recipient.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bench::server::{self, ServerArgs, WS_MAX_MESSAGE, WS_READ_BUFFER};
use bench::wire;
use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Frames one socket may have waiting before it is dropped as too slow.
const QUEUE: usize = 1024;

struct Peer {
    write: OwnedWriteHalf,
    pending: Mutex<Pending>,
    wake: Notify,
}

#[derive(Default)]
struct Pending {
    frames: VecDeque<Bytes>,
    /// Bytes of the first frame already written.
    offset: usize,
    dead: bool,
}

#[derive(Default)]
struct Registry {
    next: AtomicU64,
    peers: Mutex<HashMap<u64, Arc<Peer>>>,
}

impl Peer {
    /// Writes `frame` now if nothing is queued, else queues it for the writer.
    fn deliver(&self, frame: &Bytes) {
        let mut pending = self.pending.lock().unwrap();
        if pending.dead {
            return;
        }
        if pending.frames.is_empty() {
            match self.write.try_write(frame) {
                Ok(n) if n == frame.len() => return,
                Ok(n) => pending.offset = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pending.offset = 0,
                Err(_) => {
                    pending.dead = true;
                    return;
                }
            }
        } else if pending.frames.len() >= QUEUE {
            pending.dead = true;
            self.wake.notify_one();
            return;
        }
        pending.frames.push_back(frame.clone());
        self.wake.notify_one();
    }

    /// Drains the queue of a socket that could not take its frames at once.
    async fn writer(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            loop {
                if self.write.writable().await.is_err() {
                    return;
                }
                let mut pending = self.pending.lock().unwrap();
                if pending.dead {
                    return;
                }
                let Some(frame) = pending.frames.front().cloned() else {
                    break;
                };
                match self.write.try_write(&frame[pending.offset..]) {
                    Ok(n) if pending.offset + n == frame.len() => {
                        pending.frames.pop_front();
                        pending.offset = 0;
                    }
                    Ok(n) => pending.offset += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        pending.dead = true;
                        return;
                    }
                }
            }
        }
    }
}

/// A server frame of `opcode` around `payload`.
fn server_frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut f = BytesMut::with_capacity(payload.len() + 10);
    f.put_u8(0x80 | opcode);
    match payload.len() {
        n if n < 126 => f.put_u8(n as u8),
        n if n <= 0xffff => {
            f.put_u8(126);
            f.put_u16(n as u16);
        }
        n => {
            f.put_u8(127);
            f.put_u64(n as u64);
        }
    }
    f.put_slice(payload);
    f.freeze()
}

/// Reads the upgrade request and answers 101; returns bytes read past the request.
async fn upgrade(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > 16 * 1024 || stream.read_buf(&mut buf).await? == 0 {
            return Err(io::Error::other("no upgrade request"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .ok_or_else(|| io::Error::other("no Sec-WebSocket-Key"))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(buf.split_off(end + 4))
}

/// Reads client frames; every data message is broadcast as one pre-built frame.
async fn connection(mut stream: TcpStream, registry: Arc<Registry>) -> io::Result<()> {
    let mut buf = upgrade(&mut stream).await?;
    buf.reserve(WS_READ_BUFFER.saturating_sub(buf.capacity()));
    let (mut read, write) = stream.into_split();
    let peer = Arc::new(Peer {
        write,
        pending: Mutex::default(),
        wake: Notify::new(),
    });
    let id = registry.next.fetch_add(1, Ordering::Relaxed);
    registry.peers.lock().unwrap().insert(id, Arc::clone(&peer));
    let writer = tokio::spawn(Arc::clone(&peer).writer());
    let result = async {
        loop {
            while let Some((opcode, payload, used)) = client_frame(&mut buf)? {
                match opcode {
                    1 | 2 => {
                        let frame = server_frame(opcode, &payload);
                        let peers: Vec<Arc<Peer>> =
                            registry.peers.lock().unwrap().values().cloned().collect();
                        for peer in &peers {
                            peer.deliver(&frame);
                        }
                    }
                    8 => return Ok(()),
                    _ => {}
                }
                buf.drain(..used);
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(WS_READ_BUFFER);
            }
            if read.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }
    .await;
    registry.peers.lock().unwrap().remove(&id);
    peer.pending.lock().unwrap().dead = true;
    writer.abort();
    result
}

/// The first whole client frame of `buf`, unmasked: opcode, payload and bytes used.
fn client_frame(buf: &mut [u8]) -> io::Result<Option<(u8, Vec<u8>, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let opcode = buf[0] & 0x0f;
    let Some((len, mut at)) = wire::payload_length(buf) else {
        return Ok(None);
    };
    if len > WS_MAX_MESSAGE {
        return Err(io::Error::other("message too large"));
    }
    let masked = buf[1] & 0x80 != 0;
    let mask = if masked {
        if buf.len() < at + 4 {
            return Ok(None);
        }
        let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        at += 4;
        mask
    } else {
        [0; 4]
    };
    if buf.len() < at + len {
        return Ok(None);
    }
    let mut payload = buf[at..at + len].to_vec();
    if mask != [0; 4] {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok(Some((opcode, payload, at + len)))
}

fn main() {
    let args = ServerArgs::from_env();
    server::run(async move {
        let registry = Arc::new(Registry::default());
        let listener = server::listen(args.port).await;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(connection(stream, Arc::clone(&registry)));
        }
    });
}
