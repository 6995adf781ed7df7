//! Plain HTTP/1.1 for the generator: the negotiate request, and SignalR connections over
//! Server-Sent Events and Long Polling as the idle workload holds them (negotiated, handshaken,
//! then left waiting with nothing sent: an event stream read as it comes, or a poll always
//! pending).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn err(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}

/// A response: its status and its body, decoded.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body, without chunked framing.
    pub body: Vec<u8>,
    /// Whether the server keeps the connection open for another request.
    pub keep_alive: bool,
}

/// Sends one request on `stream` (a keep-alive HTTP/1.1 connection) and reads its whole
/// response.
pub async fn exchange(
    stream: &mut TcpStream,
    method: &str,
    target: &str,
    body: &[u8],
) -> io::Result<Answer> {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nAccept: */*\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await?;
    let (head, mut rest) = read_head(stream).await?;
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = head
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| err(format!("not an HTTP response: {head}")))?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let body = if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        read_chunked(stream, rest).await?
    } else {
        let length: usize = header("content-length:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while rest.len() < length {
            if stream.read_buf(&mut rest).await? == 0 {
                return Err(err("the server closed mid-body"));
            }
        }
        rest.truncate(length);
        rest
    };
    Ok(Answer {
        status,
        body,
        keep_alive: !header("connection:").is_some_and(|v| v.contains("close")),
    })
}

/// A keep-alive HTTP/1.1 connection for negotiate requests.
#[derive(Debug)]
pub struct HttpClient {
    addr: SocketAddr,
    stream: Option<TcpStream>,
}

impl HttpClient {
    /// A client for `addr`; connects on first use.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None }
    }

    /// POSTs `{path}/negotiate?negotiateVersion=1` (asking for stateful reconnect if
    /// `stateful`) and returns the token to connect with (`connectionToken`, or
    /// `connectionId` from a version-0 server).
    pub async fn negotiate(&mut self, path: &str, stateful: bool) -> io::Result<String> {
        let query = if stateful {
            "negotiateVersion=1&useStatefulReconnect=true"
        } else {
            "negotiateVersion=1"
        };
        let body = self.post(&format!("{path}/negotiate?{query}"), b"").await?;
        let text = String::from_utf8_lossy(&body);
        ["connectionToken", "connectionId"]
            .iter()
            .find_map(|key| json_string_field(&text, key))
            .ok_or_else(|| err(format!("negotiate answered without an id: {text}")))
    }

    /// POSTs `body` to `target`; the response's body, if the status is 200.
    async fn post(&mut self, target: &str, body: &[u8]) -> io::Result<Vec<u8>> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        match exchange(stream, "POST", target, body).await {
            Ok(answer) if answer.status == 200 => {
                if !answer.keep_alive {
                    self.stream = None;
                }
                Ok(answer.body)
            }
            Ok(answer) => {
                self.stream = None;
                Err(err(format!("POST {target} answered {}", answer.status)))
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// The string value of `"key"` in a flat JSON object (negotiate responses), whitespace allowed.
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let rest = &text[text.find(&quoted)? + quoted.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Reads a chunked body whose first bytes are `read`; returns the decoded body.
pub async fn read_chunked(stream: &mut TcpStream, mut read: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        // A chunk: size in hex, CRLF, data, CRLF. Size 0 ends the body (no trailers expected).
        if let Some(eol) = memchr::memmem::find(&read[at..], b"\r\n") {
            let line = std::str::from_utf8(&read[at..at + eol]).map_err(|_| err("bad chunk"))?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| err("bad chunk size"))?;
            let start = at + eol + 2;
            if size == 0 {
                if read.len() >= start + 2 {
                    return Ok(body);
                }
            } else if read.len() >= start + size + 2 {
                body.extend_from_slice(&read[start..start + size]);
                at = start + size + 2;
                continue;
            }
        }
        if stream.read_buf(&mut read).await? == 0 {
            return Err(err("the server closed during a chunked body"));
        }
    }
}

/// Reads an HTTP response head; returns it and the bytes that came after it.
pub async fn read_head(stream: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > 64 * 1024 {
            return Err(err("an HTTP response head over 64 KiB"));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(err("the server closed before answering"));
        }
    }
}

/// The SignalR transports that run over plain HTTP requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTransport {
    /// One long response for the server's messages, POSTs for the client's.
    ServerSentEvents,
    /// A poll always waiting for the server's next messages, POSTs for the client's.
    LongPolling,
}

impl HttpTransport {
    /// `sse` or `longpolling`: the suffix of a flavor name (`signalr-json+sse`).
    pub fn parse(name: &str) -> Option<HttpTransport> {
        match name {
            "sse" => Some(HttpTransport::ServerSentEvents),
            "longpolling" => Some(HttpTransport::LongPolling),
            _ => None,
        }
    }
}

/// The JSON handshake, as a client POSTs it.
const HANDSHAKE: &[u8] = b"{\"protocol\":\"json\",\"version\":1}\x1e";

/// A SignalR JSON connection over SSE or Long Polling, handshaken and sending nothing: a client
/// that sends no pings is never timed out by the server, so it stays open for as long as it is
/// held. The negotiate and the handshake go through a keep-alive connection shared with other
/// connections' setup, as a browser's pool would share it: the server holds one socket per
/// connection.
#[derive(Debug)]
pub struct HttpConn {
    transport: HttpTransport,
    stream: TcpStream,
    /// `{path}?id={token}`.
    target: String,
}

impl HttpConn {
    /// Negotiates and sends the handshake through `http`, opens the transport on a socket of
    /// its own and waits for the handshake's answer.
    pub async fn connect(
        http: &mut HttpClient,
        path: &str,
        transport: HttpTransport,
    ) -> io::Result<HttpConn> {
        let addr = http.addr;
        let token = http.negotiate(path, false).await?;
        let target = format!("{path}?id={token}");
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        match transport {
            HttpTransport::ServerSentEvents => {
                let request = format!(
                    "GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).await?;
                let (head, mut events) = read_head(&mut stream).await?;
                if !head.starts_with(b"HTTP/1.1 200") {
                    return Err(err("the event stream was refused"));
                }
                http.post(&target, HANDSHAKE).await?;
                // The handshake's answer comes as an event: `data: {}` and the separator.
                while memchr::memmem::find(&events, b"data: {}\x1e").is_none() {
                    if stream.read_buf(&mut events).await? == 0 {
                        return Err(err("the event stream ended before the handshake"));
                    }
                }
            }
            HttpTransport::LongPolling => {
                // The first poll is answered at once; the handshake's answer comes with the next.
                exchange(&mut stream, "GET", &target, b"").await?;
                http.post(&target, HANDSHAKE).await?;
                let answer = exchange(&mut stream, "GET", &target, b"").await?;
                if !answer.body.starts_with(b"{}") {
                    return Err(err(format!(
                        "handshake refused: {}",
                        String::from_utf8_lossy(&answer.body)
                    )));
                }
            }
        }
        Ok(HttpConn {
            transport,
            stream,
            target,
        })
    }

    /// Holds the connection open until the server ends it: reads the event stream as it
    /// comes, or polls again whenever a poll is answered.
    pub async fn hold(mut self) -> io::Result<()> {
        match self.transport {
            HttpTransport::ServerSentEvents => {
                let mut buf = vec![0; 1024];
                while self.stream.read(&mut buf).await? > 0 {}
                Ok(())
            }
            HttpTransport::LongPolling => loop {
                let answer = exchange(&mut self.stream, "GET", &self.target, b"").await?;
                // 204: the server closed the connection.
                if answer.status != 200 || !answer.keep_alive {
                    return Ok(());
                }
            },
        }
    }
}
