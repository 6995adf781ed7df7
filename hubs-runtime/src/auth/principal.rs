//! Who a connection belongs to.

use std::time::SystemTime;

use serde_json::{Map, Value};

/// An authenticated user: name, id, roles, every claim of their credentials, and when those
/// expire. `Context::user()` gives hub code the caller's.
///
/// ```
/// use hubs::auth::Principal;
///
/// let admin = Principal::new("alice").with_id("42").with_role("Admin");
/// assert!(admin.is_in_role("Admin"));
/// assert_eq!(admin.id(), Some("42"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    name: String,
    id: Option<String>,
    roles: Vec<String>,
    claims: Map<String, Value>,
    expires_at: Option<SystemTime>,
}

impl Principal {
    /// A user called `name`, with no id, roles, claims or expiry yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id: None,
            roles: Vec::new(),
            claims: Map::new(),
            expires_at: None,
        }
    }

    /// With the name identifier (ASP.NET's `ClaimTypes.NameIdentifier`, a token's `sub`): the
    /// default user id for user targets.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// With one more role.
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// With a claim (replacing one of the same type).
    pub fn with_claim(mut self, claim_type: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(claim_type.into(), value.into());
        self
    }

    /// With an expiry for its credentials.
    pub fn expiring_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The user's name (a token's name claim, else its name identifier).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name identifier, if the credentials carry one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The user's roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the user holds `role` (compared exactly, as in ASP.NET Core).
    pub fn is_in_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The claim of type `claim_type` as the credentials carry it.
    pub fn claim(&self, claim_type: &str) -> Option<&Value> {
        self.claims.get(claim_type)
    }

    /// Every claim, by type.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// When the credentials stop being valid, if they do.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether `other` is the same user: the same name identifier, or, where neither has one,
    /// the same name.
    pub fn same_user(&self, other: &Principal) -> bool {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.name == other.name,
            _ => false,
        }
    }
}
