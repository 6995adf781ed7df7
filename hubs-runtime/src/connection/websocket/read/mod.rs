//! The reading side of a WebSocket: frames parsed as they arrive, whatever the reads cut
//! them into, with RFC 6455's checks (masking, reserved bits and opcodes, control frame
//! rules, fragmentation order, UTF-8, size limits).
//!
//! An idle connection holds no read buffer. The reader waits for the socket to be readable,
//! reads into a buffer of the worker thread, unmasks a whole message where it lies there and
//! lends it to the layer above, and keeps only what it could not hand on yet: the header of a
//! frame cut short, the message being assembled, the rest of a read that held more than one
//! message.

mod parser;

use std::cell::RefCell;
use std::task::{Context, Poll};

use bytes::Bytes;

use self::parser::Parser;
use super::io::ReadIo;
use crate::connection::Chunk;

/// Bytes of the per-thread read buffer.
const READ_BUFFER: usize = 64 * 1024;

thread_local! {
    /// Where every WebSocket served by this thread reads into; only borrowed during a read,
    /// the parsing of what it brought and the handling of the message lent from it.
    static READ: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
}

/// What the client sent.
#[derive(Debug, PartialEq, Eq)]
#[doc(hidden)] // public only for the fuzz target, through `FuzzParser`
pub enum Event {
    /// A whole data message, or several that came in a row when the reader joins them (see
    /// [`FrameReader::new`]); never empty; text is valid UTF-8.
    Message(Bytes),
    /// A Ping, to be answered with a Pong carrying the same payload.
    Ping(Vec<u8>),
    /// The client's Close, with its code (1000 when it sent none). It is answered with 1000
    /// whatever the code, as ASP.NET Core's WebSocket transport answers.
    Close(u16),
    /// The client broke the protocol: fail the connection with this code and reason.
    Fault(u16, &'static str),
    /// The socket ended or failed without a Close.
    Gone,
}

/// What a read brought, with a data message handed to the caller's function where it lies.
pub(super) enum Lent<R> {
    /// What the function made of the message.
    Message(R),
    /// Anything else the client did (never a data message).
    Other(Event),
}

impl Lent<Bytes> {
    fn into_event(self) -> Event {
        match self {
            Lent::Message(bytes) => Event::Message(bytes),
            Lent::Other(event) => event,
        }
    }
}

/// The reading side of one socket. In declared order (`repr(C)`, here and in [`Parser`]):
/// what every read looks at comes first, so that it spans as few cache lines as it can.
#[repr(C)]
pub(super) struct FrameReader {
    ended: bool,
    /// A `u32` packs beside `ended`: a read brings at most 64 KiB, the request's early bytes fewer.
    pending_at: u32,
    io: ReadIo,
    /// Read but not parsed yet from `pending_at` on: the rest of a read after the message
    /// returned from it. Parsed in place, one message at a time, and freed when used up.
    pending: Vec<u8>,
    parser: Parser,
}

impl FrameReader {
    /// A reader of `io` that first parses `early` (bytes read with the HTTP request).
    /// `together`: whole messages that follow one another in a read are handed on as one
    /// (see `ConnectionHandler::delimits_messages`).
    pub(super) fn new(io: ReadIo, early: Vec<u8>, limit: usize, together: bool) -> Self {
        Self {
            io,
            pending: early,
            pending_at: 0,
            parser: Parser::with_joining(limit, together),
            ended: false,
        }
    }

    /// The next thing the client did, a data message in bytes of its own. After `Close`,
    /// `Fault` or `Gone`, `Gone` for ever.
    pub(super) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        self.poll_lend(cx, &mut |chunk: Chunk<'_>| chunk.copied())
            .map(Lent::into_event)
    }

    /// The next thing the client did, a data message handed to `lend` where it was read (the
    /// thread's read buffer, most often), so that it is never copied out: `lend` runs while
    /// this thread reads no other socket.
    pub(super) fn poll_lend<R>(
        &mut self,
        cx: &mut Context<'_>,
        lend: &mut impl FnMut(Chunk<'_>) -> R,
    ) -> Poll<Lent<R>> {
        if self.ended {
            return Poll::Ready(Lent::Other(Event::Gone));
        }
        if !self.pending.is_empty() {
            // Many messages may have come in one read: each call takes the next in place, so
            // the rest is not copied again per message.
            let at = self.pending_at as usize;
            let (used, found) = self.parser.parse_in_place(&mut self.pending[at..]);
            debug_assert!(found.is_some() || at + used == self.pending.len());
            let lent = match found {
                Some(found) => Some(found.lend(&self.pending[at..], lend)),
                None => None,
            };
            self.pending_at = (at + used) as u32;
            if at + used == self.pending.len() {
                self.pending = Vec::new();
                self.pending_at = 0;
            }
            if let Some(lent) = lent {
                return Poll::Ready(self.end_if_final(lent));
            }
        }
        READ.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            loop {
                let n = match self.io.poll_read(cx, &mut buffer) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(0) | Err(_)) => {
                        return Poll::Ready(self.end_if_final(Lent::Other(Event::Gone)));
                    }
                    Poll::Ready(Ok(n)) => n,
                };
                let (used, found) = self.parser.parse_in_place(&mut buffer[..n]);
                if let Some(found) = found {
                    self.keep(&buffer[used..n]);
                    let lent = found.lend(&buffer[..n], lend);
                    return Poll::Ready(self.end_if_final(lent));
                }
            }
        })
    }

    /// Keeps the unparsed rest of a read for the next call.
    fn keep(&mut self, rest: &[u8]) {
        if !rest.is_empty() && !self.ended {
            self.pending = rest.to_vec();
            self.pending_at = 0;
        }
    }

    fn end_if_final<R>(&mut self, lent: Lent<R>) -> Lent<R> {
        if let Lent::Other(Event::Close(_) | Event::Fault(..) | Event::Gone) = lent {
            self.ended = true;
            self.pending = Vec::new();
            self.pending_at = 0;
            self.parser = Parser::new(0);
        }
        lent
    }
}

/// Not public API: the parser [`FrameReader`] runs, for the `websocket_frames` fuzz target
/// (`fuzz/`), which cuts the bytes into reads itself. May change or go at any time.
#[doc(hidden)]
pub struct FuzzParser(Parser);

impl FuzzParser {
    /// A parser accepting frames and messages of up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self(Parser::new(limit))
    }

    /// The same, reading as it does for a handler that delimits its messages: whole messages
    /// that follow one another in a read come as one event.
    pub fn joining(limit: usize) -> Self {
        Self(Parser::with_joining(limit, true))
    }

    /// Parses `input` up to the first event; returns the bytes used and that event.
    pub fn parse(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        self.0.parse(input)
    }

    /// Bytes the parser holds between reads: the message being assembled and the payload of
    /// the control frame arriving (allocated), and the header cut short.
    pub fn held(&self) -> usize {
        self.0.held()
    }
}

#[cfg(test)]
mod tests;
