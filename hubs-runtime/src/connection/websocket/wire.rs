//! The writing side of a WebSocket: the connection's queued items framed and written straight
//! to the socket, by whoever finds the socket free (see [`Wire`]).
//!
//! A delivery to a connection with nothing queued is written by the sending task itself, in
//! one vectored write of the frame header and the payload; only what the socket does not take
//! at once waits in the queue, for the connection's task, woken by the socket (a large fan-out
//! queues its deliveries first and leaves the writes to tasks of its own, see
//! `FanOutWrites`). Queued items leave in one vectored write of up to [`MAX_FRAMES`] frames.
//! The transport's own frames (a Pong, the Close) go out between items, never inside one.

use std::io::IoSlice;
use std::task::{Context, Poll};

use tokio_util::sync::CancellationToken;

use super::frame::{self, MAX_SERVER_HEADER, code};
use super::io::WriteIo;
use crate::connection::queue::{Backlog, Item, Lone, Wire, WireStatus};
use crate::connection::{Outgoing, TransferFormat};

/// Most frames one write takes.
const MAX_FRAMES: usize = 64;
/// Most frames of a write that sets up room for only a few.
const SHORT_BURST: usize = 8;

/// Where the closing handshake stands, from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Open,
    /// A Close with this code and reason goes out once the item begun is written.
    Requested(u16, &'static str),
    /// The Close frame is being written.
    Sending,
    /// The Close is out: flush and end the sending direction.
    Sent,
    /// The client's socket ended without a Close: nothing it could read is left to write.
    Gone,
}

/// A WebSocket's writing side. In declared order (`repr(C)`): what every write reads comes
/// first, within 56 bytes.
#[repr(C)]
pub(super) struct WebSocketWire {
    closing: Closing,
    format: TransferFormat,
    /// Written since the last flush: only sockets under another layer (TLS) need flushing.
    unflushed: bool,
    io: WriteIo,
    /// A frame of the transport's own being written (a Pong, the Close), and how much of it is.
    own: Vec<u8>,
    /// The payload of the latest Ping not answered yet (§5.5.3: only the latest needs one).
    pong: Option<Vec<u8>>,
    own_written: usize,
    /// Cancelled when the socket fails: the connection is over.
    abort: CancellationToken,
}

impl std::fmt::Debug for WebSocketWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketWire")
            .field("format", &self.format)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl WebSocketWire {
    pub(super) fn new(io: WriteIo, abort: CancellationToken) -> Self {
        Self {
            io,
            format: TransferFormat::Text,
            own: Vec::new(),
            own_written: 0,
            pong: None,
            closing: Closing::Open,
            unflushed: false,
            abort,
        }
    }

    /// The socket failed: nothing more can be written, and the connection is over.
    fn failed(&self, error: Option<std::io::Error>) -> WireStatus {
        match error {
            Some(error) => tracing::debug!(%error, "a WebSocket write failed"),
            None => tracing::debug!("a WebSocket took no more bytes"),
        }
        self.abort.cancel();
        WireStatus::Finished
    }

    /// What a vectored write came to: the bytes the socket took, or `Err` with where the
    /// writer stops (blocked, or the socket is gone).
    #[inline]
    fn written(&mut self, polled: Poll<std::io::Result<usize>>) -> Result<usize, WireStatus> {
        let written = match polled {
            Poll::Pending => return Err(WireStatus::Blocked),
            Poll::Ready(Ok(0)) => return Err(self.failed(None)),
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(error)) => return Err(self.failed(Some(error))),
        };
        self.unflushed = matches!(self.io, WriteIo::Other(_));
        Ok(written)
    }

    /// Answers a Ping, unless the connection is closing.
    pub(super) fn pong(&mut self, payload: Vec<u8>) {
        if self.closing == Closing::Open {
            self.pong = Some(payload);
        }
    }

    /// The client's socket ended (or failed) without a Close: what is queued is dropped, and
    /// neither a Close nor a shutdown goes out (no one reads them; a write would only draw a
    /// reset), as ASP.NET Core aborts such a socket.
    pub(super) fn peer_gone(&mut self, backlog: &mut Backlog<'_, '_>) {
        if self.closing == Closing::Open {
            self.closing = Closing::Gone;
            self.pong = None;
            backlog.discard();
        }
    }

    /// Closes with `code` once the item begun is written; nothing queued after it is sent.
    /// The first close asked for wins.
    pub(super) fn close(&mut self, code: u16, reason: &'static str, backlog: &mut Backlog<'_, '_>) {
        if self.closing == Closing::Open {
            self.closing = Closing::Requested(code, reason);
            self.pong = None;
            backlog.discard();
        }
    }

    /// At a boundary between items: takes the queue's own instructions off its front and
    /// picks the transport's next frame, if any.
    fn between_items(&mut self, backlog: &mut Backlog<'_, '_>) {
        loop {
            match backlog.front() {
                Some(Item::Queued(Outgoing::Format(format))) => {
                    self.format = *format;
                    backlog.advance(1, 0);
                }
                Some(Item::Queued(Outgoing::Close)) => {
                    backlog.advance(1, 0);
                    self.close(code::NORMAL, "", backlog);
                }
                None if backlog.ended() => {
                    self.close(code::NORMAL, "", backlog);
                    break;
                }
                _ => break,
            }
        }
        if self.own_written < self.own.len() {
            return;
        }
        self.own = Vec::new();
        self.own_written = 0;
        if self.closing == Closing::Sending {
            self.closing = Closing::Sent;
        } else if let Some(payload) = self.pong.take() {
            self.own = frame::control_frame(frame::PONG, &[&payload]);
        } else if let Closing::Requested(code, reason) = self.closing
            && backlog.is_empty()
        {
            self.own = frame::close_frame(code, reason);
            self.closing = Closing::Sending;
        }
    }

    /// Flushes and, once the Close is out, ends the sending direction.
    fn finish(&mut self, mut cx: Option<&mut Context<'_>>) -> WireStatus {
        if self.unflushed {
            match self.io.poll_flush(cx.as_deref_mut()) {
                Poll::Pending => return WireStatus::Blocked,
                Poll::Ready(Err(error)) => return self.failed(Some(error)),
                Poll::Ready(Ok(())) => self.unflushed = false,
            }
        }
        if self.closing != Closing::Sent {
            return WireStatus::Idle;
        }
        match self.io.poll_shutdown(cx) {
            Poll::Pending => WireStatus::Blocked,
            Poll::Ready(_) => WireStatus::Finished,
        }
    }
}

impl Wire for WebSocketWire {
    fn write(
        &mut self,
        backlog: &mut Backlog<'_, '_>,
        mut cx: Option<&mut Context<'_>>,
    ) -> WireStatus {
        if self.closing == Closing::Gone {
            return WireStatus::Finished;
        }
        // The usual write, one frame to an idle socket, takes a short path of its own: the
        // general one below is several times its code, run for every message.
        if self.closing == Closing::Open
            && self.own.is_empty()
            && self.pong.is_none()
            && let Some(status) = self.write_lone(backlog, cx.as_deref_mut())
        {
            return status;
        }
        loop {
            if backlog.offset() == 0 {
                self.between_items(backlog);
                // All written (the usual end of a write): no frames to set up room for.
                if backlog.is_empty() && self.own.is_empty() {
                    return self.finish(cx);
                }
            }
            // Room for as many frames as are queued, in three sizes: the headers and slices
            // are set up on the stack for every write, and a single frame (the rest of one,
            // or one left queued) or a short burst should not pay for the longest.
            let cx = cx.as_deref_mut();
            let written = match backlog.len() {
                0..=1 => self.write_frames::<1, 3>(backlog, cx),
                2..=SHORT_BURST => {
                    self.write_burst::<SHORT_BURST, { 2 * SHORT_BURST + 1 }>(backlog, cx)
                }
                _ => self.write_burst::<MAX_FRAMES, { 2 * MAX_FRAMES + 1 }>(backlog, cx),
            };
            if let Err(status) = written {
                return status;
            }
        }
    }
}

impl WebSocketWire {
    /// Writes the backlog's lone frame, when that is all it holds, in one vectored write of
    /// its header and payload. `None`: the general path carries on (nothing lone to write, a
    /// part of it written, a text frame that is not UTF-8, or a queue that ended).
    fn write_lone(
        &mut self,
        backlog: &mut Backlog<'_, '_>,
        mut cx: Option<&mut Context<'_>>,
    ) -> Option<WireStatus> {
        let vouched = backlog.text_vouched();
        let lone = backlog.lone_arriving()?;
        let payload = lone.frame();
        let opcode = match self.format {
            TransferFormat::Text if !vouched && crate::utf8::from_utf8(payload).is_err() => {
                return None;
            }
            TransferFormat::Text => frame::TEXT,
            TransferFormat::Binary => frame::BINARY,
        };
        let mut header = [0; MAX_SERVER_HEADER];
        let start = frame::server_header(opcode, payload.len(), &mut header);
        let size = MAX_SERVER_HEADER - start + payload.len();
        let polled = match lone {
            // Written where its sender left room for it: one piece to send.
            Lone::Lent(lent) if lent.room() >= MAX_SERVER_HEADER => {
                let whole = lent.with_header(&header, start);
                self.io
                    .poll_write(cx.as_deref_mut(), &[IoSlice::new(whole)])
            }
            lone => {
                let slices = [IoSlice::new(&header[start..]), IoSlice::new(lone.frame())];
                self.io.poll_write(cx.as_deref_mut(), &slices)
            }
        };
        let written = match self.written(polled) {
            Ok(written) => written,
            Err(status) => return Some(status),
        };
        if written < size {
            backlog.advance(0, written);
            return None;
        }
        backlog.advance(1, 0);
        if backlog.ended() {
            return None;
        }
        Some(self.finish(cx))
    }

    /// [`write_frames`](Self::write_frames) for a burst, kept out of line: the single frame
    /// of an idle socket is what nearly every write is, and its code stays short.
    #[inline(never)]
    fn write_burst<const N: usize, const S: usize>(
        &mut self,
        backlog: &mut Backlog<'_, '_>,
        cx: Option<&mut Context<'_>>,
    ) -> Result<(), WireStatus> {
        self.write_frames::<N, S>(backlog, cx)
    }

    /// Writes the transport's own frame, if any, and up to `N` frames of `backlog` (`S`, the
    /// room for their pieces, is `2 N + 1`) in one vectored write; `Err` says where to stop.
    fn write_frames<const N: usize, const S: usize>(
        &mut self,
        backlog: &mut Backlog<'_, '_>,
        cx: Option<&mut Context<'_>>,
    ) -> Result<(), WireStatus> {
        let offset = backlog.offset();
        let opcode = match self.format {
            TransferFormat::Text => frame::TEXT,
            TransferFormat::Binary => frame::BINARY,
        };
        let check_text = opcode == frame::TEXT && !backlog.text_vouched();
        let own = match offset {
            0 => &self.own[self.own_written..],
            _ => &[][..],
        };
        let own_len = own.len();
        let mut slices = Slices::<S>::default();
        slices.push(own);
        // One walk sets up each frame's header and its pieces; each header is its own element
        // of `headers`, so a piece can borrow it while the next is written. A header length
        // of `None`: a text frame that is not UTF-8, dropped.
        let mut headers = [[0; MAX_SERVER_HEADER]; N];
        let mut header_lens = [None; N];
        let mut frames = 0;
        let mut skip = offset;
        for (item, header) in backlog.iter().zip(headers.iter_mut()) {
            let Some(payload) = item.payload() else {
                break;
            };
            // A frame begun was checked before.
            let begun = frames == 0 && offset > 0;
            if !begun && check_text && crate::utf8::from_utf8(payload).is_err() {
                tracing::error!("dropped a text frame that is not UTF-8");
            } else {
                let start = frame::server_header(opcode, payload.len(), header);
                let header: &[u8] = &header[start..];
                header_lens[frames] = Some(header.len());
                let from_header = skip.min(header.len());
                slices.push(&header[from_header..]);
                slices.push(&payload[skip - from_header..]);
                skip = 0;
            }
            frames += 1;
        }
        if slices.total == 0 {
            if frames == 0 {
                return Err(self.finish(cx));
            }
            // Only dropped frames: they are done.
            backlog.advance(frames, 0);
            return Ok(());
        }
        let total = slices.total;
        let polled = self.io.poll_write(cx, slices.as_slice());
        let written = self.written(polled)?;
        // Account for what went: the transport's frame first, then the items in order.
        let own_part = written.min(own_len);
        self.own_written += own_part;
        if written == total {
            // All of it, as nearly every write: no need to find where it stopped.
            backlog.advance(frames, 0);
            return Ok(());
        }
        let mut left = written - own_part;
        let (mut done, mut at) = (0, offset);
        for (i, item) in backlog.iter().take(frames).enumerate() {
            let size = match (header_lens[i], item.payload()) {
                (Some(header_len), Some(payload)) => header_len + payload.len(),
                _ => 0,
            };
            if left < size - at {
                at += left;
                break;
            }
            left -= size - at;
            done = i + 1;
            at = 0;
        }
        backlog.advance(done, at);
        Ok(())
    }
}

/// The pieces of one vectored write, at most `S`.
struct Slices<'a, const S: usize> {
    slices: [IoSlice<'a>; S],
    count: usize,
    total: usize,
}

impl<const S: usize> Default for Slices<'_, S> {
    fn default() -> Self {
        Self {
            slices: [IoSlice::new(&[]); S],
            count: 0,
            total: 0,
        }
    }
}

impl<'a, const S: usize> Slices<'a, S> {
    fn push(&mut self, bytes: &'a [u8]) {
        if !bytes.is_empty() {
            self.slices[self.count] = IoSlice::new(bytes);
            self.count += 1;
            self.total += bytes.len();
        }
    }

    fn as_slice(&self) -> &[IoSlice<'a>] {
        &self.slices[..self.count]
    }
}
