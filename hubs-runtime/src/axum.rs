//! Mounting hubs and connection handlers on an axum `Router`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Uri};
use axum::routing::any;

use crate::connection::{ConnectionDispatcher, ConnectionEndpoint};
use crate::endpoint::HubEndpoint;
use crate::hub::Hub;

/// Mounted endpoint paths (hubs and connection handlers) by their lower-case form. axum matches
/// paths exactly; ASP.NET Core matches them without regard to case (clients are redirected to
/// `/testHub` and ask for `/testhub`), so [`serve`](crate::serve) and [`match_path_case`]
/// route such a request to the path as mounted.
static MOUNTED_PATHS: RwLock<Option<HashMap<String, String>>> = RwLock::new(None);

fn remember_path(path: &str) {
    let mut paths = MOUNTED_PATHS
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    paths
        .get_or_insert_with(HashMap::new)
        .insert(path.to_ascii_lowercase(), path.to_owned());
}

/// The endpoint path `uri`'s path is, or the negotiate path of one, differing only in case:
/// `uri` with the path as mounted. `None` when it is no endpoint path, or is one exactly.
pub(crate) fn path_as_mounted(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let lower = path.to_ascii_lowercase();
    let (endpoint, negotiate) = match lower.strip_suffix("/negotiate") {
        Some(endpoint) => (endpoint, true),
        None => (lower.as_str(), false),
    };
    let paths = MOUNTED_PATHS.read().unwrap_or_else(PoisonError::into_inner);
    let mounted = paths.as_ref()?.get(endpoint)?;
    let wanted = match negotiate {
        true => format!("{mounted}/negotiate"),
        false => mounted.clone(),
    };
    if wanted == path {
        return None;
    }
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{wanted}{query}").parse().ok()
}

/// Points a request for a hub or connection-handler path written in other letter case
/// (`/testHub/negotiate` for a hub mounted at `/testhub`) at the path as mounted, as ASP.NET
/// Core matches paths; other requests pass unchanged.
///
/// [`serve`](crate::serve) does this for every request. axum routes a request before any
/// layer of the router runs, so with `axum::serve` apply it around the whole router:
///
/// ```no_run
/// use hubs::prelude::*;
/// use tower::ServiceExt as _;
///
/// struct Chat;
/// #[hub]
/// impl Chat {}
///
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new().hub("/chat", Chat);
/// let app = app.map_request(hubs::match_path_case::<axum::body::Body>);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, axum::ServiceExt::into_make_service(app)).await
/// # }
/// ```
pub fn match_path_case<B>(mut request: Request<B>) -> Request<B> {
    if let Some(uri) = path_as_mounted(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
}

/// Adds hubs and connection handlers to an axum [`Router`] (axum 0.8; with another version of
/// axum the methods are not found).
///
/// ```
/// use hubs::prelude::*;
///
/// struct Chat;
/// #[hub]
/// impl Chat {}
///
/// struct Admin;
/// #[hub]
/// impl Admin {}
///
/// let app: axum::Router = axum::Router::new()
///     .hub("/hubs/chat", Chat)
///     .hub("/hubs/admin", HubEndpoint::builder(Admin).detailed_errors(true).build())
///     .route("/health", axum::routing::get(|| async { "ok" }));
/// # let _ = app;
/// ```
pub trait HubRouterExt {
    /// Serves `endpoint` at `path`: `POST {path}/negotiate` and the transports on `{path}`.
    /// Accepts a hub value (default options) or a configured [`HubEndpoint`]. Served with
    /// [`serve`](crate::serve) (or [`match_path_case`]), the path also matches without
    /// regard to case, as in ASP.NET Core.
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self;

    /// Serves a raw connection endpoint at `path`, without the hub protocol (ASP.NET Core's
    /// `MapConnectionHandler`): negotiate and the transports as for a hub, each connection
    /// run by the [`ConnectionHandler`](crate::connection::ConnectionHandler), which exchanges
    /// bytes with the client. Accepts a handler (default options) or a configured
    /// [`ConnectionEndpoint`]; the path matches without regard to case as hub paths do. See
    /// [`ConnectionHandler`](crate::connection::ConnectionHandler) for an example.
    ///
    /// # Panics
    /// When the endpoint's connection options cannot work, naming the option.
    fn connection_handler(self, path: &str, endpoint: impl Into<ConnectionEndpoint>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> HubRouterExt for Router<S> {
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self {
        mount(self, path, endpoint.into().connections)
    }

    fn connection_handler(self, path: &str, endpoint: impl Into<ConnectionEndpoint>) -> Self {
        let dispatcher = endpoint
            .into()
            .into_dispatcher()
            .unwrap_or_else(|error| panic!("invalid connection endpoint {path:?}: {error}"));
        mount(self, path, Arc::new(dispatcher))
    }
}

/// Routes `POST {path}/negotiate` and the transport requests on `{path}` to `connections`.
fn mount<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    path: &str,
    connections: Arc<ConnectionDispatcher>,
) -> Router<S> {
    let path = path.trim_end_matches('/');
    assert!(
        path.starts_with('/'),
        "endpoint paths start with '/': {path:?}"
    );
    remember_path(path);
    let negotiate = Arc::clone(&connections);
    router
        .route(
            &format!("{path}/negotiate"),
            any(move |request: Request<Body>| {
                let negotiate = Arc::clone(&negotiate);
                async move { negotiate.negotiate(request).await }
            }),
        )
        .route(
            path,
            any(move |request: Request<Body>| Arc::clone(&connections).connect(request)),
        )
}
