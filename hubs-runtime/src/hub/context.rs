use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use axum::http::HeaderMap;
use futures_util::task::AtomicWaker;
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;
use crate::clients::{CallerClients, ClientResults, Groups, Presence};
use crate::connection::{RequestInfo, Transport};
use crate::lifetime::{HubConnection, HubLifetimeManager};
use crate::protocol::{EncodeError, Encoded, JsonPropertyNames, Protocol};

/// The calling connection, as hub methods and hooks see it: who is calling, the request that
/// opened the connection, and the ways to reach other clients.
///
/// Cheap to clone. A hub method receives it by declaring a `&Context` parameter:
///
/// ```
/// use hubs::prelude::*;
///
/// struct Rooms;
///
/// #[hub]
/// impl Rooms {
///     pub async fn join(&self, ctx: &Context, group: String) -> Result<(), HubError> {
///         ctx.groups().add(ctx.connection_id(), &group).await?;
///         ctx.clients().group(&group).send("Joined", (ctx.connection_id(),)).await?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
    /// Which invocation this context serves, if any.
    invocation: Scope,
    results: ClientResults,
}

/// In declared order (`repr(C)`): what every invocation reads comes first, next to the
/// reference count that each invocation's context takes.
#[repr(C)]
struct Inner {
    connection: Arc<HubConnection>,
    parallel_invocations: usize,
    /// How the hub names struct fields in JSON.
    json_names: JsonPropertyNames,
    /// Set when the connection ends, or earlier by [`Context::abort`]: while the read loop
    /// runs, only an abort sets it.
    is_closed: AtomicBool,
    request: Arc<RequestInfo>,
    lifetime: Arc<dyn HubLifetimeManager>,
    /// Cancelled when the connection ends; made when first waited for, as most connections
    /// never wait (`is_closed` says whether it ended before then).
    closed: OnceLock<CancellationToken>,
    /// What hub code keeps for the connection ([`Context::items`]); allocated on first use.
    items: Items,
    /// The read loop, woken when hub code asks to close. A flag and a waker rather than a
    /// token of its own: a child token is two allocations a connection and two locks when
    /// it ends, for a request most connections never make.
    abort_waiter: AtomicWaker,
}

impl Inner {
    /// The token cancelled when the connection ends, made on first use. A child of the
    /// transport's token, so hub code sees the end at once when the transport is aborted (a
    /// client dropped as too slow) or `Context::abort` is called, as with ASP.NET Core's
    /// `ConnectionAborted`, rather than when the read loop gets round to it.
    fn closed(&self) -> &CancellationToken {
        let closed = self
            .closed
            .get_or_init(|| self.connection.abort_token().child_token());
        // Token first, then the flag: a close meanwhile either finds the token or is seen here.
        if self.is_closed.load(Ordering::SeqCst) {
            closed.cancel();
        }
        closed
    }
}

/// Values hub code keeps for one connection, one per type (ASP.NET Core's `Context.Items`),
/// shared by its methods and hooks and dropped when it ends.
///
/// ```
/// use hubs::prelude::*;
///
/// #[derive(Clone)]
/// struct Nickname(String);
///
/// struct Chat;
///
/// #[hub]
/// impl Chat {
///     pub async fn set_nickname(&self, ctx: &Context, name: String) {
///         ctx.items().insert(Nickname(name));
///     }
///
///     pub async fn say(&self, ctx: &Context, text: String) -> Result<(), HubError> {
///         let name = ctx.items().get::<Nickname>().map_or("anonymous".into(), |n| n.0);
///         ctx.clients().all().send("Said", (name, text)).await?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Default)]
pub struct Items(std::sync::Mutex<Option<Box<axum::http::Extensions>>>);

impl Items {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<axum::http::Extensions>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `value`, returning the one of its type kept before.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.lock()
            .get_or_insert_with(Default::default)
            .insert(value)
    }

    /// A copy of the value of type `T`, if one is kept.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().as_ref()?.get::<T>().cloned()
    }

    /// Runs `change` on the value of type `T` (inserting `T::default()` first if there is
    /// none) and returns what it returns: a counter, a list, a state machine.
    pub fn update<T, R>(&self, change: impl FnOnce(&mut T) -> R) -> R
    where
        T: Clone + Default + Send + Sync + 'static,
    {
        let mut items = self.lock();
        let items = items.get_or_insert_with(Default::default);
        change(items.get_or_insert_default::<T>())
    }

    /// Takes the value of type `T` out.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().as_mut()?.remove::<T>()
    }
}

/// Which invocation a context serves.
#[derive(Clone)]
enum Scope {
    /// None: the connection's hooks.
    Hooks,
    /// A call the client cannot cancel (as in ASP.NET Core): only its id, if it wants an
    /// answer. It shares the connection's token and costs no allocation.
    Call(Option<InvocationId>),
    /// A streaming call.
    Stream(Arc<StreamScope>),
}

struct StreamScope {
    id: Option<InvocationId>,
    /// Cancelled by the client's CancelInvocation or when the connection ends.
    cancel: CancellationToken,
    stream_started: AtomicBool,
}

/// Longest id kept inline: with its length and the variant's tag, 16 bytes.
const INLINE_ID: usize = 14;

/// An invocation id, inline when short: clients number their calls ("0", "1", …). A longer
/// one is behind a thin pointer, which keeps every context small.
#[derive(Clone)]
enum InvocationId {
    Short { len: u8, bytes: [u8; INLINE_ID] },
    Long(Arc<String>),
}

impl InvocationId {
    #[inline]
    fn new(id: &str) -> Self {
        match id.len() {
            len @ 0..=INLINE_ID => {
                let mut bytes = [0; INLINE_ID];
                bytes[..len].copy_from_slice(id.as_bytes());
                InvocationId::Short {
                    len: len as u8,
                    bytes,
                }
            }
            _ => InvocationId::Long(Arc::new(id.to_owned())),
        }
    }

    #[inline]
    fn as_str(&self) -> &str {
        match self {
            // SAFETY: `new` copied these bytes from a whole `str`, and nothing changes them.
            InvocationId::Short { len, bytes } => unsafe {
                std::str::from_utf8_unchecked(&bytes[..usize::from(*len)])
            },
            InvocationId::Long(id) => id,
        }
    }
}

impl Context {
    pub(crate) fn new(
        connection: Arc<HubConnection>,
        request: Arc<RequestInfo>,
        lifetime: Arc<dyn HubLifetimeManager>,
        parallel_invocations: usize,
        json_names: JsonPropertyNames,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection,
                request,
                lifetime,
                closed: OnceLock::new(),
                is_closed: AtomicBool::new(false),
                abort_waiter: AtomicWaker::new(),
                parallel_invocations,
                json_names,
                items: Items::default(),
            }),
            invocation: Scope::Hooks,
            results: ClientResults::InConnectedHook,
        }
    }

    /// The context of the connection's hooks after the connected hook.
    pub(crate) fn after_connected(&self) -> Self {
        Self {
            results: ClientResults::Allowed,
            ..self.clone()
        }
    }

    /// The context of one invocation.
    #[inline]
    pub(crate) fn for_invocation(&self, id: Option<&str>, streaming: bool) -> Self {
        let results = if self.inner.parallel_invocations > 1 {
            ClientResults::Allowed
        } else {
            ClientResults::NeedsParallelInvocations
        };
        Self {
            inner: Arc::clone(&self.inner),
            invocation: match streaming {
                false => Scope::Call(id.map(InvocationId::new)),
                true => Scope::Stream(Arc::new(StreamScope {
                    id: id.map(InvocationId::new),
                    cancel: self.inner.closed().child_token(),
                    stream_started: AtomicBool::new(false),
                })),
            },
            results,
        }
    }

    /// Ends every invocation's wait on [`cancelled`](Self::cancelled).
    pub(crate) fn close(&self) {
        // Flag first, then look for the token: a token made meanwhile sees the flag.
        self.inner.is_closed.store(true, Ordering::SeqCst);
        if let Some(closed) = self.inner.closed.get() {
            closed.cancel();
        }
    }

    /// Completes when this invocation is cancelled by the client (`CancelInvocation`, such as
    /// disposing a JavaScript stream subscription) or the connection closes; the equivalent
    /// of ASP.NET Core's `CancellationToken` parameter. Outside an invocation, when the
    /// connection closes.
    pub async fn cancelled(&self) {
        self.token().cancelled().await
    }

    /// Whether [`cancelled`](Self::cancelled) has completed.
    pub fn is_cancelled(&self) -> bool {
        self.token().is_cancelled()
    }

    fn token(&self) -> &CancellationToken {
        self.cancel_token().unwrap_or_else(|| self.inner.closed())
    }

    /// The token of a streaming invocation.
    #[inline]
    pub(crate) fn cancel_token(&self) -> Option<&CancellationToken> {
        match &self.invocation {
            Scope::Stream(scope) => Some(&scope.cancel),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn invocation_id(&self) -> Option<&str> {
        match &self.invocation {
            Scope::Hooks => None,
            Scope::Call(id) => id.as_ref().map(InvocationId::as_str),
            Scope::Stream(scope) => scope.id.as_ref().map(InvocationId::as_str),
        }
    }

    pub(crate) fn mark_stream_started(&self) {
        if let Scope::Stream(scope) = &self.invocation {
            scope.stream_started.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn stream_started(&self) -> bool {
        match &self.invocation {
            Scope::Stream(scope) => scope.stream_started.load(Ordering::Relaxed),
            _ => false,
        }
    }

    /// The caller's public connection id (what `Clients.Client(id)` and groups use).
    pub fn connection_id(&self) -> &str {
        self.inner.connection.id()
    }

    /// The user id the connection belongs to (what `clients().user(..)` targets reach), if the
    /// connection is authenticated and has one.
    pub fn user_identifier(&self) -> Option<&str> {
        self.inner.connection.user().map(|u| &**u)
    }

    /// The authenticated user the connection belongs to; `None` for an anonymous connection or
    /// an endpoint without an authenticator.
    pub fn user(&self) -> Option<&Principal> {
        self.user_arc().map(|user| &**user)
    }

    #[inline]
    pub(crate) fn user_arc(&self) -> Option<&Arc<Principal>> {
        self.inner
            .request
            .user
            .as_ref()
            .map(|user| user.principal())
    }

    /// Headers of the HTTP request that opened the connection's transport.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.request.headers
    }

    /// A query parameter of the request that opened the connection's transport.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.inner.request.query_value(key)
    }

    /// The transport the connection uses (ASP.NET Core's `IHttpTransportFeature`).
    pub fn transport(&self) -> Option<Transport> {
        self.inner.request.transport
    }

    /// The hub protocol the connection negotiated.
    pub fn protocol(&self) -> Protocol {
        self.inner.connection.protocol()
    }

    /// Values kept for this connection, one per type (ASP.NET Core's `Context.Items`).
    pub fn items(&self) -> &Items {
        &self.inner.items
    }

    /// Who to send to: the caller, others, all, groups, users, ...
    pub fn clients(&self) -> CallerClients<'_> {
        CallerClients::new(
            &*self.inner.lifetime,
            self.inner.json_names,
            self.connection_id(),
            self.results,
        )
    }

    /// Group membership of any connection.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(&*self.inner.lifetime)
    }

    /// Who is online (on every node, with a backplane).
    pub fn presence(&self) -> Presence<'_> {
        Presence::new(&*self.inner.lifetime)
    }

    /// Closes the calling connection after the current messages (like `Context.Abort()`);
    /// [`cancelled`](Self::cancelled) completes at once, so running invocations can stop.
    pub fn abort(&self) {
        self.close();
        self.inner.abort_waiter.wake();
    }

    /// Ready once [`abort`](Self::abort) was called; the read loop's wait for it (the loop
    /// closes the context itself only after it ends).
    pub(crate) fn poll_abort_requested(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        // Registered before the flag is read: an abort after the read wakes the loop.
        self.inner.abort_waiter.register(cx.waker());
        match self.inner.is_closed.load(Ordering::SeqCst) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        }
    }

    /// `value` encoded as the caller's protocol embeds it (a result, a stream item), with the
    /// hub's JSON property names.
    pub(crate) fn encode(
        &self,
        value: &(impl serde::Serialize + ?Sized),
    ) -> Result<Encoded, EncodeError> {
        let protocol = self.protocol();
        protocol.encode_value(&self.inner.json_names.payload(protocol, value))
    }

    #[inline]
    pub(crate) fn connection(&self) -> &Arc<HubConnection> {
        &self.inner.connection
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("connection_id", &self.connection_id())
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{INLINE_ID, InvocationId, Items};

    #[test]
    fn invocation_ids_read_back_whole_inline_or_not() {
        for id in [
            "",
            "0",
            "12345",
            &"x".repeat(INLINE_ID),
            &"y".repeat(INLINE_ID + 1),
            "é".repeat(INLINE_ID / 2).as_str(),
        ] {
            assert_eq!(InvocationId::new(id).as_str(), id);
        }
        assert!(matches!(
            InvocationId::new(&"x".repeat(INLINE_ID)),
            InvocationId::Short { .. }
        ));
        assert!(matches!(
            InvocationId::new(&"y".repeat(INLINE_ID + 1)),
            InvocationId::Long(_)
        ));
        assert!(matches!(
            InvocationId::new(&"é".repeat(INLINE_ID / 2)),
            InvocationId::Short { .. }
        ));
        assert_eq!(
            std::mem::size_of::<super::Context>(),
            32,
            "a context stays small"
        );
    }

    #[derive(Clone, Default, Debug, PartialEq)]
    struct Visits(u32);

    #[test]
    fn items_keep_one_value_per_type() {
        let items = Items::default();
        assert_eq!(items.get::<Visits>(), None);
        assert_eq!(items.insert(Visits(1)), None);
        assert_eq!(items.insert(Visits(2)), Some(Visits(1)));
        assert_eq!(
            items.update(|v: &mut Visits| {
                v.0 += 1;
                v.0
            }),
            3
        );
        items.insert(String::from("other type"));
        assert_eq!(items.remove::<Visits>(), Some(Visits(3)));
        assert_eq!(
            items.update(|v: &mut Visits| v.0),
            0,
            "a default after removal"
        );
        assert_eq!(items.get::<String>().as_deref(), Some("other type"));
    }
}
