//! Hub filters, ASP.NET Core's `IHubFilter`: code that runs around every hub method invocation
//! and around the connected and disconnected hooks, for logging, metrics or rate limiting.
//!
//! Where they run: after the method is found, authorized and its arguments bound (a refused or
//! malformed call never reaches a filter, as in ASP.NET Core), and before the method body. The
//! bound call is a future nobody has polled yet, so a filter that does not call
//! [`Next::run`] keeps the method body from ever starting.

mod chain;

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Context, HubError};
use crate::protocol::{ArgumentError, Arguments, Encoded};
use chain::DynFilter;
pub(crate) use chain::FilterChain;

/// Code around a hub's invocations, connects and disconnects (ASP.NET Core's `IHubFilter`).
///
/// Each method gets what is being done and a [`Next`] that runs the rest of the pipeline: the
/// next filter, or in the end the hub method or hook itself. A filter may:
///
/// - call `next.run().await` and pass its outcome on: observe (logging, metrics);
/// - return an error without calling `next`: the method body never runs, and the caller gets
///   the completion `An unexpected error occurred invoking 'X' on the server.` (followed by
///   ` HubException: <message>` for [`HubError::new`]), exactly as if the method had failed;
/// - return another result: [`InvocationResult::decode`] reads the method's,
///   [`HubInvocation::result`] makes a new one.
///
/// Every method has a default that just calls `next`, so implement only what you need, with
/// `async fn`. Register filters with [`HubEndpointBuilder::filter`] (one hub) or
/// [`HubFilters`] (shared by several endpoints, run first).
///
/// ```
/// use std::time::Instant;
///
/// use hubs::prelude::*;
/// use hubs::{HubFilter, HubInvocation, HubLifetimeContext, InvocationResult, Next};
///
/// /// Logs how long each call takes, and each connect.
/// struct Timing;
///
/// impl HubFilter for Timing {
///     async fn invoke(
///         &self,
///         invocation: &HubInvocation,
///         next: Next<'_, Result<InvocationResult, HubError>>,
///     ) -> Result<InvocationResult, HubError> {
///         let started = Instant::now();
///         let outcome = next.run().await;
///         println!(
///             "{}.{} took {:?} (ok: {})",
///             invocation.hub_name(),
///             invocation.method(),
///             started.elapsed(),
///             outcome.is_ok()
///         );
///         outcome
///     }
///
///     async fn on_connected(
///         &self,
///         lifetime: &HubLifetimeContext,
///         next: Next<'_, Result<(), HubError>>,
///     ) -> Result<(), HubError> {
///         println!("{} connected", lifetime.context().connection_id());
///         next.run().await
///     }
/// }
///
/// struct Chat;
///
/// #[hub]
/// impl Chat {
///     pub async fn echo(&self, text: String) -> String {
///         text
///     }
/// }
///
/// let endpoint = HubEndpoint::builder(Chat).filter(Timing).build();
/// # let _ = endpoint;
/// ```
///
/// [`HubEndpointBuilder::filter`]: crate::HubEndpointBuilder::filter
pub trait HubFilter: Send + Sync + 'static {
    /// Runs around one invocation. For a streaming method `next` completes when the stream
    /// has ended (its items go out as they come) with an empty result, and a stream the client
    /// cancels drops the whole pipeline; for upload methods `next` runs while the uploads
    /// arrive.
    fn invoke(
        &self,
        invocation: &HubInvocation,
        next: Next<'_, Result<InvocationResult, HubError>>,
    ) -> impl Future<Output = Result<InvocationResult, HubError>> + Send {
        let _ = invocation;
        next.run()
    }

    /// Runs around the hub's `on_connected` hook. An error closes the connection, as the
    /// hook's own would.
    fn on_connected(
        &self,
        lifetime: &HubLifetimeContext,
        next: Next<'_, Result<(), HubError>>,
    ) -> impl Future<Output = Result<(), HubError>> + Send {
        let _ = lifetime;
        next.run()
    }

    /// Runs around the hub's `on_disconnected` hook, with the error that ended the
    /// connection, if any.
    fn on_disconnected(
        &self,
        lifetime: &HubLifetimeContext,
        error: Option<&HubError>,
        next: Next<'_, ()>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (lifetime, error);
        next.run()
    }
}

/// A filter kept in an `Arc` (to read its state elsewhere) is a filter too.
impl<F: HubFilter> HubFilter for Arc<F> {
    fn invoke(
        &self,
        invocation: &HubInvocation,
        next: Next<'_, Result<InvocationResult, HubError>>,
    ) -> impl Future<Output = Result<InvocationResult, HubError>> + Send {
        (**self).invoke(invocation, next)
    }

    fn on_connected(
        &self,
        lifetime: &HubLifetimeContext,
        next: Next<'_, Result<(), HubError>>,
    ) -> impl Future<Output = Result<(), HubError>> + Send {
        (**self).on_connected(lifetime, next)
    }

    fn on_disconnected(
        &self,
        lifetime: &HubLifetimeContext,
        error: Option<&HubError>,
        next: Next<'_, ()>,
    ) -> impl Future<Output = ()> + Send {
        (**self).on_disconnected(lifetime, error, next)
    }
}

/// The rest of the pipeline after one filter: the following filters, then the hub method or
/// hook. `T` is what it produces. Dropping it without [`run`](Self::run) short-circuits.
pub struct Next<'a, T> {
    rest: Box<dyn FnOnce() -> BoxFuture<'a, T> + Send + 'a>,
}

impl<'a, T> Next<'a, T> {
    /// Runs the rest of the pipeline.
    pub fn run(self) -> BoxFuture<'a, T> {
        (self.rest)()
    }
}

/// One invocation as a filter sees it (ASP.NET Core's `HubInvocationContext`). Cheap to clone,
/// so an async filter may keep it.
#[derive(Clone)]
pub struct HubInvocation {
    hub: Arc<dyn Any + Send + Sync>,
    hub_name: &'static str,
    context: Context,
    method: &'static str,
    arguments: Arc<OwnedArguments>,
}

/// The encoded arguments, copied out of the received frame into one buffer.
struct OwnedArguments {
    bytes: Vec<u8>,
    /// Where each argument ends in `bytes`.
    ends: Vec<usize>,
}

impl HubInvocation {
    pub(crate) fn new(
        hub: Arc<dyn Any + Send + Sync>,
        hub_name: &'static str,
        context: Context,
        method: &'static str,
        arguments: &Arguments<'_>,
    ) -> Self {
        let values = arguments.values();
        let mut bytes = Vec::with_capacity(values.iter().map(|value| value.len()).sum());
        let ends = values
            .iter()
            .map(|value| {
                bytes.extend_from_slice(value);
                bytes.len()
            })
            .collect();
        Self {
            hub,
            hub_name,
            context,
            method,
            arguments: Arc::new(OwnedArguments { bytes, ends }),
        }
    }

    /// The hub value, if it is an `H` (one filter may serve several hubs).
    pub fn hub<H: 'static>(&self) -> Option<&H> {
        self.hub.downcast_ref()
    }

    /// The hub's type name without its module path (`Chat`).
    pub fn hub_name(&self) -> &'static str {
        self.hub_name
    }

    /// The calling connection, as the method sees it.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The method's wire name as the hub declares it (`SendMessage`), however the client
    /// spelled it.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// How many arguments the client sent.
    pub fn argument_count(&self) -> usize {
        self.arguments.ends.len()
    }

    /// Argument `index`, deserialized.
    pub fn argument<T: DeserializeOwned>(&self, index: usize) -> Result<T, ArgumentError> {
        let ends = &self.arguments.ends;
        let Some(&end) = ends.get(index) else {
            return Err(ArgumentError {
                index,
                message: "missing".into(),
            });
        };
        let start = index.checked_sub(1).map_or(0, |before| ends[before]);
        self.context
            .protocol()
            .decode_value(&self.arguments.bytes[start..end])
            .map_err(|message| ArgumentError { index, message })
    }

    /// A result to return in place of the method's: `value` encoded in the caller's protocol.
    pub fn result<T: Serialize + ?Sized>(&self, value: &T) -> Result<InvocationResult, HubError> {
        super::generated::encode_result(&self.context, value).map(|encoded| InvocationResult {
            encoded,
            context: self.context.clone(),
        })
    }
}

impl std::fmt::Debug for HubInvocation {
    /// Leaves the arguments out: they may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubInvocation")
            .field("hub", &self.hub_name)
            .field("method", &self.method)
            .field("connection_id", &self.context.connection_id())
            .finish_non_exhaustive()
    }
}

/// A method's result, already encoded in the caller's protocol. A streaming method's is empty.
pub struct InvocationResult {
    encoded: Encoded,
    context: Context,
}

impl InvocationResult {
    /// Deserializes the result (`()` for a method that returns nothing). Fails for a
    /// streaming method's result, which is empty.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, HubError> {
        self.context
            .protocol()
            .decode_value(&self.encoded)
            .map_err(|message| HubError::internal("InvalidDataException", message))
    }
}

impl std::fmt::Debug for InvocationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvocationResult")
            .field("encoded_len", &self.encoded.len())
            .finish_non_exhaustive()
    }
}

/// A connect or disconnect as a filter sees it (ASP.NET Core's `HubLifetimeContext`).
#[derive(Clone)]
pub struct HubLifetimeContext {
    hub: Arc<dyn Any + Send + Sync>,
    hub_name: &'static str,
    context: Context,
}

impl HubLifetimeContext {
    pub(crate) fn new(
        hub: Arc<dyn Any + Send + Sync>,
        hub_name: &'static str,
        context: Context,
    ) -> Self {
        Self {
            hub,
            hub_name,
            context,
        }
    }

    /// The hub value, if it is an `H`.
    pub fn hub<H: 'static>(&self) -> Option<&H> {
        self.hub.downcast_ref()
    }

    /// The hub's type name without its module path.
    pub fn hub_name(&self) -> &'static str {
        self.hub_name
    }

    /// The connection, as the hook sees it.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

/// An ordered list of filters, cheap to clone, to give several endpoints the same filters:
/// ASP.NET Core's global filters (`AddSignalR(o => o.AddFilter(...))`). Pass it to each
/// endpoint with [`HubEndpointBuilder::filters`]; its filters run before the endpoint's own.
/// A filter's state is shared by every endpoint the list is given to.
///
/// ```
/// use hubs::prelude::*;
/// use hubs::{HubFilter, HubFilters, HubInvocation, InvocationResult, Next};
///
/// /// Refuses calls with an argument longer than `limit` characters.
/// struct MaxLength {
///     limit: usize,
/// }
///
/// impl HubFilter for MaxLength {
///     async fn invoke(
///         &self,
///         invocation: &HubInvocation,
///         next: Next<'_, Result<InvocationResult, HubError>>,
///     ) -> Result<InvocationResult, HubError> {
///         for index in 0..invocation.argument_count() {
///             if let Ok(text) = invocation.argument::<String>(index)
///                 && text.chars().count() > self.limit
///             {
///                 return Err(HubError::new("Message too long"));
///             }
///         }
///         next.run().await
///     }
/// }
///
/// struct Chat;
/// #[hub]
/// impl Chat {
///     pub async fn send(&self, text: String) {}
/// }
/// struct Support;
/// #[hub]
/// impl Support {
///     pub async fn ask(&self, question: String) {}
/// }
///
/// let shared = HubFilters::new().with(MaxLength { limit: 500 });
/// let app = axum::Router::<()>::new()
///     .hub("/hubs/chat", HubEndpoint::builder(Chat).filters(shared.clone()).build())
///     .hub("/hubs/support", HubEndpoint::builder(Support).filters(shared).build());
/// # let _ = app;
/// ```
///
/// [`HubEndpointBuilder::filters`]: crate::HubEndpointBuilder::filters
#[derive(Clone, Default)]
pub struct HubFilters {
    list: Vec<Arc<dyn DynFilter>>,
}

impl HubFilters {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// The list with `filter` added after those already in it.
    pub fn with(mut self, filter: impl HubFilter) -> Self {
        self.push(filter);
        self
    }

    pub(crate) fn push(&mut self, filter: impl HubFilter) {
        self.list.push(Arc::new(filter));
    }

    pub(crate) fn extend(&mut self, other: HubFilters) {
        self.list.extend(other.list);
    }
}

impl std::fmt::Debug for HubFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubFilters")
            .field("len", &self.list.len())
            .finish()
    }
}

/// A hub type's name without its module path or generic arguments, for logs and filters.
pub(crate) fn hub_name<H>() -> &'static str {
    let full = std::any::type_name::<H>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
