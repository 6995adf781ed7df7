//! What the read loop does with the messages other than an invocation: upload items,
//! Completions (of uploads and of client results), cancellations, Pings, stateful
//! reconnect's Ack and Sequence, and Close.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::hub::streams::UploadItem;
use crate::lifetime::ClientResult;
use crate::protocol::{CompletionOutcome, HubMessage};

use super::reader::{BlockedUpload, Reader};
use super::{End, HubDispatcher, lock};

impl<H: Hub> HubDispatcher<H> {
    /// Handles any message (the loop above handles invocations itself); whether reading
    /// pauses after it (a call waits for a slot, an upload item for room).
    #[inline(never)]
    pub(super) fn handle(
        &self,
        reader: &mut Reader<'_>,
        message: &HubMessage<'_>,
    ) -> Result<bool, End> {
        let connection = reader.context.connection();
        let protocol = connection.protocol();
        match message {
            HubMessage::Invocation(invocation) | HubMessage::StreamInvocation(invocation) => {
                let streaming = matches!(message, HubMessage::StreamInvocation(_));
                return Ok(self.call(reader, invocation, streaming));
            }
            HubMessage::StreamItem {
                invocation_id,
                item,
            } => {
                if let Some(upload) = reader.calls.uploads.get(&**invocation_id) {
                    let item = UploadItem::Item(Bytes::copy_from_slice(item));
                    match upload.try_send(item) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            reader.calls.uploads.remove(&**invocation_id);
                        }
                        Err(mpsc::error::TrySendError::Full(item)) => {
                            reader.blocked = Some(Box::new(BlockedUpload {
                                upload: upload.clone(),
                                item,
                                stream: Some(invocation_id.to_string()),
                            }));
                            return Ok(true);
                        }
                    }
                }
            }
            HubMessage::Completion {
                invocation_id,
                outcome,
            } => {
                // Upload streams first, then client results, as ASP.NET Core matches them.
                if let Some(upload) = reader.calls.uploads.remove(&**invocation_id) {
                    if let CompletionOutcome::Error(error) = outcome {
                        let item = UploadItem::Error(error.to_string());
                        if let Err(mpsc::error::TrySendError::Full(item)) = upload.try_send(item) {
                            reader.blocked = Some(Box::new(BlockedUpload {
                                upload,
                                item,
                                stream: None,
                            }));
                            return Ok(true);
                        }
                    }
                } else {
                    let result = ClientResult::from_outcome(protocol, outcome);
                    if !self
                        .lifetime
                        .complete_client_result(connection, invocation_id, result)
                    {
                        tracing::debug!(%invocation_id, "completion for nothing awaited");
                    }
                }
            }
            HubMessage::CancelInvocation { invocation_id } => {
                let token = reader
                    .calls
                    .running
                    .as_ref()
                    .and_then(|running| lock(running).remove(&**invocation_id));
                if let Some(token) = token {
                    token.cancel();
                }
            }
            HubMessage::Ping => reader.saw_ping = true,
            HubMessage::Ack { sequence_id } => {
                if let Some(incoming) = &reader.incoming {
                    incoming.resumable.acknowledge(*sequence_id);
                }
            }
            HubMessage::Sequence { sequence_id } => {
                if let Some(incoming) = reader.incoming.as_mut() {
                    if *sequence_id > incoming.received + 1 {
                        return Err(End::failed(
                            "InvalidOperationException",
                            "Sequence ID greater than amount of messages we've received.",
                        ));
                    }
                    incoming.next = *sequence_id;
                }
            }
            HubMessage::Close { error } => {
                if let Some(error) = error {
                    tracing::debug!(%error, "the client closed with an error");
                }
                return Err(End::ClientClosed);
            }
            HubMessage::Ignored => {}
        }
        Ok(false)
    }
}
