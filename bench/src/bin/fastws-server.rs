//! Contestant `fastwebsockets`: the limit of the machine. A raw WebSocket server on the
//! `fastwebsockets` crate (maintained, passes the Autobahn suite, the fastest published Rust
//! WebSocket stack) over bare Tokio sockets: the upgrade is answered here without an HTTP
//! framework, then the crate's frame reader and writer do the rest, used as its documentation
//! shows (`WebSocket::after_handshake`, `FragmentCollector`).
//!
//! `/echo`: every message comes back as it came (fragments reassembled, text checked as UTF-8,
//! pings answered, close handshake, messages limited to the size every contestant allows).
//! `/broadcast`: every message goes to every connection (the sender too), one shared buffer,
//! through a per-connection queue and writer task that writes what is queued into a 4 KiB
//! buffered writer and flushes once, as the `raw` contestant does.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bench::server::{self, ServerArgs, WS_MAX_MESSAGE, WS_WRITE_BUFFER};
use bytes::Bytes;
use fastwebsockets::{
    FragmentCollector, FragmentCollectorRead, Frame, OpCode, Payload, Role, WebSocket,
    WebSocketError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Messages one connection may have queued, as `raw` and `hubs`.
const QUEUE: usize = 1024;
/// Most frames written before one flush, as in `raw` and `hubs`.
const MAX_FRAMES_PER_FLUSH: usize = 64;
/// The longest upgrade request read.
const MAX_HEAD: usize = 8 * 1024;

type Queued = (OpCode, Bytes);

#[derive(Default)]
struct Registry {
    next: AtomicU64,
    sockets: Mutex<HashMap<u64, mpsc::Sender<Queued>>>,
}

/// The two endpoints.
#[derive(Clone, Copy)]
enum Route {
    Echo,
    Broadcast,
}

/// Reads the upgrade request (exactly: `peek` finds its end, so no byte of the first frame is
/// taken from the socket) and answers it; the route asked for, or `None` after a 404.
async fn upgrade(stream: &mut TcpStream) -> io::Result<Option<Route>> {
    // On the heap and dropped before the connection settles: an idle connection keeps nothing
    // of its handshake.
    let mut buf = vec![0u8; MAX_HEAD];
    let mut seen = 0;
    let end = loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::other("closed before the upgrade request"));
        }
        if let Some(end) = memchr::memmem::find(&buf[..n], b"\r\n\r\n") {
            break end + 4;
        }
        if n == buf.len() {
            return Err(io::Error::other("upgrade request too long"));
        }
        if n == seen {
            // The rest of the request has not arrived; `peek` would return at once again.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen = n;
    };
    stream.read_exact(&mut buf[..end]).await?;
    let head = std::str::from_utf8(&buf[..end]).map_err(io::Error::other)?;
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("");
    let route = match target.split('?').next() {
        Some("/echo") => Route::Echo,
        Some("/broadcast") => Route::Broadcast,
        _ => {
            stream
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(None);
        }
    };
    let key = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim())
        .ok_or_else(|| io::Error::other("no Sec-WebSocket-Key"))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(Some(route))
}

async fn echo(stream: TcpStream) -> Result<(), WebSocketError> {
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_max_message_size(WS_MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn broadcast(stream: TcpStream, registry: Arc<Registry>) -> Result<(), WebSocketError> {
    let (reader, writer) = stream.into_split();
    let (mut read, mut write) = fastwebsockets::after_handshake_split(
        reader,
        BufWriter::with_capacity(WS_WRITE_BUFFER, writer),
        Role::Server,
    );
    read.set_max_message_size(WS_MAX_MESSAGE);
    let mut read = FragmentCollectorRead::new(read);
    let id = registry.next.fetch_add(1, Ordering::Relaxed);
    let (sender, mut queue) = mpsc::channel::<Queued>(QUEUE);
    registry.sockets.lock().unwrap().insert(id, sender.clone());
    let writer = tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut next = Some(first);
            let mut written = 0;
            while let Some((opcode, payload)) = next.take() {
                let frame = Frame::new(true, opcode, None, Payload::Borrowed(&payload));
                if write.write_frame(frame).await.is_err() {
                    return;
                }
                written += 1;
                if written < MAX_FRAMES_PER_FLUSH {
                    next = queue.try_recv().ok();
                }
            }
            if write.flush().await.is_err() {
                return;
            }
        }
    });
    // What the reader owes the peer (a pong, the close reply) goes through the queue too.
    let mut owed = |frame: Frame<'_>| {
        let sent = sender.try_send((frame.opcode, Bytes::copy_from_slice(&frame.payload)));
        async move { sent.map_err(|_| io::Error::other("queue full")) }
    };
    let result = loop {
        let frame = match read.read_frame(&mut owed).await {
            Ok(frame) => frame,
            Err(e) => break Err(e),
        };
        match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                let message = (frame.opcode, Bytes::copy_from_slice(&frame.payload));
                let sockets = registry.sockets.lock().unwrap();
                for socket in sockets.values() {
                    // A full queue drops the message for that socket; the benchmark keeps
                    // queues far from full.
                    let _ = socket.try_send(message.clone());
                }
            }
            OpCode::Close => break Ok(()),
            _ => {}
        }
    };
    registry.sockets.lock().unwrap().remove(&id);
    drop(sender);
    if result.is_ok() {
        // Let the writer send the close reply, then end.
        let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    } else {
        writer.abort();
    }
    result
}

async fn connection(mut stream: TcpStream, registry: Arc<Registry>) {
    let Ok(Some(route)) = upgrade(&mut stream).await else {
        return;
    };
    let _ = match route {
        Route::Echo => echo(stream).await,
        Route::Broadcast => broadcast(stream, registry).await,
    };
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
            // Unconstrained, as the crate's own echo server runs its connections.
            tokio::spawn(tokio::task::unconstrained(connection(
                stream,
                Arc::clone(&registry),
            )));
        }
    });
}
