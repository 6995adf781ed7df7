//! One connection's life at the hub layer: handshake, the read loop with keep-alive and client
//! timeout, invocation dispatch, and the closing message.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until};
use tokio_util::sync::CancellationToken;

use super::texts::{self, panic_error};
use super::{Context, Hub, HubError};
use crate::connection::{ConnectionHandler, Outgoing, TransportConnection};
use crate::endpoint::UserIdProvider;
use crate::lifetime::{HubConnection, HubLifetimeManager};
use crate::options::HubOptions;
use crate::protocol::{
    CompletionOutcome, HandshakeError, HubMessage, Invocation, Protocol, ProtocolError,
    parse_handshake, write_handshake_error,
};

/// Drives the connections of one hub endpoint.
pub(crate) struct HubDispatcher<H> {
    hub: Arc<H>,
    options: HubOptions,
    lifetime: Arc<dyn HubLifetimeManager>,
    /// Wire names in lower case -> index into `H::METHODS`.
    methods: HashMap<String, usize>,
    user_id: Option<UserIdProvider>,
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

/// Per-connection state of the read loop.
struct Reader<'a> {
    context: &'a Context,
    slots: Arc<Semaphore>,
    saw_ping: bool,
}

impl<H: Hub> HubDispatcher<H> {
    pub(crate) fn new(
        hub: Arc<H>,
        options: HubOptions,
        lifetime: Arc<dyn HubLifetimeManager>,
        user_id: Option<UserIdProvider>,
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
        }
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
            Ok(Some(protocol)) => protocol,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(connection_id = %transport.connection_id, %error, "handshake failed");
                let _ = transport
                    .outbound
                    .send(Outgoing::Frame(write_handshake_error(&error)))
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
        let ok = bytes::Bytes::from_static(crate::protocol::HANDSHAKE_OK);
        let _ = transport.outbound.send(Outgoing::Frame(ok)).await;

        let user = self
            .user_id
            .as_ref()
            .and_then(|provider| provider(&transport.request))
            .filter(|user| !user.is_empty());
        let connection = Arc::new(HubConnection::new(
            Arc::clone(&transport.connection_id),
            protocol,
            user.map(Arc::from),
            transport.outbound.clone(),
            transport.abort.clone(),
        ));
        self.lifetime.on_connected(Arc::clone(&connection)).await;
        let close_requested = CancellationToken::new();
        let context = Context::new(
            Arc::clone(&connection),
            Arc::clone(&transport.request),
            Arc::clone(&self.lifetime),
            close_requested.clone(),
        );
        tracing::debug!(connection_id = %connection.id(), protocol = protocol.name(), "connected");

        let connected = AssertUnwindSafe(H::on_connected(&self.hub, context.clone()))
            .catch_unwind()
            .await;
        let end = match connected {
            Ok(Ok(())) => {
                self.read_loop(&mut transport, &context, &close_requested, buffer)
                    .await
            }
            Ok(Err(error)) => End::ConnectFailed(error),
            Err(panic) => End::ConnectFailed(panic_error(&*panic)),
        };

        let error = match &end {
            End::Failed(e) | End::ConnectFailed(e) => Some(e.clone()),
            _ => None,
        };
        if AssertUnwindSafe(H::on_disconnected(&self.hub, context.clone(), error))
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
            connection.deliver(close);
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
    ) -> Result<Option<Protocol>, HandshakeError> {
        loop {
            if let Some((request, used)) =
                parse_handshake(buffer, self.options.maximum_receive_message_size)?
            {
                buffer.advance(used);
                return request
                    .select(&self.options.supported_protocols, transport.supports_binary)
                    .map(Some);
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
            saw_ping: false,
        };
        let keep_alive = self.options.keep_alive_interval;
        let mut ping_timer = interval_at(Instant::now() + keep_alive, keep_alive);
        ping_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let client_timeout = self.options.client_timeout_interval;
        let mut last_message = Instant::now();
        // Armed by the client's first Ping: clients that never ping are never timed out.
        let mut timeout_armed = false;
        let deadline = sleep_until(last_message + client_timeout);
        tokio::pin!(deadline);

        // Messages that came in the same chunk as the handshake.
        if !buffer.is_empty() {
            match self.process(&mut reader, &buffer).await {
                Ok(used) => buffer.advance(used),
                Err(end) => return end,
            }
        }
        loop {
            tokio::select! {
                biased;
                _ = transport.abort.cancelled() => return End::TransportGone,
                _ = close_requested.cancelled() => return End::CloseRequested,
                chunk = transport.inbound.next() => {
                    let Some(chunk) = chunk else { return End::ClientClosed };
                    let processed = if buffer.is_empty() {
                        // The common case, a chunk of whole messages: read it where it lies.
                        self.process(&mut reader, &chunk).await.map(|used| {
                            buffer.extend_from_slice(&chunk[used..]);
                            used
                        })
                    } else {
                        buffer.extend_from_slice(&chunk);
                        self.process(&mut reader, &buffer).await.map(|used| {
                            buffer.advance(used);
                            used
                        })
                    };
                    match processed {
                        Ok(0) => {}
                        Ok(_) => last_message = Instant::now(),
                        Err(end) => return end,
                    }
                    if buffer.is_empty() && buffer.capacity() > 16 * 1024 {
                        // Give back the memory of one large message.
                        buffer = BytesMut::new();
                    }
                    if reader.saw_ping && !timeout_armed {
                        timeout_armed = true;
                        deadline.as_mut().reset(last_message + client_timeout);
                    }
                }
                _ = ping_timer.tick() => {
                    connection.deliver(protocol.write_ping());
                }
                _ = &mut deadline, if timeout_armed => {
                    let due = last_message + client_timeout;
                    if Instant::now() >= due {
                        return End::Failed(HubError::internal(
                            "TimeoutException",
                            "The client sent nothing within the client timeout interval.",
                        ));
                    }
                    deadline.as_mut().reset(due);
                }
            }
        }
    }

    /// Handles every whole message at the start of `data`; returns the bytes used.
    async fn process(&self, reader: &mut Reader<'_>, data: &[u8]) -> Result<usize, End> {
        let protocol = reader.context.protocol();
        let limit = self.options.maximum_receive_message_size;
        let mut offset = 0;
        loop {
            let parsed = protocol.parse(&data[offset..], limit).map_err(|error| {
                let kind = match error {
                    ProtocolError::MessageTooLarge { .. } => "InvalidDataException",
                    ProtocolError::Malformed(_) => "InvalidDataException",
                };
                End::Failed(HubError::internal(kind, error.to_string()))
            })?;
            let Some((message, used)) = parsed else {
                return Ok(offset);
            };
            offset += used;
            match message {
                HubMessage::Invocation(invocation) => self.invoke(reader, invocation).await,
                HubMessage::StreamInvocation(invocation) => {
                    let target = &*invocation.target;
                    let text = match self.lookup(target) {
                        Some(_) => texts::streaming_mismatch(target),
                        None => texts::unknown_method(target),
                    };
                    let id = invocation.invocation_id.as_deref().unwrap_or_default();
                    reader
                        .context
                        .connection()
                        .deliver(protocol.write_completion(id, CompletionOutcome::error(&text)));
                }
                HubMessage::Ping => reader.saw_ping = true,
                HubMessage::Close { error } => {
                    if let Some(error) = error {
                        tracing::debug!(%error, "the client closed with an error");
                    }
                    return Err(End::ClientClosed);
                }
                HubMessage::StreamItem { .. }
                | HubMessage::Completion { .. }
                | HubMessage::CancelInvocation { .. }
                | HubMessage::Ignored => {}
            }
        }
    }

    /// Binds and starts one invocation, or answers why it cannot run.
    async fn invoke(&self, reader: &Reader<'_>, invocation: Invocation<'_>) {
        let connection = reader.context.connection();
        let protocol = connection.protocol();
        let detailed = self.options.enable_detailed_errors;
        let id = invocation.invocation_id.as_deref();
        let target = &*invocation.target;
        let fail = |text: String| match id {
            Some(id) => {
                connection.deliver(protocol.write_completion(id, CompletionOutcome::error(&text)));
            }
            None => tracing::debug!(error = %text, "fire-and-forget invocation failed"),
        };

        let Some(index) = self.lookup(target) else {
            return fail(texts::unknown_method(target));
        };
        let method = H::METHODS[index];
        if !invocation.stream_ids.is_empty() {
            let error = HubError::new(format!(
                "Client sent {} stream(s), Hub method expects 0.",
                invocation.stream_ids.len()
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
        // With every slot taken, the read loop waits here, as in ASP.NET Core.
        let permit = Arc::clone(&reader.slots)
            .acquire_owned()
            .await
            .expect("the invocation semaphore is never closed");
        let call = match H::invoke(
            &self.hub,
            index,
            reader.context.clone(),
            &invocation.arguments,
        ) {
            Ok(call) => call,
            Err(error) => {
                tracing::debug!(target, argument = error.index, error = %error.message, "argument binding failed");
                return fail(texts::argument_types(target, detailed));
            }
        };
        // Error texts name the method as the client spelled it.
        let name: Cow<'static, str> = if target == method.name {
            Cow::Borrowed(method.name)
        } else {
            Cow::Owned(target.to_owned())
        };
        let id = id.map(str::to_owned);
        let connection = Arc::clone(connection);
        tokio::spawn(async move {
            let outcome = AssertUnwindSafe(call).catch_unwind().await;
            drop(permit);
            let result = outcome.unwrap_or_else(|panic| Err(panic_error(&*panic)));
            let Some(id) = id else {
                if let Err(error) = result {
                    tracing::warn!(method = %name, %error, "fire-and-forget invocation failed");
                }
                return;
            };
            let frame = match result {
                Ok(value) => protocol.write_completion(&id, CompletionOutcome::Result(&value)),
                Err(error) => {
                    tracing::debug!(method = %name, %error, "hub method failed");
                    let text = texts::invocation_failed(&name, &error, detailed);
                    protocol.write_completion(&id, CompletionOutcome::error(&text))
                }
            };
            connection.deliver(frame);
        });
    }
}

impl<H: Hub> ConnectionHandler for HubDispatcher<H> {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        Box::pin(self.serve(connection))
    }
}
