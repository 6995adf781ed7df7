//! A hub ready to be mounted, and the handle that reaches its clients from outside.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::auth::{Authenticator, Principal, RequestAuth, UserIdProvider};
use crate::clients::{Groups, HubClients, Presence};
use crate::connection::{ConnectionDispatcher, ConnectionOptions};
use crate::hub::{
    AuthorizationContext, CloseAll, FilterChain, Hub, HubDispatcher, HubFilter, HubFilters,
    Policies,
};
use crate::lifetime::{HubInfo, HubLifetimeManager, InMemoryLifetimeManager, ProtocolSet};
use crate::options::HubOptions;
use crate::protocol::JsonPropertyNames;

/// A hub with its options and lifetime manager, ready to mount on a router with
/// [`HubRouterExt::hub`](crate::HubRouterExt::hub).
///
/// `.hub(path, hub)` with a bare hub value builds one with the defaults; build it yourself to
/// configure the hub ([`builder`](Self::builder)) or to keep a [`HubContext`] for code outside
/// the hub ([`context`](Self::context)).
///
/// ```
/// use hubs::prelude::*;
///
/// struct Chat;
///
/// #[hub]
/// impl Chat {
///     pub async fn send(&self, ctx: &Context, text: String) -> Result<(), HubError> {
///         ctx.clients().all().send("Message", (text,)).await?;
///         Ok(())
///     }
/// }
///
/// let endpoint = HubEndpoint::builder(Chat).detailed_errors(true).build();
/// let context = endpoint.context(); // for HTTP handlers and tasks
/// let app: axum::Router = axum::Router::new().hub("/hubs/chat", endpoint);
/// # let _ = (app, context);
/// ```
pub struct HubEndpoint<H: Hub> {
    pub(crate) connections: Arc<ConnectionDispatcher>,
    lifetime: Arc<dyn HubLifetimeManager>,
    close_all: Arc<CloseAll>,
    _hub: PhantomData<fn() -> H>,
}

impl<H: Hub> HubEndpoint<H> {
    /// `hub` with default options and the in-memory lifetime manager.
    pub fn new(hub: H) -> Self {
        Self::builder(hub).build()
    }

    /// Starts configuring an endpoint for `hub`.
    pub fn builder(hub: H) -> HubEndpointBuilder<H> {
        HubEndpointBuilder {
            hub,
            options: HubOptions::default(),
            connection_options: ConnectionOptions::default(),
            lifetime: None,
            user_id: None,
            authenticator: None,
            policies: Policies::default(),
            shared_filters: HubFilters::new(),
            filters: HubFilters::new(),
        }
    }

    /// A handle for sending to this hub's clients from outside hub methods (HTTP handlers,
    /// background tasks). Cheap to clone.
    pub fn context(&self) -> HubContext<H> {
        HubContext {
            lifetime: Arc::clone(&self.lifetime),
            close_all: Arc::clone(&self.close_all),
            json_names: H::JSON_PROPERTY_NAMES,
            _hub: PhantomData,
        }
    }

    /// Closes every connection of this hub on this node; see [`HubContext::close_all`].
    pub fn close_all(&self, allow_reconnect: bool) {
        self.close_all.close(allow_reconnect, false);
    }
}

impl<H: Hub> From<H> for HubEndpoint<H> {
    fn from(hub: H) -> Self {
        Self::new(hub)
    }
}

/// Configures a [`HubEndpoint`]: options, authentication and policies, filters, the lifetime
/// manager. Made by [`HubEndpoint::builder`]; [`build`](Self::build) checks the whole
/// configuration.
///
/// ```
/// use std::time::Duration;
///
/// use hubs::auth::JwtBearer;
/// use hubs::prelude::*;
///
/// struct Orders;
///
/// #[hub]
/// #[authorize]
/// impl Orders {
///     #[authorize(policy = "Staff")]
///     pub async fn cancel(&self, id: u64) -> u64 {
///         id
///     }
/// }
///
/// let endpoint = HubEndpoint::builder(Orders)
///     .authenticate(JwtBearer::hmac(b"a secret of at least thirty-two bytes!"))
///     .policy("Staff", |call| call.user().is_in_role("Staff"))
///     .configure(|o| o.keep_alive_interval = Duration::from_secs(10))
///     .configure_connections(|c| c.allow_stateful_reconnects = true)
///     .build();
/// # let _ = endpoint;
/// ```
pub struct HubEndpointBuilder<H: Hub> {
    hub: H,
    options: HubOptions,
    connection_options: ConnectionOptions,
    lifetime: Option<Arc<dyn HubLifetimeManager>>,
    user_id: Option<UserIdProvider>,
    authenticator: Option<Arc<dyn Authenticator>>,
    policies: Policies,
    /// Filters shared with other endpoints: they run first.
    shared_filters: HubFilters,
    /// This endpoint's own filters.
    filters: HubFilters,
}

impl<H: Hub> HubEndpointBuilder<H> {
    /// Authenticates every request of the endpoint (negotiate and every transport request)
    /// with `authenticator`: hub code sees the user with `Context::user()`, `#[authorize]`
    /// rules are enforced, and each later request of a connection must be the same user
    /// (403 otherwise).
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// use hubs::auth::JwtBearer;
    ///
    /// struct Chat;
    ///
    /// #[hub]
    /// #[authorize]
    /// impl Chat {
    ///     pub async fn whoami(&self, ctx: &Context) -> String {
    ///         ctx.user().map(|user| user.name().to_owned()).unwrap_or_default()
    ///     }
    /// }
    ///
    /// let endpoint = HubEndpoint::builder(Chat)
    ///     .authenticate(JwtBearer::hmac(b"a secret of at least thirty-two bytes!"))
    ///     .build();
    /// # let _ = endpoint;
    /// ```
    pub fn authenticate(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Names the user id of each authenticated connection, for `clients().user(..)` targets
    /// (ASP.NET Core's `IUserIdProvider`). The default is the principal's name identifier
    /// ([`Principal::id`], a token's `sub`). Connections for which it returns `None` (or an
    /// empty id), and anonymous ones, are never reached by user targets.
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # struct Chat;
    /// # #[hub] impl Chat {}
    /// // Users are addressed by name rather than by id.
    /// let endpoint = HubEndpoint::builder(Chat)
    ///     .user_id_provider(|user| Some(user.name().to_owned()))
    ///     .build();
    /// # let _ = endpoint;
    /// ```
    pub fn user_id_provider(
        mut self,
        provider: impl Fn(&Principal) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.user_id = Some(Arc::new(provider));
        self
    }

    /// Registers the authorization policy `name` that `#[authorize(policy = "name")]` refers
    /// to: a function of the caller and, for an invocation, the method and its arguments.
    /// An endpoint whose hub names a policy not registered fails to build.
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # use hubs::auth::JwtBearer;
    /// struct Rooms;
    ///
    /// #[hub]
    /// impl Rooms {
    ///     #[authorize(policy = "OwnRoom")]
    ///     pub async fn close_room(&self, room: String) {}
    /// }
    ///
    /// let endpoint = HubEndpoint::builder(Rooms)
    ///     .authenticate(JwtBearer::hmac(b"a secret of at least thirty-two bytes!"))
    ///     .policy("OwnRoom", |call| {
    ///         let room: String = call.argument(0).unwrap_or_default();
    ///         room.starts_with(call.user().name())
    ///     })
    ///     .build();
    /// # let _ = endpoint;
    /// ```
    pub fn policy(
        mut self,
        name: impl Into<String>,
        policy: impl Fn(&AuthorizationContext<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.policies.add_sync(name.into(), policy);
        self
    }

    /// Registers an asynchronous authorization policy (one that looks something up). It
    /// takes what it needs from the context before it returns its future.
    pub fn async_policy<F>(
        mut self,
        name: impl Into<String>,
        policy: impl Fn(&AuthorizationContext<'_>) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: std::future::Future<Output = bool> + Send + 'static,
    {
        self.policies.add_async(name.into(), policy);
        self
    }

    /// Adds a [`HubFilter`] around this hub's invocations, connects and disconnects. Filters
    /// run in the order they are added, after those given with [`filters`](Self::filters),
    /// and after authorization. See [`HubFilter`] for an example.
    pub fn filter(mut self, filter: impl HubFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds the filters of a list shared by several endpoints (ASP.NET Core's global filters):
    /// they run before those added with [`filter`](Self::filter), whatever the order of the
    /// calls. See [`HubFilters`] for an example.
    pub fn filters(mut self, shared: HubFilters) -> Self {
        self.shared_filters.extend(shared);
        self
    }

    /// Replaces the hub options.
    pub fn options(mut self, options: HubOptions) -> Self {
        self.options = options;
        self
    }

    /// Changes some hub options in place: start from shared defaults with
    /// [`options`](Self::options), then override per hub here (ASP.NET Core's `AddSignalR`
    /// and `AddHubOptions<THub>`).
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # struct Chat;
    /// # #[hub] impl Chat {}
    /// let shared = HubOptions { enable_detailed_errors: true, ..HubOptions::default() };
    /// let endpoint = HubEndpoint::builder(Chat)
    ///     .options(shared.clone())
    ///     .configure(|o| o.maximum_parallel_invocations_per_client = 4)
    ///     .build();
    /// # let _ = endpoint;
    /// ```
    pub fn configure(mut self, change: impl FnOnce(&mut HubOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// Changes some connection (transport) options in place.
    pub fn configure_connections(mut self, change: impl FnOnce(&mut ConnectionOptions)) -> Self {
        change(&mut self.connection_options);
        self
    }

    /// Turns detailed errors on or off (`HubOptions::enable_detailed_errors`).
    pub fn detailed_errors(mut self, enabled: bool) -> Self {
        self.options.enable_detailed_errors = enabled;
        self
    }

    /// Replaces the connection (transport) options.
    pub fn connection_options(mut self, options: ConnectionOptions) -> Self {
        self.connection_options = options;
        self
    }

    /// Uses `lifetime` instead of the in-memory lifetime manager (for example a backplane).
    pub fn lifetime_manager(mut self, lifetime: impl HubLifetimeManager) -> Self {
        self.lifetime = Some(Arc::new(lifetime));
        self
    }

    /// Builds the endpoint, or says which option cannot work.
    pub fn try_build(self) -> Result<HubEndpoint<H>, String> {
        self.options.validate()?;
        self.connection_options.validate()?;
        self.policies.check_registered::<H>()?;
        let requires_user =
            !H::AUTHORIZE.is_empty() || H::METHODS.iter().any(|m| !m.authorize.is_empty());
        if requires_user && self.authenticator.is_none() {
            return Err(format!(
                "{} has #[authorize] rules but no authenticator: add                  HubEndpointBuilder::authenticate(...)",
                std::any::type_name::<H>()
            ));
        }
        let lifetime = self
            .lifetime
            .unwrap_or_else(|| Arc::new(InMemoryLifetimeManager::new()));
        lifetime.attach(&HubInfo::new(
            std::any::type_name::<H>(),
            ProtocolSet::of(self.options.supported_protocols.iter().copied()),
        ))?;
        let auth = self.authenticator.map(|authenticator| {
            let policies = self.policies.clone();
            RequestAuth {
                authenticator,
                connect_rule: (!H::AUTHORIZE.is_empty()).then(|| {
                    let rule: crate::auth::ConnectRule = Arc::new(move |user: Arc<Principal>| {
                        let decision = policies.decide(&[H::AUTHORIZE], || Some(&user), None, None);
                        Box::pin(decision.allowed())
                    });
                    rule
                }),
            }
        });
        let close_all = Arc::new(CloseAll::default());
        let dispatcher = HubDispatcher::new(
            Arc::new(self.hub),
            self.options,
            Arc::clone(&lifetime),
            self.user_id,
            self.policies,
            FilterChain::new(self.shared_filters, self.filters),
            Arc::clone(&close_all),
        );
        let mut connections =
            ConnectionDispatcher::new(Arc::new(dispatcher), self.connection_options);
        if let Some(auth) = auth {
            connections = connections.with_auth(auth);
        }
        Ok(HubEndpoint {
            connections: Arc::new(connections),
            lifetime,
            close_all,
            _hub: PhantomData,
        })
    }

    /// Builds the endpoint.
    ///
    /// # Panics
    /// When an option cannot work, naming it (see [`try_build`](Self::try_build)).
    pub fn build(self) -> HubEndpoint<H> {
        self.try_build()
            .unwrap_or_else(|error| panic!("invalid hub configuration: {error}"))
    }
}

/// Reaches the clients of hub `H` from outside its methods, like ASP.NET Core's
/// `IHubContext<THub>`: from axum handlers, background tasks, queue consumers. Made by
/// [`HubEndpoint::context`]; cheap to clone. Typed client methods (`#[hub_client]`) work on
/// its targets too.
///
/// ```
/// use axum::extract::State;
/// use axum::routing::post;
/// use hubs::prelude::*;
///
/// struct Alerts;
///
/// #[hub]
/// impl Alerts {}
///
/// /// `POST /alerts/{group}` sends the body to that group's clients.
/// async fn alert(
///     State(hub): State<HubContext<Alerts>>,
///     axum::extract::Path(group): axum::extract::Path<String>,
///     text: String,
/// ) -> Result<(), String> {
///     hub.clients().group(group).send("Alert", (text,)).await.map_err(|e| e.to_string())
/// }
///
/// let endpoint = HubEndpoint::new(Alerts);
/// let app: axum::Router = axum::Router::new()
///     .route("/alerts/{group}", post(alert))
///     .with_state(endpoint.context())
///     .hub("/hubs/alerts", endpoint);
/// # let _ = app;
/// ```
pub struct HubContext<H> {
    lifetime: Arc<dyn HubLifetimeManager>,
    close_all: Arc<CloseAll>,
    json_names: JsonPropertyNames,
    _hub: PhantomData<fn() -> H>,
}

impl<H> Clone for HubContext<H> {
    fn clone(&self) -> Self {
        Self {
            lifetime: Arc::clone(&self.lifetime),
            close_all: Arc::clone(&self.close_all),
            json_names: self.json_names,
            _hub: PhantomData,
        }
    }
}

impl<H> HubContext<H> {
    /// Who to send to: all, a connection, groups, users, ...
    pub fn clients(&self) -> HubClients<'_> {
        HubClients::new(&*self.lifetime).with_json_property_names(self.json_names)
    }

    /// Group membership of any connection.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(&*self.lifetime)
    }

    /// Who is online (on every node, with a backplane).
    pub fn presence(&self) -> Presence<'_> {
        Presence::new(&*self.lifetime)
    }

    /// Who connection `connection_id` authenticated as, if it is connected to this node and
    /// signed in.
    pub fn user(&self, connection_id: &str) -> Option<Arc<Principal>> {
        let connection = self.lifetime.local_connection(connection_id)?;
        connection.principal().cloned()
    }

    /// Closes every connection of this hub on this node with a Close message, as if each had
    /// called `Context::abort`, but telling clients whether they may reconnect:
    /// `allow_reconnect` lets the official clients' automatic reconnect (`withAutomaticReconnect`)
    /// start over, to this server or another; without it they stop. WebSockets then close
    /// normally (1000), SSE responses end, and Long Polling clients receive the Close message
    /// in their poll. `on_disconnected` runs for each connection, with no error.
    ///
    /// Returns at once; the connections end shortly after. Clients may connect again at once:
    /// to stop serving altogether, use [`Serve::with_graceful_shutdown`](crate::Serve::with_graceful_shutdown),
    /// which does this for every hub it serves. Connections of this hub on other nodes (with a
    /// backplane) are not affected.
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # struct Chat;
    /// # #[hub] impl Chat {}
    /// let endpoint = HubEndpoint::new(Chat);
    /// let context = endpoint.context();
    /// // From an admin route or a task: everyone out, and come back later.
    /// context.close_all(true);
    /// # let _ = endpoint;
    /// ```
    pub fn close_all(&self, allow_reconnect: bool) {
        self.close_all.close(allow_reconnect, false);
    }
}
