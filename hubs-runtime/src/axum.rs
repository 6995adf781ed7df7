//! Mounting hubs on an axum `Router`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Uri};
use axum::routing::any;

use crate::endpoint::HubEndpoint;
use crate::hub::Hub;

/// Mounted hub paths by their lower-case form. axum matches paths exactly; ASP.NET Core
/// matches them without regard to case (clients are redirected to `/testHub` and ask for
/// `/testhub`), so [`serve`](crate::serve) routes such a request to the path as mounted.
static HUB_PATHS: RwLock<Option<HashMap<String, String>>> = RwLock::new(None);

fn remember_hub_path(path: &str) {
    let mut paths = HUB_PATHS.write().unwrap_or_else(PoisonError::into_inner);
    paths
        .get_or_insert_with(HashMap::new)
        .insert(path.to_ascii_lowercase(), path.to_owned());
}

/// The hub path `uri`'s path is, or the negotiate path of one, differing only in case: `uri`
/// with the path as mounted. `None` when it is no hub path, or is one exactly.
pub(crate) fn hub_path_as_mounted(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let lower = path.to_ascii_lowercase();
    let (hub, negotiate) = match lower.strip_suffix("/negotiate") {
        Some(hub) => (hub, true),
        None => (lower.as_str(), false),
    };
    let paths = HUB_PATHS.read().unwrap_or_else(PoisonError::into_inner);
    let mounted = paths.as_ref()?.get(hub)?;
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

/// Adds hubs to an axum [`Router`] (axum 0.8; with another version of axum the method is
/// not found).
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
    /// [`serve`](crate::serve), the path also matches without regard to case, as in ASP.NET
    /// Core.
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> HubRouterExt for Router<S> {
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self {
        let endpoint = endpoint.into();
        let path = path.trim_end_matches('/');
        assert!(path.starts_with('/'), "hub paths start with '/': {path:?}");
        remember_hub_path(path);
        let negotiate = Arc::clone(&endpoint.connections);
        let transports = Arc::clone(&endpoint.connections);
        self.route(
            &format!("{path}/negotiate"),
            any(move |request: Request<Body>| {
                let negotiate = Arc::clone(&negotiate);
                async move { negotiate.negotiate(request).await }
            }),
        )
        .route(
            path,
            any(move |request: Request<Body>| Arc::clone(&transports).connect(request)),
        )
    }
}
