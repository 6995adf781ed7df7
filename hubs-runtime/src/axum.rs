//! Mounting hubs on an axum `Router`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::any;

use crate::endpoint::HubEndpoint;
use crate::hub::Hub;

/// Adds hubs to an axum [`Router`].
pub trait HubRouterExt {
    /// Serves `endpoint` at `path`: `POST {path}/negotiate` and the transports on `{path}`.
    /// Accepts a hub value (default options) or a configured [`HubEndpoint`].
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> HubRouterExt for Router<S> {
    fn hub<H: Hub>(self, path: &str, endpoint: impl Into<HubEndpoint<H>>) -> Self {
        let endpoint = endpoint.into();
        let path = path.trim_end_matches('/');
        assert!(path.starts_with('/'), "hub paths start with '/': {path:?}");
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
