//! The interop server's authenticated hubs: bearer tokens signed with `JWT_KEY` (tokens with
//! `kid` "current" or "previous" for rotation), a role, sync and async policies and an
//! anonymous method, for interop/test/auth.test.mjs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::routing::get;
use futures_util::Stream;
use hubs::UploadStream;
use hubs::auth::{Algorithm, Authenticator, DecodingKey, FromExtensions, JwtBearer, Principal};
use hubs::prelude::*;
use serde::Serialize;

/// Issuer and audience the tests' tokens must carry.
const ISSUER: &str = "hubs-interop";

/// Counts how often guarded method bodies ran, to show refused calls never run them.
#[derive(Default)]
pub struct AuthHub {
    admin_runs: AtomicUsize,
}

/// The caller, as `WhoAmI` answers.
#[derive(ts_rs::TS, Serialize)]
pub struct WhoAmI {
    name: String,
    id: Option<String>,
    roles: Vec<String>,
    #[serde(rename = "userIdentifier")]
    user_identifier: Option<String>,
}

/// Bearer tokens, roles, policies (on the hub and per method) and an anonymous method.
#[hub]
#[authorize(policy = "NotMuted")]
impl AuthHub {
    /// The caller as the server sees them.
    pub async fn who_am_i(&self, ctx: &Context) -> WhoAmI {
        let user = ctx.user().expect("the hub requires a user");
        WhoAmI {
            name: user.name().to_owned(),
            id: user.id().map(str::to_owned),
            roles: user.roles().to_vec(),
            user_identifier: ctx.user_identifier().map(str::to_owned),
        }
    }

    pub async fn echo(&self, message: String) -> String {
        message
    }

    /// Admins only; counts its runs.
    #[authorize(roles = "Admin,Manager")]
    pub async fn admin_only(&self) -> usize {
        self.admin_runs.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How often `AdminOnly` ran.
    pub async fn admin_runs(&self) -> usize {
        self.admin_runs.load(Ordering::Relaxed)
    }

    /// Allowed for even numbers only (a policy that reads the arguments).
    #[authorize(policy = "EvenOnly")]
    pub async fn even(&self, n: i64) -> i64 {
        n
    }

    /// Decided by an asynchronous policy: only users whose name starts with "a".
    #[authorize(policy = "SlowlyA")]
    pub async fn slowly_checked(&self) -> &'static str {
        "allowed"
    }

    /// A stream for admins: refused before its first item.
    #[authorize(roles = "Admin")]
    pub async fn admin_counter(&self, count: u32) -> impl Stream<Item = u32> + use<> {
        self.admin_runs.fetch_add(1, Ordering::Relaxed);
        futures_util::stream::iter(0..count)
    }

    /// An upload for admins: refused before an item is read. Counts its runs.
    #[authorize(roles = "Admin")]
    pub async fn admin_upload(&self, items: UploadStream<i64>) -> Result<i64, HubError> {
        self.admin_runs.fetch_add(1, Ordering::Relaxed);
        let mut items = std::pin::pin!(items);
        let mut total = 0;
        while let Some(item) = futures_util::StreamExt::next(&mut items).await {
            total += item?;
        }
        Ok(total)
    }

    /// Open even to users the hub's policy turns away from its other methods.
    #[allow_anonymous]
    pub async fn appeal(&self) -> &'static str {
        "heard"
    }
}

/// The keys the tests sign with: `JWT_KEY` (kid "current") and `JWT_KEY` + "-previous"
/// (kid "previous").
fn bearer() -> JwtBearer {
    let key =
        std::env::var("JWT_KEY").unwrap_or_else(|_| "interop-key-of-at-least-32-bytes!!".into());
    let previous = format!("{key}-previous");
    let hmac = |secret: &str| DecodingKey::from_secret(secret.as_bytes()).expect("a key");
    JwtBearer::new()
        .key_with_id("current", Algorithm::HS256, hmac(&key))
        .key_with_id("previous", Algorithm::HS256, hmac(&previous))
        .issuer(ISSUER)
        .audience(ISSUER)
        // Short, so expiry tests need not wait five minutes.
        .clock_skew(Duration::from_secs(1))
}

fn endpoint(close_on_expiry: bool) -> HubEndpoint<AuthHub> {
    HubEndpoint::builder(AuthHub::default())
        .authenticate(bearer())
        .configure(|o| o.close_on_authentication_expiration = close_on_expiry)
        // Connecting is fine for everyone; calls are not for users called "muted".
        .policy("NotMuted", |call| {
            call.method().is_none() || call.user().name() != "muted"
        })
        .policy("EvenOnly", |call| {
            call.argument::<i64>(0).is_ok_and(|n| n % 2 == 0)
        })
        .async_policy("SlowlyA", |call| {
            let name = call.user().name().to_owned();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                name.starts_with('a')
            }
        })
        .build()
}

/// `GET /api/token-check`: 200 with the user's name when the request carries a valid bearer
/// token, 401 otherwise. Not a hub path, so `access_token` in the query is not looked at.
async fn token_check(request: Request) -> Result<String, StatusCode> {
    let (parts, _) = request.into_parts();
    match bearer().authenticate(&parts).await {
        Ok(Some(user)) => Ok(user.name().to_owned()),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

/// `GET /api/auth-users/{connectionId}`: the name the connection signed in with, looked up
/// through the hub's `HubContext`, or 404.
async fn user_of(
    State(hub): State<HubContext<AuthHub>>,
    Path(connection_id): Path<String>,
) -> Result<String, StatusCode> {
    hub.user(&connection_id)
        .map(|user| user.name().to_owned())
        .ok_or(StatusCode::NOT_FOUND)
}

/// An app's own authentication layer: the `X-Demo-User` header names the user (demo only).
async fn demo_user_layer(mut request: Request, next: Next) -> axum::response::Response {
    let user = request
        .headers()
        .get("x-demo-user")
        .and_then(|v| v.to_str().ok())
        .map(|name| Principal::new(name).with_id(format!("{name}-id")));
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    next.run(request).await
}

/// `/hubs/auth`, `/hubs/auth-expiring` (closes connections whose token expires),
/// `/hubs/auth-layered` (users from the app's own layer), `/api/token-check` and
/// `/api/auth-users/{connectionId}`.
pub fn routes() -> Router {
    let auth = endpoint(false);
    let context = auth.context();
    let layered = HubEndpoint::builder(AuthHub::default())
        .authenticate(FromExtensions)
        .policy("NotMuted", |_| true)
        .policy("EvenOnly", |_| true)
        .policy("SlowlyA", |_| true)
        .build();
    Router::new()
        .route("/api/token-check", get(token_check))
        .route("/api/auth-users/{connection_id}", get(user_of))
        .with_state(context)
        .hub("/hubs/auth", auth)
        .hub("/hubs/auth-expiring", endpoint(true))
        .merge(
            Router::new()
                .hub("/hubs/auth-layered", layered)
                .layer(axum::middleware::from_fn(demo_user_layer)),
        )
}
