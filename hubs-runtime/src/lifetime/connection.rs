//! A connection as the lifetime layer sees it: its id, protocol, user, send queue, group
//! memberships and the client results it is awaited for.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use tokio::sync::{Semaphore, oneshot};
use tokio_util::sync::CancellationToken;

use super::message::{ClientResult, ClientResultError, SerializedMessage};
use crate::auth::Principal;
use crate::connection::{FanOutWrites, LentFrame, Outgoing, SendQueue, TrySendError};
use crate::protocol::{EncodeError, Protocol};
use crate::{coarse_clock, telemetry};

type PendingResult = oneshot::Sender<Result<ClientResult, ClientResultError>>;

/// A connection as the lifetime layer sees it: an id, a protocol and a bounded send queue.
///
/// In declared order (`repr(C)`): what every message reads (the protocol and the queue) sits
/// next to the reference count, so a message to a connection whose state is out of the
/// cache usually misses one line here, not two (the protocol came last, 200 bytes on).
#[derive(Debug)]
#[repr(C)]
pub struct HubConnection {
    protocol: Protocol,
    /// When something was last queued for the client, on the coarse clock (in the protocol's
    /// padding, on the line every send reads).
    last_sent: AtomicU32,
    outbound: SendQueue,
    id: Arc<str>,
    pub(super) abort: CancellationToken,
    user: Option<Arc<str>>,
    /// Who the connection authenticated as, if anyone.
    principal: Option<Arc<Principal>>,
    membership: Mutex<Membership>,
    /// Bounds the share of the send queue that server-to-client streams may fill; made when
    /// the connection first streams (most never do).
    stream_budget: OnceLock<Arc<Semaphore>>,
    /// Client results awaited, by the invocation id sent (`s1`, `s2`, ...); `None` once closed.
    pending_results: Mutex<Option<HashMap<String, PendingResult>>>,
    next_invocation: AtomicU64,
}

/// Removes an awaited client result's entry when its wait ends.
struct ForgetPending<'a> {
    connection: &'a HubConnection,
    id: &'a str,
}

impl Drop for ForgetPending<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self.connection.pending().as_mut() {
            pending.remove(self.id);
        }
    }
}

/// The groups a connection is in, so leaving costs only its own groups.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    /// Set once the connection left; later group adds are ignored.
    pub(crate) closed: bool,
    pub(crate) groups: HashSet<Arc<str>>,
}

/// Bytes of stream frames a connection's queue holds at most: half its buffer size.
fn stream_budget(outbound: &SendQueue) -> usize {
    (outbound.limits().buffer / 2).clamp(1, u32::MAX as usize)
}

impl HubConnection {
    /// A connection whose messages go to `outbound`; `abort` drops the transport at once.
    pub fn new(
        id: Arc<str>,
        protocol: Protocol,
        user: Option<Arc<str>>,
        outbound: SendQueue,
        abort: CancellationToken,
    ) -> Self {
        Self {
            id,
            protocol,
            last_sent: AtomicU32::new(coarse_clock::now()),
            user,
            principal: None,
            stream_budget: OnceLock::new(),
            outbound,
            abort,
            membership: Mutex::default(),
            pending_results: Mutex::new(Some(HashMap::new())),
            next_invocation: AtomicU64::new(1),
        }
    }

    /// With the principal the connection authenticated as.
    pub fn with_principal(mut self, principal: Option<Arc<Principal>>) -> Self {
        self.principal = principal;
        self
    }

    /// Who the connection authenticated as, if anyone.
    pub fn principal(&self) -> Option<&Arc<Principal>> {
        self.principal.as_ref()
    }

    /// The transport's token: cancelled when the transport goes or is dropped.
    pub(crate) fn abort_token(&self) -> &CancellationToken {
        &self.abort
    }

    /// The public connection id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The shared id.
    pub fn id_arc(&self) -> &Arc<str> {
        &self.id
    }

    /// The negotiated hub protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The user this connection belongs to, if any.
    pub fn user(&self) -> Option<&Arc<str>> {
        self.user.as_ref()
    }

    /// Queues one framed message without waiting. A connection whose queue is full cannot keep
    /// up; it is aborted rather than allowed to stall the sender. Returns whether it was queued:
    /// not when the connection is gone or too slow, nor when its protocol is JSON and `frame`
    /// is not UTF-8 (which is logged).
    pub fn deliver(&self, frame: Bytes) -> bool {
        self.sendable(&frame) && self.queue(Outgoing::Frame(frame))
    }

    /// Queues a message that stateful reconnect neither numbers nor replays (Ping, Close, Ack),
    /// as [`deliver`](Self::deliver) does.
    pub fn deliver_control(&self, frame: Bytes) -> bool {
        self.sendable(&frame) && self.deliver_own_control(frame)
    }

    /// [`deliver_control`](Self::deliver_control) of a frame this connection's protocol wrote
    /// (a Ping, Ack or Close of the hub's): UTF-8 where it must be, so not checked.
    pub(crate) fn deliver_own_control(&self, frame: Bytes) -> bool {
        self.queue(Outgoing::Control(frame))
    }

    /// Whether `frame` may be sent to this client ([`Protocol::can_send`]); logged when not.
    fn sendable(&self, frame: &[u8]) -> bool {
        let sendable = self.protocol.can_send(frame);
        if !sendable {
            tracing::error!(connection_id = %self.id, "dropped a JSON frame that is not UTF-8");
        }
        sendable
    }

    fn queue(&self, item: Outgoing) -> bool {
        let bytes = item.len();
        self.queued(bytes, self.outbound.try_send(item))
    }

    /// [`deliver`](Self::deliver) of a frame the caller only lends: copied only when the
    /// socket does not take it at once. Written by the connection's protocol, so not checked.
    pub(crate) fn deliver_lent(&self, frame: LentFrame<'_>) -> bool {
        let bytes = frame.len();
        self.queued(bytes, self.outbound.try_send_lent(frame))
    }

    /// Holds what is sent to this connection from here on, to leave in one write at
    /// [`end_batch`](Self::end_batch) (or once it fills the send buffer): the replies to a
    /// client's burst of calls.
    pub(crate) fn begin_batch(&self) {
        self.outbound.batch();
    }

    /// Sends what [`begin_batch`](Self::begin_batch) held.
    pub(crate) fn end_batch(&self) {
        self.outbound.end_batch();
    }

    /// When something was last queued for the client, on the coarse clock (to within its few
    /// milliseconds): the keep-alive pings only a connection that was sent nothing for its
    /// interval.
    pub(crate) fn last_sent(&self) -> u32 {
        self.last_sent.load(Ordering::Relaxed)
    }

    /// Stamps a send. Written only when the clock has moved on, so the line stays clean
    /// through the deliveries of a broadcast; a racing sender may leave a stamp a few
    /// milliseconds older, which only brings a ping forward.
    #[inline]
    fn note_sent(&self) {
        let now = coarse_clock::now();
        if self.last_sent.load(Ordering::Relaxed) != now {
            self.last_sent.store(now, Ordering::Relaxed);
        }
    }

    /// Counts an item of `bytes` queued, or reports why it was not.
    #[inline]
    fn queued(&self, bytes: usize, queued: Result<(), TrySendError>) -> bool {
        match queued {
            Ok(()) => {
                self.note_sent();
                telemetry::sent(1, bytes);
                true
            }
            // Reported once per connection: later items are refused as closed.
            Err(TrySendError::Full(_)) => {
                telemetry::slow_client_disconnected();
                tracing::warn!(connection_id = %self.id, "the client does not keep up with what is sent to it; closing it");
                self.abort.cancel();
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Queues the message of `message` in this connection's protocol.
    pub fn deliver_serialized(&self, message: &SerializedMessage) -> bool {
        match message.get(self.protocol) {
            // Checked when it was set, not here at each recipient.
            Some(bytes) => self.queue(Outgoing::Frame(bytes.clone())),
            None => false,
        }
    }

    /// Starts loading the line a delivery reads first: the protocol and the queue's handle.
    #[inline]
    pub(crate) fn prefetch(&self) {
        crate::prefetch::prefetch(self);
    }

    /// Starts loading the queue's state; call once [`prefetch`](Self::prefetch) has had time.
    #[inline]
    pub(crate) fn prefetch_queue(&self) {
        self.outbound.prefetch();
    }

    /// [`deliver_serialized`](Self::deliver_serialized) as one of the many deliveries of a
    /// fan-out: the write to the socket is left to `writes`.
    pub(crate) fn deliver_in_fan_out(
        &self,
        message: &SerializedMessage,
        writes: &mut FanOutWrites,
    ) -> bool {
        let Some(bytes) = message.get(self.protocol) else {
            return false;
        };
        let queued = self
            .outbound
            .try_send_later(Outgoing::Frame(bytes.clone()), writes);
        self.queued(bytes.len(), queued)
    }

    /// Queues one frame of a server-to-client stream, waiting while the stream's frames fill
    /// half of the send buffer: a slow reader slows the stream down instead of filling memory
    /// or being taken for too slow. Returns whether it was queued (see
    /// [`deliver`](Self::deliver)).
    pub async fn deliver_paced(&self, frame: Bytes) -> bool {
        self.sendable(&frame) && self.deliver_own_paced(frame).await
    }

    /// [`deliver_paced`](Self::deliver_paced) of a frame this connection's protocol wrote (a
    /// stream's items and its Completion): UTF-8 where it must be, so not checked per item.
    pub(crate) async fn deliver_own_paced(&self, frame: Bytes) -> bool {
        let cost = frame.len().clamp(1, stream_budget(&self.outbound)) as u32;
        let budget = self
            .stream_budget
            .get_or_init(|| Arc::new(Semaphore::new(stream_budget(&self.outbound))));
        let Ok(permit) = Arc::clone(budget).acquire_many_owned(cost).await else {
            return false;
        };
        let bytes = frame.len();
        let sent = self
            .outbound
            .send(Outgoing::Paced(frame, permit))
            .await
            .is_ok();
        if sent {
            self.note_sent();
            telemetry::sent(1, bytes);
        }
        sent
    }

    pub(crate) fn membership(&self) -> std::sync::MutexGuard<'_, Membership> {
        self.membership
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn pending(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<HashMap<String, PendingResult>>> {
        self.pending_results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends an invocation written by `encode` with a fresh id and waits for the client's
    /// Completion.
    pub async fn invoke(
        &self,
        encode: &(dyn Fn(&str, Protocol) -> Result<Bytes, EncodeError> + Sync),
    ) -> Result<ClientResult, ClientResultError> {
        let id = format!("s{}", self.next_invocation.fetch_add(1, Ordering::Relaxed));
        let frame =
            encode(&id, self.protocol).map_err(|e| ClientResultError::Encode(e.to_string()))?;
        let (sender, receiver) = oneshot::channel();
        match self.pending().as_mut() {
            Some(pending) => pending.insert(id.clone(), sender),
            None => return Err(ClientResultError::Disconnected(self.id.to_string())),
        };
        // However the wait ends (answer, timeout, the caller giving up), the entry goes.
        let _forget = ForgetPending {
            connection: self,
            id: &id,
        };
        if !self.deliver(frame) {
            return Err(ClientResultError::Disconnected(self.id.to_string()));
        }
        let result = receiver.await;
        result.unwrap_or_else(|_| Err(ClientResultError::Disconnected(self.id.to_string())))
    }

    /// Hands a client's Completion to the invocation awaiting it; false when none is.
    pub fn complete_invocation(
        &self,
        invocation_id: &str,
        result: Result<ClientResult, ClientResultError>,
    ) -> bool {
        let sender = self
            .pending()
            .as_mut()
            .and_then(|p| p.remove(invocation_id));
        match sender {
            Some(sender) => {
                let _ = sender.send(result);
                true
            }
            None => false,
        }
    }

    /// Fails every awaited client result; later invocations fail at once.
    pub fn fail_pending_invocations(&self) {
        let pending = self.pending().take().unwrap_or_default();
        for (_, sender) in pending {
            let _ = sender.send(Err(ClientResultError::Disconnected(self.id.to_string())));
        }
    }
}
