//! What a client sends, as its transport delivers it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use super::websocket::Messages;

/// The bytes a client sends, in arrival order, as the transport delivered them: a chunk may
/// hold several messages or part of one. An empty chunk means a new socket replaced a lost
/// one (stateful reconnect): a partial message from before is to be dropped.
///
/// A [`Stream`] of chunks, each in bytes of its own.
pub struct Inbound(Source);

enum Source {
    /// A WebSocket's messages, read where they arrived (see [`Inbound::poll_lend`]).
    /// Boxed: a connection keeps its `Inbound` for its whole life, mostly idle.
    WebSocket(Box<Messages>),
    /// Chunks that come in bytes of their own: request bodies (Server-Sent Events and Long
    /// Polling), or what a resumable WebSocket's loop passes on.
    Chunks(Pin<Box<dyn Stream<Item = Bytes> + Send>>),
}

impl Inbound {
    pub(super) fn websocket(messages: Messages) -> Self {
        Self(Source::WebSocket(Box::new(messages)))
    }

    pub(super) fn chunks(chunks: impl Stream<Item = Bytes> + Send + 'static) -> Self {
        Self(Source::Chunks(Box::pin(chunks)))
    }

    /// The next chunk, handed to `lend` where it lies; `None` once the client is gone. A
    /// WebSocket's message is lent from the buffer it was read into, with no copy of its own:
    /// `lend` runs before the thread reads any other socket, so it must not wait.
    #[inline]
    pub(crate) fn poll_lend<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut lend: impl FnMut(Chunk<'_>) -> R,
    ) -> Poll<Option<R>> {
        match &mut self.0 {
            Source::WebSocket(messages) => messages.poll_lend(cx, &mut lend),
            Source::Chunks(chunks) => chunks
                .as_mut()
                .poll_next(cx)
                .map(|chunk| chunk.map(|chunk| lend(Chunk::Bytes(&chunk)))),
        }
    }
}

/// A chunk as [`Inbound::poll_lend`] lends it: text the transport found to be UTF-8 (a
/// WebSocket's text messages, which RFC 6455 has it check), which need not be checked again,
/// or bytes that nobody checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Chunk<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Chunk<'a> {
    #[inline(always)]
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Chunk::Text(text) => text.as_bytes(),
            Chunk::Bytes(bytes) => bytes,
        }
    }

    /// What follows the first `at` bytes: still text when `at` is between characters.
    #[inline(always)]
    pub(crate) fn after(self, at: usize) -> Self {
        match self {
            Chunk::Text(text) => match text.get(at..) {
                Some(rest) => Chunk::Text(rest),
                None => Chunk::Bytes(&text.as_bytes()[at..]),
            },
            Chunk::Bytes(bytes) => Chunk::Bytes(&bytes[at..]),
        }
    }

    /// The chunk in bytes of its own.
    pub(crate) fn copied(self) -> Bytes {
        Bytes::copy_from_slice(self.bytes())
    }
}

impl Stream for Inbound {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match &mut self.get_mut().0 {
            Source::WebSocket(messages) => {
                messages.poll_lend(cx, &mut |chunk: Chunk<'_>| chunk.copied())
            }
            Source::Chunks(chunks) => chunks.as_mut().poll_next(cx),
        }
    }
}
