//! A hub ready to be mounted, and the handle that reaches its clients from outside.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::clients::{Groups, HubClients};
use crate::connection::{ConnectionDispatcher, ConnectionOptions, RequestInfo};
use crate::hub::{Hub, HubDispatcher};
use crate::lifetime::{HubLifetimeManager, InMemoryLifetimeManager};
use crate::options::HubOptions;

/// A hub with its options and lifetime manager, ready to mount on a router with
/// [`HubRouterExt::hub`](crate::HubRouterExt::hub).
pub struct HubEndpoint<H: Hub> {
    pub(crate) connections: Arc<ConnectionDispatcher>,
    lifetime: Arc<dyn HubLifetimeManager>,
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
        }
    }

    /// A handle for sending to this hub's clients from outside hub methods (HTTP handlers,
    /// background tasks). Cheap to clone.
    pub fn context(&self) -> HubContext<H> {
        HubContext {
            lifetime: Arc::clone(&self.lifetime),
            _hub: PhantomData,
        }
    }
}

impl<H: Hub> From<H> for HubEndpoint<H> {
    fn from(hub: H) -> Self {
        Self::new(hub)
    }
}

/// Configures a [`HubEndpoint`].
pub struct HubEndpointBuilder<H: Hub> {
    hub: H,
    options: HubOptions,
    connection_options: ConnectionOptions,
    lifetime: Option<Arc<dyn HubLifetimeManager>>,
    user_id: Option<UserIdProvider>,
}

/// Finds the user a connection belongs to, from the request that opened it.
pub type UserIdProvider = Arc<dyn Fn(&RequestInfo) -> Option<String> + Send + Sync>;

impl<H: Hub> HubEndpointBuilder<H> {
    /// Names the user of each connection, for `clients().user(..)` targets (like ASP.NET Core's
    /// `IUserIdProvider`). Connections for which it returns `None` (or an empty id) belong to
    /// no user and are never reached by user targets. Without a provider no connection has a
    /// user.
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # struct Chat;
    /// # #[hub] impl Chat {}
    /// // Until authentication is set up: the `user` query parameter names the user.
    /// let endpoint = HubEndpoint::builder(Chat)
    ///     .user_id_provider(|request| request.query_value("user").map(str::to_string))
    ///     .build();
    /// # let _ = endpoint;
    /// ```
    pub fn user_id_provider(
        mut self,
        provider: impl Fn(&RequestInfo) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.user_id = Some(Arc::new(provider));
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
        let lifetime = self
            .lifetime
            .unwrap_or_else(|| Arc::new(InMemoryLifetimeManager::new()));
        let dispatcher = HubDispatcher::new(
            Arc::new(self.hub),
            self.options,
            Arc::clone(&lifetime),
            self.user_id,
        );
        Ok(HubEndpoint {
            connections: Arc::new(ConnectionDispatcher::new(
                Arc::new(dispatcher),
                self.connection_options,
            )),
            lifetime,
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
/// `IHubContext<THub>`.
pub struct HubContext<H> {
    lifetime: Arc<dyn HubLifetimeManager>,
    _hub: PhantomData<fn() -> H>,
}

impl<H> Clone for HubContext<H> {
    fn clone(&self) -> Self {
        Self {
            lifetime: Arc::clone(&self.lifetime),
            _hub: PhantomData,
        }
    }
}

impl<H> HubContext<H> {
    /// Who to send to: all, a connection, groups, users, ...
    pub fn clients(&self) -> HubClients<'_> {
        HubClients::new(&*self.lifetime)
    }

    /// Group membership of any connection.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(&*self.lifetime)
    }
}
