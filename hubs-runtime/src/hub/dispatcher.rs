//! One connection's life at the hub layer: handshake, the read loop with keep-alive and client
//! timeout, invocation dispatch (plain, streaming, with uploads), client-result completions,
//! and the closing message.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::streams::{UploadChannel, UploadItem};
use super::texts::{self, panic_error};
use super::{Bindings, Context, Hub, HubError, MethodFuture};
use super::{Decision, Policies};
use super::{FilterChain, HubInvocation, HubLifetimeContext};
use crate::auth::{ConnectionUser, UserIdProvider};
use crate::connection::{ConnectionHandler, Outgoing, Resumable, TransportConnection};
use crate::lifetime::{ClientResult, ClientResultError, HubConnection, HubLifetimeManager};
use crate::options::HubOptions;
use crate::protocol::{
    CompletionOutcome, HandshakeError, HubMessage, Invocation, Protocol, ProtocolError,
    SequenceMessage, parse_handshake, write_handshake_error,
};

/// Drives the connections of one hub endpoint.
pub(crate) struct HubDispatcher<H> {
    hub: Arc<H>,
    options: HubOptions,
    lifetime: Arc<dyn HubLifetimeManager>,
    /// Wire names in lower case -> index into `H::METHODS`.
    methods: HashMap<String, usize>,
    user_id: Option<UserIdProvider>,
    policies: Policies,
    filters: FilterChain,
    /// The hub's type name, for logs and filters.
    hub_name: &'static str,
}

/// Why a connection's read loop ended.
enum End {
    /// The client closed the transport or sent a Close message.
    ClientClosed,
    /// Hub code called `Context::abort`.
    CloseRequested,
    /// The transport failed or was aborted; nothing more can be sent.
    TransportGone,
    /// An error ends the connection; the client may reconnect.
    Failed(HubError),
    /// The connected hook failed; the client should not reconnect.
    ConnectFailed(HubError),
}

/// A bound invocation, ready to run.
struct Call {
    future: MethodFuture,
    context: Context,
    /// Error texts name the method as the client spelled it.
    name: Cow<'static, str>,
    streaming: bool,
    /// An async policy still to decide whether the call may run.
    authorization: Option<BoxFuture<'static, bool>>,
}

/// Streaming invocations that may still be cancelled, by invocation id.
type Running = Arc<Mutex<HashMap<String, CancellationToken>>>;

/// Per-connection state of the read loop.
struct Reader<'a> {
    context: &'a Context,
    slots: Arc<Semaphore>,
    /// The invocation waiting for a slot. While there is one the loop reads nothing more, as
    /// ASP.NET Core's does: the client's sends back up into its socket instead of this
    /// server's memory.
    waiting: Option<Call>,
    running: Running,
    uploads: HashMap<String, mpsc::Sender<UploadItem>>,
    saw_ping: bool,
    /// Numbering of the client's messages, with stateful reconnect.
    incoming: Option<Incoming>,
}

/// How often stateful reconnect acknowledges the client's messages.
const ACK_INTERVAL: Duration = Duration::from_secs(1);
/// A deadline that never comes, for a timer with nothing to do.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365);

/// The read loop's timed duties: pings, acknowledgements and the client timeout.
struct Timers {
    keep_alive: Duration,
    /// `None` without keep-alive.
    next_ping: Option<Instant>,
    /// `None` without stateful reconnect.
    next_ack: Option<Instant>,
    client_timeout: Duration,
    /// Armed by the client's first Ping.
    timeout_armed: bool,
    /// An invocation waits for a slot, so the client's messages go unread: the client
    /// timeout pauses meanwhile, as in ASP.NET Core.
    timeout_paused: bool,
    /// Set when the connection closes as its credentials expire.
    expiring: Option<Arc<ConnectionUser>>,
}

impl Timers {
    /// The earliest duty, given when the client last sent something.
    fn next_due(&self, last_message: Instant) -> Option<Instant> {
        let timeout = (self.timeout_armed && !self.timeout_paused)
            .then(|| last_message + self.client_timeout);
        [self.next_ping, self.next_ack, timeout, self.expiry()]
            .into_iter()
            .flatten()
            .min()
    }

    /// When the connection's credentials expire, if it closes then.
    fn expiry(&self) -> Option<Instant> {
        let expires_at = self.expiring.as_ref()?.expires_at()?;
        let left = expires_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        Some(Instant::now() + left)
    }

    fn expired(&self) -> bool {
        self.expiring
            .as_ref()
            .and_then(|user| user.expires_at())
            .is_some_and(|at| at <= std::time::SystemTime::now())
    }

    fn timed_out(&self, last_message: Instant, now: Instant) -> bool {
        self.timeout_armed && !self.timeout_paused && last_message + self.client_timeout <= now
    }
}

/// The client's side of stateful reconnect: which of its messages arrived.
struct Incoming {
    resumable: Arc<Resumable>,
    /// The highest sequence id processed.
    received: u64,
    /// The id the next counted message carries.
    next: u64,
    /// The highest id acknowledged to the client.
    acknowledged: u64,
}

impl<H: Hub> HubDispatcher<H> {
    pub(crate) fn new(
        hub: Arc<H>,
        options: HubOptions,
        lifetime: Arc<dyn HubLifetimeManager>,
        user_id: Option<UserIdProvider>,
        policies: Policies,
        filters: FilterChain,
    ) -> Self {
        let methods = H::METHODS
            .iter()
            .enumerate()
            .map(|(index, m)| (m.name.to_ascii_lowercase(), index))
            .collect();
        Self {
            hub,
            options,
            lifetime,
            methods,
            user_id,
            policies,
            filters,
            hub_name: super::filter::hub_name::<H>(),
        }
    }

    /// The connected hook, inside the filters when there are any.
    fn connected_hook(&self, context: Context) -> BoxFuture<'static, Result<(), HubError>> {
        if self.filters.is_empty() {
            return H::on_connected(&self.hub, context);
        }
        let hook = H::on_connected(&self.hub, context.clone());
        let lifetime = HubLifetimeContext::new(self.hub.clone(), self.hub_name, context);
        self.filters.around_connected(lifetime, hook)
    }

    /// The disconnected hook, inside the filters when there are any.
    fn disconnected_hook(
        &self,
        context: Context,
        error: Option<HubError>,
    ) -> BoxFuture<'static, ()> {
        if self.filters.is_empty() {
            return H::on_disconnected(&self.hub, context, error);
        }
        let hook = H::on_disconnected(&self.hub, context.clone(), error.clone());
        let lifetime = HubLifetimeContext::new(self.hub.clone(), self.hub_name, context);
        self.filters.around_disconnected(lifetime, error, hook)
    }

    /// Finds a method by wire name without regard to case.
    fn lookup(&self, target: &str) -> Option<usize> {
        if target.bytes().any(|b| b.is_ascii_uppercase()) {
            self.methods.get(&target.to_ascii_lowercase()).copied()
        } else {
            self.methods.get(target).copied()
        }
    }

    async fn serve(self: Arc<Self>, mut transport: TransportConnection) {
        let mut buffer = BytesMut::new();
        let handshake = tokio::time::timeout(
            self.options.handshake_timeout,
            self.handshake(&mut transport, &mut buffer),
        )
        .await
        .unwrap_or(Err(HandshakeError::Canceled));
        let protocol = match handshake {
            Ok(Some((protocol, version))) => {
                // Stateful reconnect needs both the negotiate and a version-2 handshake.
                if let Some(resumable) = transport.resumable.as_ref().filter(|_| version >= 2) {
                    resumable.activate(Box::new(move |id| {
                        protocol.write_sequence_message(SequenceMessage::Sequence, id)
                    }));
                }
                protocol
            }
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(connection_id = %transport.connection_id, %error, "handshake failed");
                let _ = transport
                    .outbound
                    .send(Outgoing::Control(write_handshake_error(&error)))
                    .await;
                let _ = transport.outbound.send(Outgoing::Close).await;
                return;
            }
        };
        // The response already goes out in the protocol's transfer format.
        let _ = transport
            .outbound
            .send(Outgoing::Format(protocol.transfer_format()))
            .await;
        let ok = Bytes::from_static(crate::protocol::HANDSHAKE_OK);
        let _ = transport.outbound.send(Outgoing::Control(ok)).await;

        // The user id user targets reach: the provider's, or the principal's name identifier.
        let user = transport.request.user.as_ref().and_then(|user| {
            let principal = user.principal();
            match &self.user_id {
                Some(provider) => provider(principal),
                None => principal.id().map(str::to_owned),
            }
            .filter(|id| !id.is_empty())
        });
        let connection = Arc::new(HubConnection::new(
            Arc::clone(&transport.connection_id),
            protocol,
            user.map(Arc::from),
            transport.outbound.clone(),
            transport.abort.clone(),
        ));
        self.lifetime.on_connected(Arc::clone(&connection)).await;
        // A child of the transport's token: one wait in the read loop sees either end.
        let close_requested = transport.abort.child_token();
        let hook_context = Context::new(
            Arc::clone(&connection),
            Arc::clone(&transport.request),
            Arc::clone(&self.lifetime),
            close_requested.clone(),
            self.options.maximum_parallel_invocations_per_client,
        );
        tracing::debug!(connection_id = %connection.id(), protocol = protocol.name(), "connected");

        let connected = AssertUnwindSafe(self.connected_hook(hook_context.clone()))
            .catch_unwind()
            .await;
        let context = hook_context.after_connected();
        let end = match connected {
            Ok(Ok(())) => {
                self.read_loop(&mut transport, &context, &close_requested, buffer)
                    .await
            }
            Ok(Err(error)) => End::ConnectFailed(error),
            Err(panic) => End::ConnectFailed(panic_error(&*panic)),
        };
        // Streams stop, cancellation waits end, awaited client results fail.
        context.close();
        connection.fail_pending_invocations();

        let error = match &end {
            End::Failed(e) | End::ConnectFailed(e) => Some(e.clone()),
            _ => None,
        };
        if AssertUnwindSafe(self.disconnected_hook(context.clone(), error))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(connection_id = %connection.id(), "the disconnected hook panicked");
        }
        self.lifetime.on_disconnected(&connection).await;

        let detailed = self.options.enable_detailed_errors;
        let close = match &end {
            End::ClientClosed | End::TransportGone => None,
            End::CloseRequested => Some(protocol.write_close(None, false)),
            End::Failed(e) => {
                Some(protocol.write_close(Some(&texts::closed_with_error(e, detailed)), true))
            }
            End::ConnectFailed(e) => {
                Some(protocol.write_close(Some(&texts::closed_with_error(e, detailed)), false))
            }
        };
        if let End::Failed(e) | End::ConnectFailed(e) = &end {
            tracing::info!(connection_id = %connection.id(), error = %e, "connection closed with an error");
        } else {
            tracing::debug!(connection_id = %connection.id(), "disconnected");
        }
        if let Some(close) = close {
            connection.deliver_control(close);
        }
        if transport.outbound.try_send(Outgoing::Close).is_err() {
            transport.abort.cancel();
        }
    }

    /// Reads the handshake request; `Ok(None)` when the client left first.
    async fn handshake(
        &self,
        transport: &mut TransportConnection,
        buffer: &mut BytesMut,
    ) -> Result<Option<(Protocol, u32)>, HandshakeError> {
        loop {
            if let Some((request, used)) =
                parse_handshake(buffer, self.options.maximum_receive_message_size)?
            {
                buffer.advance(used);
                return request
                    .select(&self.options.supported_protocols, transport.supports_binary)
                    .map(|protocol| Some((protocol, request.version)));
            }
            match transport.inbound.next().await {
                Some(chunk) => buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }

    async fn read_loop(
        &self,
        transport: &mut TransportConnection,
        context: &Context,
        close_requested: &CancellationToken,
        mut buffer: BytesMut,
    ) -> End {
        let connection = Arc::clone(context.connection());
        let protocol = connection.protocol();
        let mut reader = Reader {
            context,
            slots: Arc::new(Semaphore::new(
                self.options.maximum_parallel_invocations_per_client,
            )),
            waiting: None,
            running: Running::default(),
            uploads: HashMap::new(),
            saw_ping: false,
            incoming: transport
                .resumable
                .as_ref()
                .filter(|r| r.is_active())
                .map(|resumable| Incoming {
                    resumable: Arc::clone(resumable),
                    received: 0,
                    next: 1,
                    acknowledged: 0,
                }),
        };
        let now = Instant::now();
        // Long Polling has no keep-alive: neither pings nor a client timeout.
        let pings = transport.keep_alive;
        let mut timers = Timers {
            keep_alive: self.options.keep_alive_interval,
            next_ping: pings.then(|| now + self.options.keep_alive_interval),
            // With stateful reconnect, acknowledge what arrived about once a second.
            next_ack: reader.incoming.is_some().then(|| now + ACK_INTERVAL),
            client_timeout: self.options.client_timeout_interval,
            timeout_armed: false,
            timeout_paused: false,
            expiring: transport
                .request
                .user
                .clone()
                .filter(|_| self.options.close_on_authentication_expiration),
        };
        let mut last_message = now;
        // One timer for all three duties: idle connections cost one timer entry each.
        let timer = sleep_until(timers.next_due(last_message).unwrap_or(now + FAR_FUTURE));
        tokio::pin!(timer);

        // Messages that came in the same chunk as the handshake.
        if !buffer.is_empty() {
            match self.process(&mut reader, &buffer).await {
                Ok(used) => buffer.advance(used),
                Err(end) => return end,
            }
        }
        // Waiting once, outside the loop, keeps each message from registering and removing a
        // waiter. `close_requested` is a child of the transport's token: this sees both.
        let closing = close_requested.clone().cancelled_owned();
        tokio::pin!(closing);
        loop {
            tokio::select! {
                biased;
                _ = &mut closing => {
                    return if transport.abort.is_cancelled() {
                        End::TransportGone
                    } else {
                        End::CloseRequested
                    };
                }
                // Boxed: rarely waited for, and its state would enlarge every read loop.
                permit = async { Box::pin(Arc::clone(&reader.slots).acquire_owned()).await },
                    if reader.waiting.is_some() => {
                    let permit = permit.expect("the invocation semaphore is never closed");
                    if let Some(call) = reader.waiting.take() {
                        self.start(call, Some(permit), &reader.running);
                    }
                    timers.timeout_paused = false;
                    last_message = Instant::now();
                    // Carry on with what was read before the loop stopped.
                    if !buffer.is_empty() {
                        match self.process(&mut reader, &buffer).await {
                            Ok(used) => buffer.advance(used),
                            Err(end) => return end,
                        }
                    }
                    timers.timeout_paused = reader.waiting.is_some();
                }
                chunk = transport.inbound.next(), if reader.waiting.is_none() => {
                    let Some(chunk) = chunk else { return End::ClientClosed };
                    if chunk.is_empty() {
                        // A new socket resumed the connection: a half message is gone for good.
                        buffer.clear();
                        continue;
                    }
                    let processed = if buffer.is_empty() {
                        // The common case, a chunk of whole messages: read it where it lies.
                        self.process(&mut reader, &chunk)
                            .await
                            .inspect(|&used| buffer.extend_from_slice(&chunk[used..]))
                    } else {
                        buffer.extend_from_slice(&chunk);
                        self.process(&mut reader, &buffer)
                            .await
                            .inspect(|&used| buffer.advance(used))
                    };
                    match processed {
                        Ok(0) => {}
                        Ok(_) => last_message = Instant::now(),
                        Err(end) => return end,
                    }
                    timers.timeout_paused = reader.waiting.is_some();
                    if buffer.is_empty() && buffer.capacity() > 16 * 1024 {
                        // Give back the memory of one large message.
                        buffer = BytesMut::new();
                    }
                    if reader.saw_ping && !timers.timeout_armed && pings {
                        // Clients that never ping are never timed out.
                        timers.timeout_armed = true;
                        if let Some(due) = timers.next_due(last_message) {
                            timer.as_mut().reset(due);
                        }
                    }
                }
                _ = &mut timer, if timers.next_due(last_message).is_some() => {
                    let now = Instant::now();
                    if timers.expired() {
                        return End::Failed(HubError::internal(
                            "AuthenticationExpired",
                            "The connection's credentials expired.",
                        ));
                    }
                    if timers.timed_out(last_message, now) {
                        return End::Failed(HubError::internal(
                            "TimeoutException",
                            "The client sent nothing within the client timeout interval.",
                        ));
                    }
                    if timers.next_ping.is_some_and(|due| due <= now) {
                        connection.deliver_control(protocol.write_ping());
                        timers.next_ping = Some(now + timers.keep_alive);
                    }
                    if timers.next_ack.is_some_and(|due| due <= now) {
                        timers.next_ack = Some(now + ACK_INTERVAL);
                        if let Some(incoming) = reader.incoming.as_mut()
                            && incoming.received > incoming.acknowledged {
                                incoming.acknowledged = incoming.received;
                                let ack = protocol.write_sequence_message(SequenceMessage::Ack, incoming.received);
                                connection.deliver_control(ack);
                            }
                    }
                    if let Some(due) = timers.next_due(last_message) {
                        timer.as_mut().reset(due);
                    }
                }
            }
        }
    }

    /// Handles every whole message at the start of `data`; returns the bytes used.
    async fn process(&self, reader: &mut Reader<'_>, data: &[u8]) -> Result<usize, End> {
        let mut offset = 0;
        loop {
            let (used, blocked) = self.process_some(reader, &data[offset..])?;
            offset += used;
            let Some(blocked) = blocked else {
                return Ok(offset);
            };
            // A full upload buffer holds the read loop back, as in ASP.NET Core. The wait is
            // boxed: it is rare, and its state would otherwise enlarge every read loop.
            let delivered = Box::pin(blocked.upload.send(blocked.item)).await.is_ok();
            if let (false, Some(stream)) = (delivered, blocked.stream) {
                reader.uploads.remove(&stream);
            }
        }
    }

    /// Handles whole messages at the start of `data` until they run out or one must wait for
    /// an upload's buffer; returns the bytes used and what waits.
    fn process_some(
        &self,
        reader: &mut Reader<'_>,
        data: &[u8],
    ) -> Result<(usize, Option<BlockedUpload>), End> {
        let connection = Arc::clone(reader.context.connection());
        let protocol = connection.protocol();
        let limit = self.options.maximum_receive_message_size;
        let mut offset = 0;
        loop {
            let parsed = protocol.parse(&data[offset..], limit).map_err(|error| {
                let kind = match error {
                    ProtocolError::MessageTooLarge { .. } | ProtocolError::Malformed(_) => {
                        "InvalidDataException"
                    }
                };
                End::Failed(HubError::internal(kind, error.to_string()))
            })?;
            let Some((message, used)) = parsed else {
                return Ok((offset, None));
            };
            offset += used;
            if let Some(incoming) = reader.incoming.as_mut() {
                let counted = matches!(
                    message,
                    HubMessage::Invocation(_)
                        | HubMessage::StreamInvocation(_)
                        | HubMessage::StreamItem { .. }
                        | HubMessage::Completion { .. }
                        | HubMessage::CancelInvocation { .. }
                );
                if counted {
                    let id = incoming.next;
                    incoming.next += 1;
                    if id <= incoming.received {
                        // Resent after a reconnect, and already handled.
                        continue;
                    }
                    incoming.received = id;
                }
            }
            match message {
                HubMessage::Invocation(invocation) => {
                    self.invoke(reader, invocation, false);
                    if reader.waiting.is_some() {
                        // No slot: what follows is read once the call has one.
                        return Ok((offset, None));
                    }
                }
                HubMessage::StreamInvocation(invocation) => self.invoke(reader, invocation, true),
                HubMessage::StreamItem {
                    invocation_id,
                    item,
                } => {
                    if let Some(upload) = reader.uploads.get(&*invocation_id) {
                        let item = UploadItem::Item(Bytes::copy_from_slice(item));
                        match upload.try_send(item) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Closed(_)) => {
                                reader.uploads.remove(&*invocation_id);
                            }
                            Err(mpsc::error::TrySendError::Full(item)) => {
                                let blocked = BlockedUpload {
                                    upload: upload.clone(),
                                    item,
                                    stream: Some(invocation_id.into_owned()),
                                };
                                return Ok((offset, Some(blocked)));
                            }
                        }
                    }
                }
                HubMessage::Completion {
                    invocation_id,
                    outcome,
                } => {
                    // Upload streams first, then client results, as ASP.NET Core matches them.
                    if let Some(upload) = reader.uploads.remove(&*invocation_id) {
                        if let CompletionOutcome::Error(error) = outcome {
                            let item = UploadItem::Error(error.into_owned());
                            if let Err(mpsc::error::TrySendError::Full(item)) =
                                upload.try_send(item)
                            {
                                let blocked = BlockedUpload {
                                    upload,
                                    item,
                                    stream: None,
                                };
                                return Ok((offset, Some(blocked)));
                            }
                        }
                    } else {
                        let result = match outcome {
                            CompletionOutcome::Result(raw) => {
                                Ok(ClientResult::new(protocol, Bytes::copy_from_slice(raw)))
                            }
                            CompletionOutcome::Error(error) => {
                                Err(ClientResultError::Client(error.into_owned()))
                            }
                            CompletionOutcome::Empty => {
                                Ok(ClientResult::new(protocol, protocol_null(protocol)))
                            }
                        };
                        if !connection.complete_invocation(&invocation_id, result) {
                            tracing::debug!(%invocation_id, "completion for nothing awaited");
                        }
                    }
                }
                HubMessage::CancelInvocation { invocation_id } => {
                    let token = lock(&reader.running).remove(&*invocation_id);
                    if let Some(token) = token {
                        token.cancel();
                    }
                }
                HubMessage::Ping => reader.saw_ping = true,
                HubMessage::Ack { sequence_id } => {
                    if let Some(incoming) = &reader.incoming {
                        incoming.resumable.acknowledge(sequence_id);
                    }
                }
                HubMessage::Sequence { sequence_id } => {
                    if let Some(incoming) = reader.incoming.as_mut() {
                        if sequence_id > incoming.received + 1 {
                            return Err(End::Failed(HubError::internal(
                                "InvalidOperationException",
                                "Sequence ID greater than amount of messages we've received.",
                            )));
                        }
                        incoming.next = sequence_id;
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
        }
    }

    /// Binds one invocation and starts it (or queues it for a slot), or answers why it
    /// cannot run.
    fn invoke(&self, reader: &mut Reader<'_>, invocation: Invocation<'_>, streaming: bool) {
        let connection = reader.context.connection();
        let protocol = connection.protocol();
        let detailed = self.options.enable_detailed_errors;
        let id = invocation.invocation_id.as_deref();
        let target = &*invocation.target;
        // Refusals are the client's doing: debug, and never the arguments' text.
        let fail = |text: String| {
            tracing::debug!(hub = self.hub_name, connection_id = %connection.id(), error = %text, "invocation refused");
            if let Some(id) = id {
                connection.deliver(protocol.write_completion(id, CompletionOutcome::error(&text)));
            }
        };

        let Some(index) = self.lookup(target) else {
            return fail(texts::unknown_method(target));
        };
        let method = H::METHODS[index];
        // Refused calls never reach binding or the method (ASP.NET Core checks right after
        // finding the method).
        let rules: [&[super::AuthorizeRule]; 2] = match method.allow_anonymous {
            true => [&[], &[]],
            false => [H::AUTHORIZE, method.authorize],
        };
        let user = reader.context.user_arc();
        let authorization =
            match self
                .policies
                .decide(&rules, user, Some(method.name), Some(&invocation.arguments))
            {
                Decision::Allowed => None,
                Decision::Denied => return fail(texts::unauthorized(target)),
                Decision::Pending(decision) => Some(decision),
            };
        if method.streaming != streaming {
            return fail(if streaming {
                texts::streaming_mismatch(target)
            } else {
                texts::non_streaming_mismatch(target)
            });
        }
        if invocation.stream_ids.len() != method.uploads {
            let error = HubError::new(format!(
                "Client sent {} stream(s), Hub method expects {}.",
                invocation.stream_ids.len(),
                method.uploads
            ));
            return fail(texts::invocation_failed(target, &error, detailed));
        }
        if invocation.arguments.len() != method.arguments {
            return fail(texts::argument_count(
                target,
                invocation.arguments.len(),
                method.arguments,
                detailed,
            ));
        }
        if streaming
            && let Some(id) = id
            && lock(&reader.running).contains_key(id)
        {
            return fail(format!("Invocation ID '{id}' is already in use."));
        }

        let capacity = self.options.stream_buffer_capacity;
        let (senders, channels): (Vec<_>, Vec<_>) = invocation
            .stream_ids
            .iter()
            .map(|stream_id| {
                let (sender, receiver) = mpsc::channel(capacity);
                (
                    (stream_id.to_string(), sender),
                    UploadChannel { receiver, protocol },
                )
            })
            .unzip();
        let context = reader.context.for_invocation(id, streaming);
        let mut bindings = Bindings::new(&invocation.arguments, channels);
        let future = match H::invoke(&self.hub, index, context.clone(), &mut bindings) {
            Ok(future) => future,
            Err(error) => {
                // The deserializer's message may quote the argument: only its index is logged.
                tracing::debug!(
                    hub = self.hub_name,
                    method = method.name,
                    connection_id = %connection.id(),
                    argument = error.index,
                    "argument binding failed"
                );
                return fail(texts::argument_types(target, detailed));
            }
        };
        // Filters get their own copy of the arguments; without filters nothing is copied.
        let future = if self.filters.is_empty() {
            future
        } else {
            let hub = self.hub.clone();
            let call = HubInvocation::new(
                hub,
                self.hub_name,
                context.clone(),
                method.name,
                &invocation.arguments,
            );
            self.filters.around_invocation(call, future)
        };
        reader.uploads.extend(senders);
        let call = Call {
            future,
            context,
            name: if target == method.name {
                Cow::Borrowed(method.name)
            } else {
                Cow::Owned(target.to_owned())
            },
            streaming,
            authorization,
        };
        // Streaming calls and calls with uploads take no slot; others run when one is free,
        // and until then the loop reads nothing more.
        if streaming || method.uploads > 0 {
            return self.start(call, None, &reader.running);
        }
        match Arc::clone(&reader.slots).try_acquire_owned() {
            Ok(permit) => self.start(call, Some(permit), &reader.running),
            Err(_) => reader.waiting = Some(call),
        }
    }

    /// Runs a bound call and sends its Completion: at once when it finishes without waiting
    /// (most calls do), otherwise as its own task.
    fn start(&self, call: Call, permit: Option<OwnedSemaphorePermit>, running: &Running) {
        let detailed = self.options.enable_detailed_errors;
        let id = call.context.invocation_id().map(str::to_owned);
        let cancel = call.context.cancel_token().cloned();
        if call.streaming
            && let (Some(id), Some(cancel)) = (&id, &cancel)
        {
            lock(running).insert(id.clone(), cancel.clone());
        }
        let running = Arc::clone(running);
        let streaming = call.streaming;
        let hub = self.hub_name;
        let mut task = Box::pin(async move {
            // The slot is held until the completion is queued, so a call that waited for it
            // is answered after the one before it.
            let _slot = permit;
            let Call {
                future,
                context,
                name,
                streaming,
                authorization,
            } = call;
            if let Some(decision) = authorization
                && !decision.await
            {
                // The method never runs: its future is dropped unpolled.
                let text = texts::unauthorized(&name);
                let connection = context.connection();
                if let Some(id) = &id {
                    let outcome = CompletionOutcome::error(&text);
                    connection.deliver(connection.protocol().write_completion(id, outcome));
                }
                tracing::debug!(hub, method = %name, connection_id = %context.connection_id(), "invocation refused: unauthorized");
                if let (Some(id), true) = (&id, streaming) {
                    lock(&running).remove(id);
                }
                return;
            }
            let future = AssertUnwindSafe(future).catch_unwind();
            let outcome = match (&cancel, streaming) {
                // A cancelled stream stops at once: its producer is dropped.
                (Some(cancel), true) => tokio::select! {
                    outcome = future => Some(outcome),
                    _ = cancel.cancelled() => None,
                },
                _ => Some(future.await),
            };
            if let (Some(id), true) = (&id, streaming) {
                lock(&running).remove(id);
            }
            let result = match outcome {
                None => Ok(Vec::new()),
                Some(outcome) => outcome.unwrap_or_else(|panic| Err(panic_error(&*panic))),
            };
            let connection = context.connection();
            let protocol = connection.protocol();
            if let Err(error) = &result {
                // The error as the method (or a filter) made it; never the arguments.
                tracing::error!(hub, method = %name, connection_id = %connection.id(), %error, "hub method failed");
            }
            let Some(id) = id else {
                return;
            };
            let frame = match result {
                Ok(_) if streaming => protocol.write_completion(&id, CompletionOutcome::Empty),
                Ok(value) => protocol.write_completion(&id, CompletionOutcome::Result(&value)),
                Err(error) => {
                    let text = if streaming && context.stream_started() {
                        texts::streaming_failed(&error, detailed)
                    } else {
                        texts::invocation_failed(&name, &error, detailed)
                    };
                    protocol.write_completion(&id, CompletionOutcome::error(&text))
                }
            };
            if streaming {
                // After the items, which may still be waiting for room in the queue.
                connection.deliver_paced(frame).await;
            } else {
                connection.deliver(frame);
            }
        });
        if !streaming {
            // A first poll here saves a task for calls that complete without waiting. One that
            // does wait moves to its own task, whose first poll registers the task's waker in
            // place of this no-op one.
            let mut first = std::task::Context::from_waker(std::task::Waker::noop());
            if task.as_mut().poll(&mut first).is_ready() {
                return;
            }
        }
        tokio::spawn(task);
    }
}

/// An upload item that waits for room in its stream's buffer.
struct BlockedUpload {
    upload: mpsc::Sender<UploadItem>,
    item: UploadItem,
    /// The stream's invocation id, to forget it if the method stopped reading.
    stream: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An encoded null: what a Completion without a result means for a client result.
fn protocol_null(protocol: Protocol) -> Bytes {
    Bytes::from(protocol.encode_value(&()).unwrap_or_default())
}

impl<H: Hub> ConnectionHandler for HubDispatcher<H> {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        Box::pin(self.serve(connection))
    }
}
