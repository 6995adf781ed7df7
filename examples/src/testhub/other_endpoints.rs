//! The functional tests' other endpoints: the hub that needs a bearer token, the hub that
//! cannot be created, and the raw echo connection.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use hubs::ConnectionHandler;
use hubs::auth::JwtBearer;
use hubs::connection::{Outgoing, TransportConnection};
use hubs::prelude::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tokio::sync::watch;

/// `HubWithAuthorization` at `/authorizedhub`: connecting needs a bearer token whose user has a
/// name identifier (the `Bearer` policy), from `GET /generateJwtToken`.
pub struct HubWithAuthorization;

#[hub]
#[authorize(policy = "Bearer")]
impl HubWithAuthorization {
    pub async fn echo(&self, message: Option<String>) -> Option<String> {
        message
    }
}

/// `UncreatableHub` at `/uncreatable`: .NET cannot create it (its constructor wants a service
/// nobody registered), so every connection is closed with that error once it has connected.
pub struct UncreatableHub;

#[hub]
impl UncreatableHub {
    async fn on_connected(&self) -> Result<(), HubError> {
        Err(HubError::internal(
            "InvalidOperationException",
            "Unable to resolve service for type 'System.Object' while attempting to activate \
             'FunctionalTests.UncreatableHub'.",
        ))
    }
}

/// The signing key of the server's tokens, made at start (HS256).
#[derive(Clone)]
pub struct TokenKey(Arc<[u8; 32]>);

/// What `GenerateJwtToken` puts in a token, as .NET's `JwtSecurityTokenHandler` writes it.
#[derive(Serialize)]
struct Claims {
    /// `ClaimTypes.NameIdentifier`.
    nameid: &'static str,
    exp: u64,
    iss: &'static str,
    aud: &'static str,
}

impl TokenKey {
    /// A new random key.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        TokenKey(Arc::new(key))
    }

    /// A token for `testuser` that expires in 5 s (and is accepted for 5 minutes more, the
    /// clock skew .NET allows too).
    pub fn generate(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let claims = Claims {
            nameid: "testuser",
            exp: now.as_secs() + 5,
            iss: "SignalRTestServer",
            aud: "SignalRTests",
        };
        let key = EncodingKey::from_secret(&self.0[..]).expect("an HMAC key");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .expect("HS256 tokens encode")
    }

    /// The hub endpoint for [`HubWithAuthorization`]: tokens from the `Authorization` header or
    /// the `access_token` query parameter; issuer and audience are not checked.
    pub fn authorized_hub(&self) -> HubEndpoint<HubWithAuthorization> {
        HubEndpoint::builder(HubWithAuthorization)
            .authenticate(JwtBearer::hmac(&self.0[..]))
            .policy("Bearer", |call| call.user().id().is_some())
            .detailed_errors(true)
            .build()
    }
}

/// `EchoConnectionHandler` at `/echo`: no hub protocol, every chunk a client sends comes back
/// as it came (text as text), until the client leaves or the server shuts down.
pub struct EchoConnectionHandler {
    stopping: watch::Sender<bool>,
}

impl Default for EchoConnectionHandler {
    fn default() -> Self {
        Self {
            stopping: watch::Sender::new(false),
        }
    }
}

impl ConnectionHandler for EchoConnectionHandler {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let TransportConnection {
                mut inbound,
                outbound,
                ..
            } = connection;
            loop {
                let received = tokio::select! {
                    received = inbound.next() => received,
                    _ = stopping.wait_for(|stopping| *stopping) => None,
                };
                let Some(bytes) = received else { break };
                if outbound.send(Outgoing::Frame(bytes)).await.is_err() {
                    break;
                }
            }
        })
    }

    fn shutdown(&self, _allow_reconnect: bool) {
        self.stopping.send_replace(true);
    }
}
