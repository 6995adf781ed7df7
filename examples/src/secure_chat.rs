//! The chat example's second hub, `/hubs/secure-chat`: signed-in users only, an admin-only
//! broadcast and private messages, with bearer tokens from `POST /api/login`. Mounted by the
//! `chat` binary with [`routes`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use hubs::auth::JwtBearer;
use hubs::prelude::*;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde::{Deserialize, Serialize};

/// Issuer and audience of the demo's tokens.
const ISSUER: &str = "hubs-chat";
/// How long a token from `/api/login` is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The demo users: name, password, roles.
const USERS: &[(&str, &str, &[&str])] = &[("alice", "demo", &["Admin"]), ("bob", "demo", &[])];

/// What the secure chat sends its clients.
#[hub_client]
pub trait SecureChatClient {
    /// An admin's message to everyone.
    async fn admin_message(&self, message: &str);
    /// A message from user `sender_user_id` to this user.
    async fn private_message(&self, sender_user_id: &str, message: &str);
}

/// Only signed-in users may connect.
pub struct SecureChatHub;

/// Signed-in users only: an admin-only broadcast and private messages between users.
#[hub(client = SecureChatClient)]
#[authorize]
impl SecureChatHub {
    /// `SendAdminMessage(message)`, for admins: everyone gets `AdminMessage(message)`.
    #[authorize(roles = "Admin")]
    pub async fn send_admin_message(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        ctx.clients().all().admin_message(&message).await?;
        Ok(())
    }

    /// `SendPrivateMessage(targetUserId, message)`: the target's connections get
    /// `PrivateMessage(senderUserId, message)`.
    pub async fn send_private_message(
        &self,
        ctx: &Context,
        target_user_id: String,
        message: String,
    ) -> Result<(), HubError> {
        let sender = ctx.user_identifier().unwrap_or_default();
        ctx.clients()
            .group(format!("user:{target_user_id}"))
            .private_message(sender, &message)
            .await?;
        Ok(())
    }

    /// Each connection joins its user's group, so private messages reach every tab.
    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        if let Some(user) = ctx.user_identifier() {
            ctx.groups()
                .add(ctx.connection_id(), &format!("user:{user}"))
                .await?;
        }
        Ok(())
    }
}

/// The signing key, from `JWT_KEY` (at least 32 bytes), or made at start.
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// `JWT_KEY` from the environment, or a random key (tokens then die with the process).
    pub fn from_env() -> Self {
        match std::env::var("JWT_KEY") {
            Ok(key) if key.len() >= 32 => SigningKey(key.into_bytes()),
            Ok(_) => panic!("JWT_KEY must be at least 32 bytes long"),
            Err(_) => {
                tracing::warn!(
                    "JWT_KEY is not set: signing tokens with a random key made at start. Tokens \
                     stop working when the process restarts, and other nodes cannot check them. \
                     Set JWT_KEY (at least 32 bytes) for anything but a demo."
                );
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).expect("the operating system's random source");
                SigningKey(key)
            }
        }
    }

    /// What checks the tokens this key signs.
    pub fn bearer(&self) -> JwtBearer {
        JwtBearer::hmac(&self.0).issuer(ISSUER).audience(ISSUER)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    user_name: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    access_token: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    name: &'a str,
    role: &'a [&'a str],
    iss: &'a str,
    aud: &'a str,
    exp: u64,
}

/// `POST /api/login` with `{"userName": ..., "password": ...}`: `{"accessToken": ...}` for a
/// demo user, 401 otherwise.
async fn login(
    State(key): State<std::sync::Arc<SigningKey>>,
    Json(login): Json<Login>,
) -> Result<Json<Token>, StatusCode> {
    let Some((name, _, roles)) = USERS
        .iter()
        .find(|(name, password, _)| *name == login.user_name && *password == login.password)
    else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    let expires = SystemTime::now() + TOKEN_LIFETIME;
    let claims = Claims {
        sub: name,
        name,
        role: roles,
        iss: ISSUER,
        aud: ISSUER,
        exp: expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    };
    let key = EncodingKey::from_secret(&key.0).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let access_token =
        encode(&Header::default(), &claims, &key).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(Token { access_token }))
}

/// `/hubs/secure-chat` and `POST /api/login`, signing with `key`.
pub fn routes(key: SigningKey) -> Router {
    let endpoint = HubEndpoint::builder(SecureChatHub)
        .authenticate(key.bearer())
        .build();
    Router::new()
        .route("/api/login", post(login))
        .with_state(std::sync::Arc::new(key))
        .hub("/hubs/secure-chat", endpoint)
}
