//! Bearer tokens (JWT), as ASP.NET Core's JwtBearer handler reads them.

use std::time::{Duration, UNIX_EPOCH};

use axum::http::header;
use axum::http::request::Parts;
use futures_util::future::BoxFuture;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::{AuthenticationFailed, Authenticator, Principal};

pub use jsonwebtoken::{Algorithm, DecodingKey};

/// The claim types ASP.NET Core writes for a user's id, name and roles.
const NAME_IDENTIFIER_URI: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";
const NAME_URI: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
const ROLE_URI: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

/// Marks a request as one of a hub endpoint's, where `access_token` in the query is honoured
/// (browsers cannot set headers on WebSockets and EventSource).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubRequest;

/// Authenticates requests by a JWT bearer token: from the `Authorization: Bearer` header, or
/// on hub requests from the `access_token` query parameter (what the official clients'
/// `accessTokenFactory` sends).
///
/// Signatures by HMAC, RSA, ECDSA or EdDSA keys; several keys are chosen by the token's `kid`
/// (key rotation). `exp` is required and, like `nbf`, checked with a clock skew (5 minutes, as
/// ASP.NET Core); issuer and audience are checked when set. Tokens minted by ASP.NET Core apps
/// work unchanged: the id, name and role claims are read from the short JWT names and from the
/// long .NET claim URIs.
///
/// ```
/// use hubs::auth::JwtBearer;
///
/// let bearer = JwtBearer::hmac(b"a secret of at least thirty-two bytes!")
///     .issuer("hubs-chat")
///     .audience("hubs-chat");
/// # let _ = bearer;
/// ```
#[derive(Clone)]
pub struct JwtBearer {
    keys: Vec<Key>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    clock_skew: Duration,
    id_claims: Vec<String>,
    name_claims: Vec<String>,
    role_claims: Vec<String>,
}

#[derive(Clone)]
struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for JwtBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of debug output.
        f.debug_struct("JwtBearer")
            .field("keys", &self.keys.len())
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("clock_skew", &self.clock_skew)
            .finish_non_exhaustive()
    }
}

impl Default for JwtBearer {
    fn default() -> Self {
        Self::new()
    }
}

impl JwtBearer {
    /// No keys yet: add them with [`key`](Self::key) or [`key_with_id`](Self::key_with_id).
    pub fn new() -> Self {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Self {
            keys: Vec::new(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            clock_skew: Duration::from_secs(300),
            // `nameid`: what .NET's JwtSecurityTokenHandler writes for a NameIdentifier claim.
            id_claims: names(&["sub", "nameid", NAME_IDENTIFIER_URI]),
            name_claims: names(&["name", NAME_URI, "unique_name"]),
            role_claims: names(&["role", "roles", ROLE_URI]),
        }
    }

    /// Tokens signed with the shared secret `secret` by HS256.
    ///
    /// # Panics
    /// When `secret` is empty.
    pub fn hmac(secret: &[u8]) -> Self {
        let key = DecodingKey::from_secret(secret).expect("an HMAC secret must not be empty");
        Self::new().key(Algorithm::HS256, key)
    }

    /// Accepts tokens signed by `algorithm` with `key`, whatever their `kid`.
    pub fn key(mut self, algorithm: Algorithm, key: DecodingKey) -> Self {
        self.keys.push(Key {
            id: None,
            algorithm,
            key,
        });
        self
    }

    /// Accepts tokens whose `kid` is `id`, signed by `algorithm` with `key`.
    pub fn key_with_id(
        mut self,
        id: impl Into<String>,
        algorithm: Algorithm,
        key: DecodingKey,
    ) -> Self {
        self.keys.push(Key {
            id: Some(id.into()),
            algorithm,
            key,
        });
        self
    }

    /// Requires the `iss` claim to be `issuer` (or another issuer given this way).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires the `aud` claim to include `audience` (or another audience given this way).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// How far `exp` and `nbf` may be off (5 minutes).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Reads the user's name from `claim_type` (first), before the defaults.
    pub fn name_claim_type(mut self, claim_type: impl Into<String>) -> Self {
        self.name_claims.insert(0, claim_type.into());
        self
    }

    /// Reads the user's roles from `claim_type` (first), before the defaults.
    pub fn role_claim_type(mut self, claim_type: impl Into<String>) -> Self {
        self.role_claims.insert(0, claim_type.into());
        self
    }

    /// The principal of a token, or why it is not valid.
    pub fn validate(&self, token: &str) -> Result<Principal, AuthenticationFailed> {
        let header =
            decode_header(token).map_err(|_| AuthenticationFailed::new("malformed token"))?;
        let candidates: Vec<&Key> = match &header.kid {
            Some(kid) if self.keys.iter().any(|k| k.id.is_some()) => self
                .keys
                .iter()
                .filter(|k| k.id.as_deref() == Some(kid.as_str()))
                .collect(),
            _ => self
                .keys
                .iter()
                .filter(|k| k.id.is_none() || header.kid.is_none())
                .collect(),
        };
        if candidates.is_empty() {
            return Err(AuthenticationFailed::new("no key for the token's key id"));
        }
        let mut failure = AuthenticationFailed::new("the signature is invalid");
        for key in candidates.iter().filter(|k| k.algorithm == header.alg) {
            match decode::<Map<String, Value>>(token, &key.key, &self.validation(key.algorithm)) {
                Ok(data) => return Ok(self.principal(data.claims)),
                Err(error) => failure = AuthenticationFailed::new(reason(error.kind())),
            }
        }
        Err(failure)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.clock_skew.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        if !self.issuers.is_empty() {
            validation.set_issuer(&self.issuers);
        }
        validation.validate_aud = !self.audiences.is_empty();
        if validation.validate_aud {
            validation.set_audience(&self.audiences);
        }
        validation
    }

    fn principal(&self, claims: Map<String, Value>) -> Principal {
        let first = |types: &[String]| {
            types
                .iter()
                .find_map(|t| claims.get(t).and_then(Value::as_str))
                .map(str::to_owned)
        };
        let id = first(&self.id_claims);
        let name = first(&self.name_claims)
            .or_else(|| id.clone())
            .unwrap_or_default();
        let mut principal = Principal::new(name);
        if let Some(id) = id {
            principal = principal.with_id(id);
        }
        for claim_type in &self.role_claims {
            match claims.get(claim_type) {
                Some(Value::String(role)) => principal = principal.with_role(role),
                Some(Value::Array(roles)) => {
                    for role in roles.iter().filter_map(Value::as_str) {
                        principal = principal.with_role(role);
                    }
                }
                _ => {}
            }
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
            principal = principal.expiring_at(UNIX_EPOCH + Duration::from_secs(exp));
        }
        for (claim_type, value) in claims {
            principal = principal.with_claim(claim_type, value);
        }
        principal
    }
}

/// A reason for logs, naming no part of the token.
fn reason(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => "the token expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidSignature => "the signature is invalid",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::InvalidAlgorithm => "algorithm not accepted",
        _ => "the token is not valid",
    }
}

/// The token of a request: `Authorization: Bearer`, or `access_token` on hub requests.
fn token_of(request: &Parts) -> Option<String> {
    if let Some(value) = request.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    request.extensions.get::<HubRequest>()?;
    let query = request.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "access_token")
        .map(|(_, token)| token.into_owned())
}

impl Authenticator for JwtBearer {
    fn authenticate<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Principal>, AuthenticationFailed>> {
        let result = match token_of(request) {
            None => Ok(None),
            Some(token) => self.validate(&token).map(Some),
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    /// Test keys made with `openssl genpkey`, for these tests only.
    const RSA: &str = include_str!("test_keys/rsa.pem");
    const RSA_PUB: &str = include_str!("test_keys/rsa.pub.pem");
    const EC: &str = include_str!("test_keys/ec.pem");
    const EC_PUB: &str = include_str!("test_keys/ec.pub.pem");
    const ED: &str = include_str!("test_keys/ed.pem");
    const ED_PUB: &str = include_str!("test_keys/ed.pub.pem");

    fn in_ten_minutes() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600
    }

    fn sign(algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, key).unwrap()
    }

    fn claims() -> Value {
        json!({ "sub": "42", "name": "ann", "role": "Admin", "exp": in_ten_minutes() })
    }

    #[test]
    fn rsa_ecdsa_and_eddsa_signatures_are_checked() {
        let cases = [
            (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap(),
                DecodingKey::from_rsa_pem(RSA_PUB.as_bytes()).unwrap(),
            ),
            (
                Algorithm::ES256,
                EncodingKey::from_ec_pem(EC.as_bytes()).unwrap(),
                DecodingKey::from_ec_pem(EC_PUB.as_bytes()).unwrap(),
            ),
            (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(ED.as_bytes()).unwrap(),
                DecodingKey::from_ed_pem(ED_PUB.as_bytes()).unwrap(),
            ),
        ];
        for (algorithm, signing, checking) in cases {
            let bearer = JwtBearer::new().key(algorithm, checking);
            let principal = bearer.validate(&sign(algorithm, &signing, None, &claims()));
            let principal = principal.unwrap_or_else(|e| panic!("{algorithm:?}: {e}"));
            assert_eq!((principal.name(), principal.id()), ("ann", Some("42")));
            assert!(principal.is_in_role("Admin"));
            // A token signed with another key of the same kind is refused.
            let forged = sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(b"x").unwrap(),
                None,
                &claims(),
            );
            assert!(bearer.validate(&forged).is_err(), "{algorithm:?}");
        }
    }

    #[test]
    fn keys_are_chosen_by_kid() {
        let old = EncodingKey::from_secret(b"old secret").unwrap();
        let new = EncodingKey::from_secret(b"new secret").unwrap();
        let bearer = JwtBearer::new()
            .key_with_id(
                "old",
                Algorithm::HS256,
                DecodingKey::from_secret(b"old secret").unwrap(),
            )
            .key_with_id(
                "new",
                Algorithm::HS256,
                DecodingKey::from_secret(b"new secret").unwrap(),
            );
        assert!(
            bearer
                .validate(&sign(Algorithm::HS256, &old, Some("old"), &claims()))
                .is_ok()
        );
        assert!(
            bearer
                .validate(&sign(Algorithm::HS256, &new, Some("new"), &claims()))
                .is_ok()
        );
        // The right key under the wrong id, and an unknown id, are refused.
        assert!(
            bearer
                .validate(&sign(Algorithm::HS256, &old, Some("new"), &claims()))
                .is_err()
        );
        let unknown = bearer.validate(&sign(Algorithm::HS256, &new, Some("gone"), &claims()));
        assert_eq!(
            unknown.unwrap_err().reason(),
            "no key for the token's key id"
        );
    }

    #[test]
    fn tokens_minted_by_aspnet_apps_read_the_same() {
        let key = EncodingKey::from_secret(b"shared").unwrap();
        let claims = json!({
            NAME_IDENTIFIER_URI: "7",
            NAME_URI: "bob",
            ROLE_URI: ["Admin", "Support"],
            "exp": in_ten_minutes(),
            "tenant": { "id": 3 },
        });
        let bearer = JwtBearer::hmac(b"shared");
        let principal = bearer
            .validate(&sign(Algorithm::HS256, &key, None, &claims))
            .unwrap();
        assert_eq!((principal.name(), principal.id()), ("bob", Some("7")));
        assert_eq!(principal.roles(), ["Admin", "Support"]);
        assert_eq!(principal.claim("tenant"), Some(&json!({ "id": 3 })));
        assert!(principal.expires_at().is_some());
    }

    #[test]
    fn the_short_name_identifier_of_dotnet_tokens_is_the_id() {
        // JwtSecurityTokenHandler writes ClaimTypes.NameIdentifier as `nameid`.
        let key = EncodingKey::from_secret(b"shared").unwrap();
        let claims = json!({ "nameid": "testuser", "exp": in_ten_minutes() });
        let principal = JwtBearer::hmac(b"shared")
            .validate(&sign(Algorithm::HS256, &key, None, &claims))
            .unwrap();
        assert_eq!(
            (principal.name(), principal.id()),
            ("testuser", Some("testuser"))
        );
    }

    #[test]
    fn expiry_is_required_and_checked_with_the_clock_skew() {
        let key = EncodingKey::from_secret(b"k").unwrap();
        let now = in_ten_minutes() - 600;
        let token = |claims: Value| sign(Algorithm::HS256, &key, None, &claims);
        let strict = JwtBearer::hmac(b"k").clock_skew(Duration::ZERO);
        let lenient = JwtBearer::hmac(b"k");
        let expired = token(json!({ "sub": "1", "exp": now - 60 }));
        assert_eq!(
            strict.validate(&expired).unwrap_err().reason(),
            "the token expired"
        );
        assert!(
            lenient.validate(&expired).is_ok(),
            "within the 5 minute skew"
        );
        let without_exp = token(json!({ "sub": "1" }));
        assert!(lenient.validate(&without_exp).is_err());
        let early = token(json!({ "sub": "1", "exp": now + 600, "nbf": now + 60 }));
        assert_eq!(
            strict.validate(&early).unwrap_err().reason(),
            "the token is not valid yet"
        );
    }

    #[test]
    fn failures_never_quote_the_token() {
        let bearer = JwtBearer::hmac(b"k").issuer("me");
        let key = EncodingKey::from_secret(b"k").unwrap();
        let token = sign(
            Algorithm::HS256,
            &key,
            None,
            &json!({ "iss": "you", "exp": in_ten_minutes() }),
        );
        let failure = bearer.validate(&token).unwrap_err();
        assert_eq!(failure.reason(), "wrong issuer");
        for part in token.split('.') {
            assert!(!failure.to_string().contains(part));
            assert!(!format!("{bearer:?}").contains(part));
        }
    }
}
