//! Streams in both directions: upload streams a client sends into a hub method, and the
//! forwarding of a hub method's stream to the client.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::{Context, HubError};
use crate::protocol::{Encoded, Protocol};

/// What the read loop passes to an upload stream.
#[derive(Debug)]
pub(crate) enum UploadItem {
    /// One encoded item.
    Item(Bytes),
    /// The client completed the stream with an error.
    Error(String),
}

/// An upload stream before the hub method's parameter gives it an item type.
#[doc(hidden)]
#[derive(Debug)]
pub struct UploadChannel {
    pub(crate) receiver: mpsc::Receiver<UploadItem>,
    pub(crate) protocol: Protocol,
}

/// A stream the client sends to a hub method (a `Subject` in JavaScript, a
/// `ChannelReader`/`IAsyncEnumerable` argument in .NET).
///
/// Declare a parameter of this type; each one binds, in order, to one of the invocation's
/// streams. Items arrive as the client sends them; the stream ends when the client completes it,
/// with an `Err` item first if the client completed it with an error (or an item does not
/// deserialize).
///
/// ```
/// use futures_util::StreamExt;
/// use hubs::prelude::*;
/// use hubs::UploadStream;
///
/// struct Uploads;
///
/// #[hub]
/// impl Uploads {
///     /// `connection.send("Sum", subject)`, then `subject.next(1)`, ..., `subject.complete()`.
///     pub async fn sum(&self, mut numbers: UploadStream<i64>) -> Result<i64, HubError> {
///         let mut total = 0;
///         while let Some(n) = numbers.next().await {
///             total += n?;
///         }
///         Ok(total)
///     }
/// }
/// ```
pub struct UploadStream<T> {
    receiver: mpsc::Receiver<UploadItem>,
    protocol: Protocol,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for UploadStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadStream").finish_non_exhaustive()
    }
}

impl<T> UploadStream<T> {
    #[doc(hidden)]
    pub fn new(channel: UploadChannel) -> Self {
        Self {
            receiver: channel.receiver,
            protocol: channel.protocol,
            _item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for UploadStream<T> {
    type Item = Result<T, HubError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let protocol = self.protocol;
        self.receiver.poll_recv(cx).map(|item| {
            item.map(|item| match item {
                UploadItem::Item(raw) => protocol
                    .decode_value(&raw)
                    .map_err(|e| HubError::internal("InvalidDataException", e)),
                UploadItem::Error(error) => Err(HubError::new(error)),
            })
        })
    }
}

/// Sends each item of `stream` to the caller as a StreamItem, waiting while the connection's
/// queue is busy. Ends early when the client goes away.
async fn forward<S, T>(context: &Context, stream: S) -> Result<(), HubError>
where
    S: Stream<Item = Result<T, HubError>>,
    T: Serialize,
{
    let Some(id) = context.invocation_id() else {
        return Ok(());
    };
    context.mark_stream_started();
    let connection = context.connection();
    let protocol = connection.protocol();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let raw = context
            .encode(&item?)
            .map_err(|e| HubError::internal("SerializationException", e.0))?;
        if !connection
            .deliver_own_paced(protocol.write_stream_item(id, &raw))
            .await
        {
            break;
        }
    }
    Ok(())
}

/// Forwards a stream of plain items.
#[doc(hidden)]
pub async fn forward_stream<S>(context: &Context, stream: S) -> Result<Encoded, HubError>
where
    S: Stream + Send,
    S::Item: Serialize,
{
    forward(context, stream.map(Ok))
        .await
        .map(|()| Encoded::default())
}

/// Forwards a stream whose items may fail; the first error ends the stream with it.
#[doc(hidden)]
pub async fn forward_fallible_stream<S, T, E>(
    context: &Context,
    stream: S,
) -> Result<Encoded, HubError>
where
    S: Stream<Item = Result<T, E>> + Send,
    T: Serialize,
    E: Into<HubError>,
{
    forward(context, stream.map(|item| item.map_err(Into::into)))
        .await
        .map(|()| Encoded::default())
}
