//! The running backplane of one node: publishing, group commands that await acks, client
//! results that cross nodes, and answers going back.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::envelope::{self, GroupAction, GroupCommand, Reply};
use super::state::{Interest, LIVENESS_INTERVAL, Node, SUBSCRIBE_WAIT};
use crate::lifetime::{
    ClientResult, ClientResultError, EncodeInvocation, HubConnection, SendError, SerializedMessage,
};
use crate::protocol::CompletionOutcome;

impl Node {
    /// Brings the subscription for `interest` up to date; waits a little for it.
    pub(super) async fn interest(&self, interest: Interest) {
        let (done, applied) = oneshot::channel();
        if self.interests.send((interest, done)).is_ok() {
            let _ = tokio::time::timeout(SUBSCRIBE_WAIT, applied).await;
        }
    }

    /// Queues one invocation for every channel of `channels` (see `publisher.rs`); the first
    /// error is returned.
    pub(super) async fn publish_invocation(
        &self,
        channels: Vec<String>,
        excluded: &[String],
        message: &SerializedMessage,
    ) -> Result<(), SendError> {
        let payload = envelope::write_invocation(excluded, message, None);
        let mut outcome = Ok(());
        for channel in channels {
            if let Err(error) = self
                .publisher
                .publish_queued(channel, payload.clone())
                .await
            {
                outcome = outcome.and(Err(error));
            }
        }
        outcome
    }

    /// Asks the node that holds `connection_id` to change its groups, and awaits its ack.
    pub(super) async fn group_command(
        &self,
        server_name: &str,
        action: GroupAction,
        connection_id: &str,
        group: &str,
    ) -> Result<(), SendError> {
        let ack = self.acks.create();
        let command = GroupCommand {
            id: ack.id(),
            server_name: server_name.to_owned(),
            action,
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        };
        let payload = envelope::write_group_command(&command);
        self.publisher
            .publish(self.channels.group_management().to_owned(), payload)
            .await?;
        let timeout = self.ack_timeout;
        ack.wait(timeout).await.map_err(|_| {
            let verb = match action {
                GroupAction::Add => "adding",
                GroupAction::Remove => "removing",
            };
            SendError::Backplane(format!(
                "no server acknowledged {verb} connection '{connection_id}' to group '{group}' within {timeout:?}: no node holds it"
            ))
        })
    }

    /// Calls a client method on connection `connection_id` of another node and awaits its
    /// answer, which comes back on this node's return channel.
    pub(super) async fn invoke_remote(
        &self,
        connection_id: &str,
        encode: &EncodeInvocation<'_>,
    ) -> Result<ClientResult, ClientResultError> {
        let invocation_id = self.results.new_invocation_id();
        let message =
            SerializedMessage::encode(self.protocols, |protocol| encode(&invocation_id, protocol))
                .map_err(|e| ClientResultError::Encode(e.to_string()))?;
        let reply = Reply {
            invocation_id: invocation_id.clone(),
            return_channel: self.channels.return_results().to_owned(),
        };
        let mut awaited = self.results.expect(invocation_id);
        let channel = self.channels.connection(connection_id);
        let payload = envelope::write_invocation(&[], &message, Some(&reply));
        match self.publisher.publish(channel.clone(), payload).await {
            Ok(0) => return Err(ClientResultError::NoConnection(connection_id.to_owned())),
            Ok(_) => {}
            Err(error) => return Err(ClientResultError::Unreachable(error.to_string())),
        }
        let deadline = self
            .client_result_timeout
            .map(|timeout| tokio::time::Instant::now() + timeout);
        loop {
            let check = tokio::time::sleep(LIVENESS_INTERVAL);
            tokio::select! {
                answer = &mut awaited.receiver => {
                    return answer.unwrap_or_else(|_| {
                        Err(ClientResultError::Unreachable("the answer was dropped".into()))
                    });
                }
                () = check => {}
            }
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                return Err(ClientResultError::Unreachable(format!(
                    "connection '{connection_id}' on another server did not answer within {:?}",
                    self.client_result_timeout.unwrap_or_default()
                )));
            }
            // No node subscribes to the connection's channel: it and its answer are gone.
            if let Ok(0) = self.driver.subscribers(&channel).await {
                return Err(ClientResultError::Disconnected(connection_id.to_owned()));
            }
        }
    }

    /// Sends the answer of `connection` (here) to a client result another node asked for.
    pub(super) fn answer_completion(
        &self,
        connection: &HubConnection,
        invocation_id: &str,
        result: &Result<ClientResult, ClientResultError>,
    ) -> Bytes {
        let protocol = connection.protocol();
        let error;
        let outcome = match result {
            Ok(value) => CompletionOutcome::Result(value.raw()),
            Err(ClientResultError::Client(text)) => CompletionOutcome::error(text),
            Err(other) => {
                error = other.to_string();
                CompletionOutcome::error(&error)
            }
        };
        let framed = protocol.write_completion(invocation_id, outcome);
        envelope::write_completion(protocol.name(), &framed)
    }
}
