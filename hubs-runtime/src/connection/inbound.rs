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
        mut lend: impl FnMut(&[u8]) -> R,
    ) -> Poll<Option<R>> {
        match &mut self.0 {
            Source::WebSocket(messages) => messages.poll_lend(cx, &mut lend),
            Source::Chunks(chunks) => chunks
                .as_mut()
                .poll_next(cx)
                .map(|chunk| chunk.map(|chunk| lend(&chunk))),
        }
    }
}

impl Stream for Inbound {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match &mut self.get_mut().0 {
            Source::WebSocket(messages) => messages.poll_lend(cx, &mut Bytes::copy_from_slice),
            Source::Chunks(chunks) => chunks.as_mut().poll_next(cx),
        }
    }
}
