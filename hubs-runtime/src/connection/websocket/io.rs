//! The socket under a WebSocket, as its reader and its writer use it. Under `hubs::serve` it
//! is the `TcpStream` itself, shared by both sides without a lock: readiness is awaited, and
//! reads and writes are non-blocking calls into buffers that are only borrowed for the call.
//! Under other servers (`axum::serve`, TLS) it is hyper's upgraded connection, split in two.

use std::cell::RefCell;
use std::io::{self, IoSlice, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

type Other = TokioIo<Upgraded>;

/// A WebSocket's socket once the upgrade is done: two halves and the bytes the client sent
/// right after its request, which hyper read already.
pub(crate) struct Socket {
    pub(super) read: ReadIo,
    pub(super) write: WriteIo,
    pub(super) early: Vec<u8>,
}

impl Socket {
    /// Takes the socket out of hyper: the `TcpStream` when hyper served one directly.
    pub(super) fn new(upgraded: Upgraded) -> Socket {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let stream = Arc::new(parts.io.into_inner());
                Socket {
                    read: ReadIo::Tcp(Arc::clone(&stream)),
                    write: WriteIo::Tcp(stream),
                    // Copied: the leftover is a slice of hyper's whole read buffer.
                    early: parts.read_buf.to_vec(),
                }
            }
            Err(upgraded) => {
                let (read, write) = tokio::io::split(TokioIo::new(upgraded));
                Socket {
                    read: ReadIo::Other(read),
                    write: WriteIo::Other(write),
                    early: Vec::new(),
                }
            }
        }
    }
}

/// The reading side of a socket.
pub(super) enum ReadIo {
    Tcp(Arc<TcpStream>),
    Other(ReadHalf<Other>),
}

impl ReadIo {
    /// Reads into `buf` once the socket has bytes; `Ok(0)` at the end of the stream.
    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            ReadIo::Tcp(stream) => loop {
                ready!(stream.poll_read_ready(cx))?;
                match read_drained(stream, buf) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                    done => return Poll::Ready(done),
                }
            },
            ReadIo::Other(half) => {
                let mut buf = ReadBuf::new(buf);
                ready!(Pin::new(half).poll_read(cx, &mut buf))?;
                Poll::Ready(Ok(buf.filled().len()))
            }
        }
    }
}

/// One read of `stream`. A read that does not fill `buf` emptied the socket's receive queue,
/// so the readiness is cleared with it: the next wait goes straight to the reactor instead of
/// making a second read only to hear `WouldBlock`. No wakeup is lost: bytes arriving after the
/// read are a new event, which Tokio's readiness tick keeps from being cleared.
fn read_drained(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut read = None;
    let result = stream.try_io(tokio::io::Interest::READABLE, || {
        let n = (&*socket2::SockRef::from(stream)).read(buf)?;
        read = Some(n);
        if n > 0 && n < buf.len() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match (result, read) {
        (Ok(n), _) => Ok(n),
        (Err(_), Some(n)) => Ok(n),
        (Err(error), None) => Err(error),
    }
}

/// Pieces adding up to at most this many bytes are copied together and sent in one piece.
const GATHER_LIMIT: usize = 4096;

thread_local! {
    /// Where small pieces are gathered, one per thread.
    static GATHERED: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(GATHER_LIMIT));
}

/// One non-blocking write of `bufs` to `stream`, with `send(2)` as Tokio's plain write does.
/// Tokio's vectored write is `writev(2)`, which first goes through the file layer: a cost
/// every frame would pay (its header and payload are two pieces), while copying a few hundred
/// bytes together costs less. Larger writes stay vectored.
fn send(stream: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let small = || bufs.iter().map(|b| b.len()).sum::<usize>() <= GATHER_LIMIT;
    match bufs {
        [one] => stream.try_write(one),
        _ if small() => GATHERED.with_borrow_mut(|gathered| {
            gathered.clear();
            for buf in bufs {
                gathered.extend_from_slice(buf);
            }
            stream.try_write(gathered)
        }),
        _ => stream.try_write_vectored(bufs),
    }
}

/// The writing side of a socket.
pub(super) enum WriteIo {
    Tcp(Arc<TcpStream>),
    Other(WriteHalf<Other>),
}

impl WriteIo {
    /// Writes from `bufs` as much as the socket takes. Without `cx` (a sender writing
    /// straight to the socket) it never waits: `Pending` means nothing could be written.
    pub(super) fn poll_write(
        &mut self,
        cx: Option<&mut Context<'_>>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            WriteIo::Tcp(stream) => match cx {
                None => match send(stream, bufs) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
                    done => Poll::Ready(done),
                },
                Some(cx) => loop {
                    ready!(stream.poll_write_ready(cx))?;
                    match send(stream, bufs) {
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                        done => return Poll::Ready(done),
                    }
                },
            },
            WriteIo::Other(half) => {
                with_context(cx, |cx| Pin::new(&mut *half).poll_write_vectored(cx, bufs))
            }
        }
    }

    /// Pushes out what a layer under the socket (TLS) may still hold.
    pub(super) fn poll_flush(&mut self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<()>> {
        match self {
            WriteIo::Tcp(_) => Poll::Ready(Ok(())),
            WriteIo::Other(half) => with_context(cx, |cx| Pin::new(&mut *half).poll_flush(cx)),
        }
    }

    /// Ends the sending direction: the client reads the end of the stream after the Close.
    pub(super) fn poll_shutdown(&mut self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<()>> {
        match self {
            WriteIo::Tcp(stream) => {
                let socket = socket2::SockRef::from(&**stream);
                Poll::Ready(socket.shutdown(std::net::Shutdown::Write))
            }
            WriteIo::Other(half) => with_context(cx, |cx| Pin::new(&mut *half).poll_shutdown(cx)),
        }
    }
}

/// Runs `poll` with `cx`, or without one with a waker that does nothing: a sender's attempt,
/// after which the writer (with its own waker) takes over if the attempt was not enough. Only
/// made while the writer is not waiting on the socket, so it never replaces the writer's waker.
fn with_context<T>(
    cx: Option<&mut Context<'_>>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    match cx {
        Some(cx) => poll(cx),
        None => poll(&mut Context::from_waker(Waker::noop())),
    }
}
