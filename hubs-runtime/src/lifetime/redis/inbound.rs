//! What arrives from Redis: invocations for connections here, group commands for them, acks,
//! answers to client results this node asked for, and the pub/sub connection's ups and downs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::channels::Channel;
use super::driver::Inbound;
use super::envelope::{self, GroupAction};
use super::state::{Interest, Node, Shared};
use crate::lifetime::{ClientResult, ClientResultError, Target};
use crate::protocol::{HubMessage, Protocol};

/// Handles what the driver receives until the manager is gone.
pub(super) async fn run(shared: Weak<Shared>, mut received: mpsc::UnboundedReceiver<Inbound>) {
    while let Some(item) = received.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Some(node) = shared.node() else { continue };
        match item {
            Inbound::Message { channel, payload } => shared.received(node, &channel, payload),
            Inbound::Connected => tracing::debug!("Redis subscriptions in place"),
            Inbound::Disconnected => {
                // Answers published while the connection is down are lost.
                node.results.fail_awaited(&ClientResultError::Unreachable(
                    "the connection to Redis was lost while a client result was awaited".into(),
                ));
            }
        }
    }
}

/// Warned about once: a message lacking the protocol of some connection here.
static MISSING_PROTOCOL_WARNED: AtomicBool = AtomicBool::new(false);

impl Shared {
    /// Whether an invocation's excluded ids name this node: it published the message and has
    /// delivered it here already.
    fn is_own(&self, excluded: &[String]) -> bool {
        excluded.contains(&self.server_name)
    }

    fn received(self: &Arc<Self>, node: &Node, channel: &str, payload: Bytes) {
        let Some(kind) = node.channels.parse(channel) else {
            tracing::debug!(channel, "message on a channel this node does not know");
            return;
        };
        let outcome = match kind {
            Channel::All | Channel::Group(_) | Channel::User(_) | Channel::Connection(_) => {
                self.invocation(node, kind, &payload)
            }
            Channel::GroupManagement => self.group_command(&payload),
            Channel::Ack => envelope::read_ack(&payload).map(|id| node.acks.trigger(id)),
            Channel::ReturnResults => self.answer(node, &payload),
        };
        if let Err(error) = outcome {
            tracing::warn!(channel, %error, "ignored a backplane message");
        }
    }

    fn invocation(
        &self,
        node: &Node,
        kind: Channel<'_>,
        payload: &Bytes,
    ) -> Result<(), envelope::EnvelopeError> {
        let invocation = envelope::read_invocation(payload)?;
        if self.is_own(&invocation.excluded) {
            return Ok(());
        }
        let message = invocation.message();
        let covered = message.protocols();
        if self
            .local
            .local_protocols()
            .iter()
            .any(|p| !covered.contains(p))
            && !MISSING_PROTOCOL_WARNED.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "This message was received from another server that did not have the requested protocol available."
            );
        }
        let target = match kind {
            Channel::All => Target::AllExcept(invocation.excluded),
            Channel::Group(group) => Target::GroupExcept(group.to_owned(), invocation.excluded),
            Channel::User(user) => Target::User(user.to_owned()),
            Channel::Connection(id) => {
                if let Some(reply) = invocation.reply {
                    if self.local.connection(id).is_none() {
                        return Ok(());
                    }
                    node.results
                        .forward(id, reply.invocation_id, reply.return_channel);
                }
                Target::Connection(id.to_owned())
            }
            _ => return Ok(()),
        };
        self.local.deliver(&target, &message);
        Ok(())
    }

    /// Applies a group command for a connection here and acks it.
    fn group_command(self: &Arc<Self>, payload: &Bytes) -> Result<(), envelope::EnvelopeError> {
        let command = envelope::read_group_command(payload)?;
        if self.local.connection(&command.connection_id).is_none() {
            return Ok(()); // another node's connection
        }
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            let Some(node) = shared.node() else { return };
            let changed = match command.action {
                GroupAction::Add => shared.local.add(&command.connection_id, &command.group),
                GroupAction::Remove => shared.local.remove(&command.connection_id, &command.group),
            };
            if changed {
                node.interest(Interest::Group(Arc::from(command.group.as_str())))
                    .await;
            }
            let ack = envelope::write_ack(command.id);
            let _ = node
                .publisher
                .publish(node.channels.ack_of(&command.server_name), ack)
                .await;
        });
        Ok(())
    }

    /// Hands the answer to a client result this node asked for to its waiter.
    fn answer(&self, node: &Node, payload: &Bytes) -> Result<(), envelope::EnvelopeError> {
        let completion = envelope::read_completion(payload)?;
        let Some(protocol) = Protocol::from_name(&completion.protocol) else {
            return Err(envelope::EnvelopeError(format!(
                "a client result in protocol '{}', which this server does not have",
                completion.protocol
            )));
        };
        let parsed = protocol.parse(&completion.framed, None);
        let Ok(Some((
            HubMessage::Completion {
                invocation_id,
                outcome,
            },
            _,
        ))) = parsed
        else {
            return Err(envelope::EnvelopeError(
                "a client result that is no Completion".into(),
            ));
        };
        let answer = ClientResult::from_outcome(protocol, &outcome);
        if !node.results.answer(&invocation_id, answer) {
            tracing::debug!(%invocation_id, "a client result nobody awaits any more");
        }
        Ok(())
    }
}
