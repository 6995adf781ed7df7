//! Authentication: who a request comes from. Sees HTTP request parts only, never connections
//! or hubs, so the connection layer can ask it about every request it serves.
//!
//! - [`Authenticator`]: request parts in, a [`Principal`] (or no user, or a failure) out;
//!   [`JwtBearer`] for bearer tokens, [`FromExtensions`] for apps that already authenticate
//!   with an axum/tower layer, [`from_fn`] for anything else.
//! - [`UserIdProvider`]: which user id a principal is, for `clients().user(..)` targets.

mod jwt;
mod principal;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;

pub(crate) use jwt::HubRequest;
pub use jwt::{Algorithm, DecodingKey, JwtBearer};
pub use principal::Principal;

/// Credentials were presented but are not valid (bad signature, expired, wrong issuer, ...).
/// Carries a short reason for logs; never the credentials themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationFailed {
    reason: &'static str,
}

impl AuthenticationFailed {
    /// A failure, with a reason for logs (which must not contain the credentials).
    pub fn new(reason: &'static str) -> Self {
        Self { reason }
    }

    /// Why authentication failed.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl std::fmt::Display for AuthenticationFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "authentication failed: {}", self.reason)
    }
}

impl std::error::Error for AuthenticationFailed {}

/// Establishes who sent a request. Runs on negotiate and on every request of every transport
/// (the WebSocket upgrade, SSE and long-polling GETs, POSTs and DELETEs).
///
/// `Ok(None)` is an anonymous request: fine for hubs without `#[authorize]`. A failure counts as
/// anonymous there too, as in ASP.NET Core, and is answered 401 where a user is required.
pub trait Authenticator: Send + Sync + 'static {
    /// Who `request` comes from.
    fn authenticate<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Principal>, AuthenticationFailed>>;
}

/// An [`Authenticator`] from an async function of the request parts.
///
/// ```
/// use hubs::auth::{self, Principal};
///
/// // Demo only: the `user` query parameter names the user.
/// let by_query = auth::from_fn(|request| {
///     let user = request.uri.query().and_then(|q| q.strip_prefix("user=")).map(str::to_owned);
///     async move { Ok(user.map(Principal::new)) }
/// });
/// # let _ = by_query;
/// ```
pub fn from_fn<F, Fut>(authenticate: F) -> impl Authenticator
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Principal>, AuthenticationFailed>> + Send + 'static,
{
    FromFn(authenticate)
}

struct FromFn<F>(F);

impl<F, Fut> Authenticator for FromFn<F>
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Principal>, AuthenticationFailed>> + Send + 'static,
{
    fn authenticate<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Principal>, AuthenticationFailed>> {
        Box::pin((self.0)(request))
    }
}

/// For apps that already authenticate with an axum/tower layer (cookies, sessions, API keys):
/// the [`Principal`] that layer put into the request's extensions is the user; a request
/// without one is anonymous.
///
/// ```
/// use hubs::auth::{FromExtensions, Principal};
///
/// // The app's own middleware does `request.extensions_mut().insert(principal)`.
/// let authenticator = FromExtensions;
/// # let _ = (authenticator, Principal::new("ann"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FromExtensions;

impl Authenticator for FromExtensions {
    fn authenticate<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Principal>, AuthenticationFailed>> {
        let principal = request.extensions.get::<Principal>().cloned();
        Box::pin(std::future::ready(Ok(principal)))
    }
}

/// Finds the user id of a principal, for `clients().user(..)` targets (ASP.NET Core's
/// `IUserIdProvider`). The default is the principal's name identifier (the `sub` claim).
pub type UserIdProvider = Arc<dyn Fn(&Principal) -> Option<String> + Send + Sync>;

/// Whether a principal may connect to a hub (its `#[authorize]` rules), decided above.
pub(crate) type ConnectRule = Arc<dyn Fn(Arc<Principal>) -> BoxFuture<'static, bool> + Send + Sync>;

/// What a hub endpoint asks of each request: who it comes from, and whether they may connect.
pub(crate) struct RequestAuth {
    pub(crate) authenticator: Arc<dyn Authenticator>,
    /// Set when the hub requires a user: the rules that user must satisfy.
    pub(crate) connect_rule: Option<ConnectRule>,
}

/// Why a request may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 401: no valid credentials where a user is required.
    Unauthenticated,
    /// 403: authenticated, but not allowed (the hub's rules, or another user's connection).
    Forbidden,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            // An empty body: the official client shows the status text.
            Refusal::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            )
                .into_response(),
            Refusal::Forbidden => StatusCode::FORBIDDEN.into_response(),
        }
    }
}

impl RequestAuth {
    /// Authenticates `request` and applies the hub's requirement.
    pub(crate) async fn admit(&self, request: &Parts) -> Result<Option<Arc<Principal>>, Refusal> {
        let principal = match self.authenticator.authenticate(request).await {
            Ok(principal) => principal.map(Arc::new),
            Err(failure) => {
                tracing::debug!(reason = failure.reason(), "request not authenticated");
                None
            }
        };
        let Some(rule) = &self.connect_rule else {
            return Ok(principal);
        };
        match principal {
            None => Err(Refusal::Unauthenticated),
            Some(principal) if rule(Arc::clone(&principal)).await => Ok(Some(principal)),
            Some(_) => Err(Refusal::Forbidden),
        }
    }
}

/// The user of one connection, shared by the transport (which sees every later request and
/// its refreshed credentials) and the hub layer (which closes the connection when they expire,
/// if asked to).
#[derive(Debug)]
pub struct ConnectionUser {
    principal: Arc<Principal>,
    /// Seconds since the Unix epoch; 0 for credentials that never expire.
    expires_at: AtomicU64,
}

impl ConnectionUser {
    pub(crate) fn new(principal: Arc<Principal>) -> Arc<Self> {
        let expires_at = principal.expires_at().map_or(0, unix_seconds);
        Arc::new(Self {
            principal,
            expires_at: AtomicU64::new(expires_at),
        })
    }

    /// The principal the connection was opened with.
    pub fn principal(&self) -> &Arc<Principal> {
        &self.principal
    }

    /// When the connection's credentials expire, as refreshed by its later requests.
    pub fn expires_at(&self) -> Option<SystemTime> {
        match self.expires_at.load(Ordering::Relaxed) {
            0 => None,
            seconds => Some(UNIX_EPOCH + Duration::from_secs(seconds)),
        }
    }

    /// A later request of the connection authenticated as `principal`: refused unless it is
    /// the same user; a later expiry is taken over.
    pub(crate) fn refresh(&self, principal: Option<&Principal>) -> Result<(), Refusal> {
        let Some(principal) = principal.filter(|p| p.same_user(&self.principal)) else {
            return Err(Refusal::Forbidden);
        };
        if let Some(expires_at) = principal.expires_at() {
            self.expires_at
                .fetch_max(unix_seconds(expires_at), Ordering::Relaxed);
        }
        Ok(())
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_requests_must_be_the_same_user_and_may_extend_the_expiry() {
        let soon = UNIX_EPOCH + Duration::from_secs(1_000);
        let later = UNIX_EPOCH + Duration::from_secs(2_000);
        let ann = Principal::new("ann").with_id("1").expiring_at(soon);
        let user = ConnectionUser::new(Arc::new(ann));
        let bob = Principal::new("bob").with_id("2").expiring_at(later);
        assert_eq!(user.refresh(Some(&bob)), Err(Refusal::Forbidden));
        assert_eq!(user.refresh(None), Err(Refusal::Forbidden));
        assert_eq!(user.expires_at(), Some(soon));
        let refreshed = Principal::new("ann").with_id("1").expiring_at(later);
        assert_eq!(user.refresh(Some(&refreshed)), Ok(()));
        assert_eq!(user.expires_at(), Some(later));
        // An older token never moves the expiry back.
        let older = Principal::new("ann").with_id("1").expiring_at(soon);
        assert_eq!(user.refresh(Some(&older)), Ok(()));
        assert_eq!(user.expires_at(), Some(later));
    }
}
