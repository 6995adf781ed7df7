//! One connection's life at the hub layer: handshake, the read loop with keep-alive and client
//! timeout, invocation dispatch (plain, streaming, with uploads), client-result completions,
//! and the closing message.

mod batch;
mod close_all;
mod invoke;
mod other_messages;
mod reader;
mod timers;

pub(crate) use close_all::CloseAll;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use tracing::Instrument;

use super::Policies;
use super::texts::{self, panic_error};
use super::{Context, Hub, HubError};
use super::{FilterChain, HubLifetimeContext};
use crate::auth::UserIdProvider;
use crate::connection::{ConnectionHandler, Outgoing, TransportConnection};
use crate::lifetime::{HubConnection, HubLifetimeManager};
use crate::options::HubOptions;
use crate::protocol::{
    HandshakeError, Protocol, SequenceMessage, parse_handshake, write_handshake_error,
};
use crate::telemetry::{Closure, ConnectionMetrics};

/// Drives the connections of one hub endpoint.
pub(crate) struct HubDispatcher<H> {
    hub: Arc<H>,
    options: HubOptions,
    lifetime: Arc<dyn HubLifetimeManager>,
    /// Wire names in lower case with their index into `H::METHODS`, in [`name_order`].
    methods: Box<[(Box<str>, usize)]>,
    user_id: Option<UserIdProvider>,
    policies: Policies,
    filters: FilterChain,
    /// The hub's type name, for logs and filters.
    hub_name: &'static str,
    /// Ends every connection at once (`HubContext::close_all`, shutdown).
    close_all: Arc<CloseAll>,
}

/// How method names are ordered for [`HubDispatcher::lookup`]: `lower` (a name in lower case)
/// against `name` in any case. By length first, so most steps of a search compare no bytes.
#[inline]
fn name_order(lower: &str, name: &str) -> std::cmp::Ordering {
    let name_lower = name.bytes().map(|b| b.to_ascii_lowercase());
    lower
        .len()
        .cmp(&name.len())
        .then_with(|| lower.bytes().cmp(name_lower))
}

/// Why a connection's read loop ended.
enum End {
    /// The client closed the transport or sent a Close message.
    ClientClosed,
    /// Hub code called `Context::abort`.
    CloseRequested,
    /// The application closed every connection (or the server is shutting down); the flag
    /// says whether clients may reconnect.
    ClosedByServer(bool),
    /// The transport failed or was aborted; nothing more can be sent.
    TransportGone,
    /// An error ends the connection; the client may reconnect. Boxed, as below: every
    /// message's result carries an `End`, which stays two words this way.
    Failed(Box<HubError>),
    /// The connected hook failed; the client should not reconnect.
    ConnectFailed(Box<HubError>),
}

impl End {
    /// An error of the runtime's own (`kind` names it as ASP.NET Core's exception would) ends
    /// the connection.
    fn failed(kind: &'static str, message: impl Into<String>) -> Self {
        End::Failed(Box::new(HubError::internal(kind, message)))
    }
}

impl<H: Hub> HubDispatcher<H> {
    pub(crate) fn new(
        hub: Arc<H>,
        options: HubOptions,
        lifetime: Arc<dyn HubLifetimeManager>,
        user_id: Option<UserIdProvider>,
        policies: Policies,
        filters: FilterChain,
        close_all: Arc<CloseAll>,
    ) -> Self {
        let mut methods: Box<[(Box<str>, usize)]> = H::METHODS
            .iter()
            .enumerate()
            .map(|(index, m)| (m.name.to_ascii_lowercase().into(), index))
            .collect();
        methods.sort_by(|(a, _), (b, _)| name_order(a, b));
        Self {
            hub,
            options,
            lifetime,
            methods,
            user_id,
            policies,
            filters,
            hub_name: super::filter::hub_name::<H>(),
            close_all,
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

    /// Finds a method by wire name without regard to (ASCII) case: clients call methods in
    /// PascalCase.
    fn lookup(&self, target: &str) -> Option<usize> {
        let at = self
            .methods
            .binary_search_by(|(name, _)| name_order(name, target))
            .ok()?;
        Some(self.methods[at].1)
    }

    /// A connection's whole life. A function returning an `async` block rather than an
    /// `async fn`: an `async fn` keeps a second copy of its arguments, and this future lives
    /// as long as the connection. Locals are scoped so that little besides the read loop is
    /// held while it runs.
    #[allow(clippy::manual_async_fn)] // on purpose: see above
    fn serve(
        self: Arc<Self>,
        mut transport: TransportConnection,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            // Taken first: a close-all from here on reaches this connection.
            let round = self.close_all.round();
            let mut buffer = BytesMut::new();
            let handshake = {
                let handshake = tokio::time::timeout(
                    self.options.handshake_timeout,
                    self.handshake(&mut transport, &mut buffer),
                );
                // A close-all does not wait for a client still to send its handshake.
                tokio::select! {
                    handshake = handshake => handshake.unwrap_or(Err(HandshakeError::Canceled)),
                    () = round.token.cancelled() => Ok(None),
                }
            };
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
            // The response leaves only once the connection can be reached (below): a client
            // whose `start` has resolved can be sent to by id at once. Held, not sent later:
            // what is sent to the connection meanwhile must not go before it.
            transport.outbound.hold();
            // From here on the hub queues only what its protocols wrote or what its ways in
            // for frames written elsewhere checked: the socket need not check text again.
            transport.outbound.vouch_for_text();
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
            let connection = Arc::new(
                HubConnection::new(
                    Arc::clone(&transport.connection_id),
                    protocol,
                    user.map(Arc::from),
                    transport.outbound.clone(),
                    transport.abort.clone(),
                )
                .with_principal(
                    transport
                        .request
                        .user
                        .as_ref()
                        .map(|u| Arc::clone(u.principal())),
                ),
            );
            self.lifetime.on_connected(Arc::clone(&connection)).await;
            transport.outbound.release();
            let mut metrics = ConnectionMetrics::start(transport.request.transport);
            {
                // The connection's span, when it is enabled (see `run`); not a caller's span.
                let span = tracing::Span::current();
                if span
                    .metadata()
                    .is_some_and(|m| m.name() == "connection" && m.target() == module_path!())
                {
                    span.record("protocol", protocol.name());
                    if let Some(user) = connection.user() {
                        span.record("user", &**user);
                    }
                }
            }
            let hook_context = Context::new(
                Arc::clone(&connection),
                Arc::clone(&transport.request),
                Arc::clone(&self.lifetime),
                self.options.maximum_parallel_invocations_per_client,
                H::JSON_PROPERTY_NAMES,
            );
            // Made before the hook runs, so that the hook's context is not kept beside it.
            let context = hook_context.after_connected();
            tracing::debug!(connection_id = %connection.id(), protocol = protocol.name(), "connected");

            let refused = match AssertUnwindSafe(self.connected_hook(hook_context))
                .catch_unwind()
                .await
            {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(End::ConnectFailed(Box::new(error))),
                Err(panic) => Some(End::ConnectFailed(Box::new(panic_error(&*panic)))),
            };
            let end = match refused {
                None => {
                    // What the handshake left: its buffer is kept only with bytes in it.
                    let buffer = match buffer.is_empty() {
                        true => BytesMut::new(),
                        false => buffer,
                    };
                    self.read_loop(&mut transport, &context, &round, buffer)
                        .await
                }
                Some(end) => end,
            };
            // Streams stop, cancellation waits end, awaited client results fail.
            context.close();
            connection.fail_pending_invocations();

            let error = match &end {
                End::Failed(e) | End::ConnectFailed(e) => Some(HubError::clone(e)),
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

            metrics.ended(match &end {
                End::ClosedByServer(_) => Closure::AppShutdown,
                End::Failed(e) if e.kind() == "TimeoutException" => Closure::Timeout,
                End::Failed(_) | End::ConnectFailed(_) => Closure::Error,
                End::ClientClosed | End::CloseRequested | End::TransportGone => Closure::Normal,
            });
            drop(metrics);
            let detailed = self.options.enable_detailed_errors;
            let close = match &end {
                End::ClientClosed | End::TransportGone => None,
                End::CloseRequested => Some(protocol.write_close(None, false)),
                End::ClosedByServer(allow_reconnect) => {
                    Some(protocol.write_close(None, *allow_reconnect))
                }
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
                connection.deliver_own_control(close);
            }
            if transport.outbound.try_send(Outgoing::Close).is_err() {
                transport.abort.cancel();
            }
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
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<H: Hub> ConnectionHandler for HubDispatcher<H> {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        // A span per connection for debugging (disabled, and free, below debug level).
        let span = tracing::debug_span!(
            "connection",
            connection_id = %connection.connection_id,
            transport = connection.request.transport.map(|t| t.name()),
            protocol = tracing::field::Empty,
            user = tracing::field::Empty,
        );
        // Only an enabled span is worth its room in the connection's future and its entering
        // at every poll.
        if span.is_disabled() {
            Box::pin(self.serve(connection))
        } else {
            Box::pin(self.serve(connection).instrument(span))
        }
    }

    fn shutdown(&self, allow_reconnect: bool) {
        self.close_all.close(allow_reconnect, true);
    }

    /// The hub protocols tell their messages apart (a record separator, a length prefix).
    fn delimits_messages(&self) -> bool {
        true
    }
}
