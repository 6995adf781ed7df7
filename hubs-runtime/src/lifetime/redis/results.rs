//! Client results across nodes: the answers this node awaits from connections elsewhere, and
//! the invocations it forwarded to its own connections for other nodes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use tokio::sync::oneshot;

use crate::lifetime::{ClientResult, ClientResultError};

type Answer = Result<ClientResult, ClientResultError>;

/// The client-result bookkeeping of one node.
#[derive(Debug)]
pub(super) struct RemoteResults {
    /// Random per node: the first half of every invocation id this node makes.
    node_tag: [u8; 8],
    next: AtomicU64,
    /// Answers awaited from connections on other nodes, by invocation id.
    awaited: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// Invocations forwarded to connections here: connection id -> invocation id -> the
    /// channel the answer goes back on.
    forwarded: Mutex<HashMap<String, HashMap<String, String>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An awaited answer; forgotten when dropped.
pub(super) struct AwaitedAnswer<'a> {
    results: &'a RemoteResults,
    id: String,
    pub(super) receiver: oneshot::Receiver<Answer>,
}

impl Drop for AwaitedAnswer<'_> {
    fn drop(&mut self) {
        lock(&self.results.awaited).remove(&self.id);
    }
}

impl RemoteResults {
    /// The bookkeeping of a node whose invocation ids start with `node_tag`.
    pub(super) fn new(node_tag: [u8; 8]) -> Self {
        Self {
            node_tag,
            next: AtomicU64::new(1),
            awaited: Mutex::default(),
            forwarded: Mutex::default(),
        }
    }

    /// A new invocation id, unique across nodes: 16 bytes, this node's tag then a counter,
    /// in URL-safe base64 (22 characters, the length of ASP.NET Core's GUID-based ids).
    pub(super) fn new_invocation_id(&self) -> String {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&self.node_tag);
        raw[8..].copy_from_slice(&self.next.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Awaits the answer to invocation `id`.
    pub(super) fn expect(&self, id: String) -> AwaitedAnswer<'_> {
        let (sender, receiver) = oneshot::channel();
        lock(&self.awaited).insert(id.clone(), sender);
        AwaitedAnswer {
            results: self,
            id,
            receiver,
        }
    }

    /// Hands an answer that came back to whoever awaits it; false when nobody does.
    pub(super) fn answer(&self, invocation_id: &str, answer: Answer) -> bool {
        match lock(&self.awaited).remove(invocation_id) {
            Some(sender) => sender.send(answer).is_ok(),
            None => false,
        }
    }

    /// Fails every awaited answer (the way back is gone).
    pub(super) fn fail_awaited(&self, error: &ClientResultError) {
        for (_, sender) in lock(&self.awaited).drain() {
            let _ = sender.send(Err(error.clone()));
        }
    }

    /// Notes that invocation `invocation_id` was forwarded to connection `connection_id` here
    /// and is answered on `return_channel`.
    pub(super) fn forward(
        &self,
        connection_id: &str,
        invocation_id: String,
        return_channel: String,
    ) {
        lock(&self.forwarded)
            .entry(connection_id.to_owned())
            .or_default()
            .insert(invocation_id, return_channel);
    }

    /// The return channel of a forwarded invocation, which is answered now.
    pub(super) fn take_forwarded(
        &self,
        connection_id: &str,
        invocation_id: &str,
    ) -> Option<String> {
        let mut forwarded = lock(&self.forwarded);
        let of_connection = forwarded.get_mut(connection_id)?;
        let channel = of_connection.remove(invocation_id);
        if of_connection.is_empty() {
            forwarded.remove(connection_id);
        }
        channel
    }

    /// Every unanswered invocation forwarded to a connection that is leaving, with its return
    /// channel.
    pub(super) fn take_all_forwarded(&self, connection_id: &str) -> Vec<(String, String)> {
        lock(&self.forwarded)
            .remove(connection_id)
            .map(|of_connection| of_connection.into_iter().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use bytes::Bytes;

    #[test]
    fn ids_name_the_node_and_answers_reach_their_waiter_once() {
        let results = RemoteResults::new(*b"node-one");
        let (a, b) = (results.new_invocation_id(), results.new_invocation_id());
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert_eq!(a[..10], b[..10], "the node's tag comes first");

        let mut awaited = results.expect(a.clone());
        let answer = ClientResult::new(Protocol::Json, Bytes::from_static(b"1"));
        assert!(results.answer(&a, Ok(answer)));
        assert!(!results.answer(&a, Err(ClientResultError::Client("late".into()))));
        assert_eq!(
            awaited
                .receiver
                .try_recv()
                .unwrap()
                .unwrap()
                .decode::<i32>(),
            Ok(1)
        );
        drop(awaited);
        assert!(lock(&results.awaited).is_empty());

        results.forward("c", "i1".into(), "ret".into());
        results.forward("c", "i2".into(), "ret".into());
        assert_eq!(results.take_forwarded("c", "i1").as_deref(), Some("ret"));
        assert_eq!(results.take_forwarded("c", "i1"), None);
        assert_eq!(
            results.take_all_forwarded("c"),
            [("i2".to_string(), "ret".to_string())]
        );
        assert!(lock(&results.forwarded).is_empty());
    }
}
