//! The two transports a soak connection uses, behind one interface: WebSockets (the bench's
//! generator connection) and Long Polling (plain HTTP/1.1: a poll connection of its own,
//! sends and deletes over a small pool of keep-alive connections shared by the worker).

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bench::client::{self, Conn, Endpoint, Flavor};
use bench::http::exchange;
use bench::wire::{self, HubProtocol, opcode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The hub's path on the soak server.
pub(crate) const HUB_PATH: &str = "/soak";
/// The JSON handshake request.
const HANDSHAKE: &[u8] = b"{\"protocol\":\"json\",\"version\":1}\x1e";
/// Longest any single HTTP exchange may take (a poll waits at most 90 s on the server).
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);
/// Idle send connections a worker keeps.
const POOL_IDLE: usize = 16;

fn err(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}

/// One open SignalR connection past the handshake (the handshake answer arrives as the first
/// record read on Long Polling, and is skipped by the reader).
pub(crate) enum Link {
    /// A WebSocket.
    Ws(Conn),
    /// Long Polling: the token and the channel the poll task fills.
    Lp {
        /// The connection token.
        token: String,
        /// Bodies of answered polls; closed when polling ends.
        bodies: mpsc::Receiver<Vec<u8>>,
        /// For POSTs and the DELETE.
        pool: Rc<Pool>,
    },
}

impl Link {
    /// Opens a WebSocket without negotiate.
    pub(crate) async fn websocket(addr: SocketAddr) -> io::Result<Link> {
        let endpoint = Endpoint {
            addr,
            path: HUB_PATH.to_string(),
            flavor: Flavor::SignalR {
                protocol: HubProtocol::Json,
                negotiate: false,
                stateful: false,
            },
        };
        Ok(Link::Ws(client::connect(&endpoint, None).await?))
    }

    /// Negotiates, starts polling and sends the handshake.
    pub(crate) async fn long_polling(pool: Rc<Pool>) -> io::Result<Link> {
        let (status, body) = pool
            .request(
                "POST",
                &format!("{HUB_PATH}/negotiate?negotiateVersion=1"),
                b"",
            )
            .await?;
        let text = String::from_utf8_lossy(&body);
        let token = text
            .split("\"connectionToken\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .filter(|_| status == 200)
            .ok_or_else(|| err(format!("negotiate answered {status}: {text}")))?
            .to_string();
        let mut poller = Http::new(pool.addr);
        let target = format!("{HUB_PATH}?id={token}");
        // The first poll answers at once and starts the connection.
        let (status, _) = poller.request("GET", &target, b"").await?;
        if status != 200 {
            return Err(err(format!("first poll answered {status}")));
        }
        let (status, _) = pool.request("POST", &target, HANDSHAKE).await?;
        if status != 200 {
            return Err(err(format!("handshake POST answered {status}")));
        }
        let (tx, bodies) = mpsc::channel(64);
        tokio::task::spawn_local(poll(poller, target, tx));
        Ok(Link::Lp {
            token,
            bodies,
            pool,
        })
    }

    /// Sends one record (ending in 0x1e).
    pub(crate) async fn send(&mut self, record: &[u8]) -> io::Result<()> {
        match self {
            Link::Ws(conn) => conn.send(&wire::client_frame(opcode::TEXT, record)).await,
            Link::Lp { token, pool, .. } => {
                let (status, _) = pool
                    .request("POST", &format!("{HUB_PATH}?id={token}"), record)
                    .await?;
                match status {
                    200 => Ok(()),
                    _ => Err(err(format!("send answered {status}"))),
                }
            }
        }
    }

    /// Waits for data and appends the records' bytes to `out`; false once the server ended
    /// the connection. Cancel-safe.
    pub(crate) async fn recv(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        match self {
            Link::Ws(conn) => {
                let n = conn.read().await?;
                conn.frames(|frame| {
                    if frame.opcode == opcode::TEXT {
                        out.extend_from_slice(frame.payload);
                    }
                })?;
                Ok(n > 0 && !conn.closed)
            }
            Link::Lp { bodies, .. } => match bodies.recv().await {
                Some(body) => {
                    out.extend_from_slice(&body);
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }

    /// Ends the connection as a client does: a WebSocket Close frame, or a DELETE.
    pub(crate) async fn close(self) {
        match self {
            Link::Ws(mut conn) => {
                let _ = conn
                    .send(&wire::client_frame(opcode::CLOSE, &[0x03, 0xe8]))
                    .await;
                let _ = conn.stream.shutdown().await;
            }
            Link::Lp {
                token,
                mut bodies,
                pool,
            } => {
                let _ = pool
                    .request("DELETE", &format!("{HUB_PATH}?id={token}"), b"")
                    .await;
                // The pending poll answers 204 and the poll task ends.
                let _ = tokio::time::timeout(Duration::from_secs(5), async {
                    while bodies.recv().await.is_some() {}
                })
                .await;
            }
        }
    }
}

/// Polls until the server answers 204 (or anything but 200), handing every non-empty body on.
async fn poll(mut http: Http, target: String, tx: mpsc::Sender<Vec<u8>>) {
    loop {
        match http.request("GET", &target, b"").await {
            Ok((200, body)) => {
                if !body.is_empty() && tx.send(body).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Keep-alive connections for short requests, shared by one worker's Long Polling clients.
pub(crate) struct Pool {
    addr: SocketAddr,
    idle: RefCell<Vec<Http>>,
}

impl Pool {
    /// An empty pool for the server at `addr`.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            idle: RefCell::new(Vec::new()),
        }
    }

    /// One request on an idle connection, or a new one.
    pub(crate) async fn request(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> io::Result<(u16, Vec<u8>)> {
        let popped = self.idle.borrow_mut().pop();
        let mut http = popped.unwrap_or_else(|| Http::new(self.addr));
        let answer = http.request(method, target, body).await;
        if answer.is_ok() && http.stream.is_some() {
            let mut idle = self.idle.borrow_mut();
            if idle.len() < POOL_IDLE {
                idle.push(http);
            }
        }
        answer
    }
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Http {
    addr: SocketAddr,
    stream: Option<TcpStream>,
}

impl Http {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None }
    }

    /// Sends a request and reads the whole answer: status and body.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> io::Result<(u16, Vec<u8>)> {
        let answer = tokio::time::timeout(HTTP_TIMEOUT, self.exchange(method, target, body))
            .await
            .unwrap_or_else(|_| Err(err("an HTTP exchange timed out")));
        match answer {
            Ok((status, body, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok((status, body))
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn exchange(
        &mut self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> io::Result<(u16, Vec<u8>, bool)> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        let answer = exchange(stream, method, target, body).await?;
        Ok((answer.status, answer.body, answer.keep_alive))
    }
}
