//! Authorization of connections and invocations: the `#[authorize]` rules of a hub and its
//! methods, and the named policies an endpoint registers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::{AuthorizeRule, Hub};
use crate::auth::Principal;
use crate::protocol::{ArgumentError, Arguments};

/// What a policy decides on: who is calling and, for an invocation, which method with which
/// arguments (on connect there is neither). Policies are registered with
/// `HubEndpointBuilder::policy` and `async_policy`.
///
/// ```
/// # use hubs::prelude::*;
/// # struct Docs;
/// # #[hub] impl Docs {}
/// let endpoint = HubEndpoint::builder(Docs)
///     .authenticate(hubs::auth::FromExtensions)
///     // Editors may do anything; others may only call `Read`, and connect.
///     .policy("EditorOrReader", |call| {
///         call.user().is_in_role("Editor") || matches!(call.method(), None | Some("Read"))
///     })
///     .build();
/// # let _ = endpoint;
/// ```
pub struct AuthorizationContext<'a> {
    user: &'a Arc<Principal>,
    method: Option<&'a str>,
    arguments: Option<&'a Arguments<'a>>,
}

impl<'a> AuthorizationContext<'a> {
    /// The caller.
    pub fn user(&self) -> &'a Arc<Principal> {
        self.user
    }

    /// The invoked method's wire name; `None` when the caller is connecting.
    pub fn method(&self) -> Option<&'a str> {
        self.method
    }

    /// Argument `index` of the invocation, deserialized; an error when there is none.
    pub fn argument<T: serde::de::DeserializeOwned>(
        &self,
        index: usize,
    ) -> Result<T, ArgumentError> {
        match self.arguments {
            Some(arguments) => arguments.decode(index),
            None => Err(ArgumentError {
                index,
                message: "no invocation: the caller is connecting".into(),
            }),
        }
    }
}

type SyncPolicy = dyn Fn(&AuthorizationContext<'_>) -> bool + Send + Sync;
type AsyncPolicy = dyn Fn(&AuthorizationContext<'_>) -> BoxFuture<'static, bool> + Send + Sync;

#[derive(Clone)]
enum Policy {
    Sync(Arc<SyncPolicy>),
    Async(Arc<AsyncPolicy>),
}

/// The policies an endpoint registered, by name. Every authorized call looks its policies up:
/// an ordered map compares a few short names where a hash map would hash the name each time
/// (SipHash: about two thirds of what authorizing a call cost).
#[derive(Clone, Default)]
pub(crate) struct Policies(BTreeMap<String, Policy>);

impl Policies {
    pub(crate) fn add_sync(
        &mut self,
        name: String,
        policy: impl Fn(&AuthorizationContext<'_>) -> bool + Send + Sync + 'static,
    ) {
        self.0.insert(name, Policy::Sync(Arc::new(policy)));
    }

    pub(crate) fn add_async<F>(
        &mut self,
        name: String,
        policy: impl Fn(&AuthorizationContext<'_>) -> F + Send + Sync + 'static,
    ) where
        F: Future<Output = bool> + Send + 'static,
    {
        let policy = move |context: &AuthorizationContext<'_>| -> BoxFuture<'static, bool> {
            Box::pin(policy(context))
        };
        self.0.insert(name, Policy::Async(Arc::new(policy)));
    }

    /// Checks that every policy hub `H` names is registered.
    pub(crate) fn check_registered<H: Hub>(&self) -> Result<(), String> {
        let named = H::AUTHORIZE
            .iter()
            .chain(H::METHODS.iter().flat_map(|m| m.authorize))
            .filter_map(|rule| rule.policy);
        for name in named {
            if !self.0.contains_key(name) {
                return Err(format!(
                    "the authorization policy \"{name}\" is not registered: add it with \
                     HubEndpointBuilder::policy(\"{name}\", ...)"
                ));
            }
        }
        Ok(())
    }

    /// Whether the user satisfies every rule of every list in `rules`: decided now, or by a
    /// future when an async policy is involved. `user` is asked only when there is a rule.
    #[inline]
    pub(crate) fn decide<'u>(
        &self,
        rules: &[&[AuthorizeRule]],
        user: impl FnOnce() -> Option<&'u Arc<Principal>>,
        method: Option<&str>,
        arguments: Option<&Arguments<'_>>,
    ) -> Decision {
        // Most methods have no rule: decided where the call is, without walking the lists.
        if rules.iter().all(|list| list.is_empty()) {
            return Decision::Allowed;
        }
        self.decide_rules(rules, user(), method, arguments)
    }

    fn decide_rules(
        &self,
        rules: &[&[AuthorizeRule]],
        user: Option<&Arc<Principal>>,
        method: Option<&str>,
        arguments: Option<&Arguments<'_>>,
    ) -> Decision {
        let rules = rules.iter().flat_map(|list| list.iter());
        let Some(user) = user else {
            return Decision::Denied;
        };
        let context = AuthorizationContext {
            user,
            method,
            arguments,
        };
        let mut pending = Vec::new();
        for rule in rules {
            if !rule.roles.is_empty() && !rule.roles.iter().any(|role| user.is_in_role(role)) {
                return Decision::Denied;
            }
            // Registration was checked when the endpoint was built.
            match rule.policy.and_then(|name| self.0.get(name)) {
                Some(Policy::Sync(policy)) if !policy(&context) => return Decision::Denied,
                Some(Policy::Async(policy)) => pending.push(policy(&context)),
                _ => {}
            }
        }
        if pending.is_empty() {
            return Decision::Allowed;
        }
        Decision::Pending(Box::pin(async move {
            for decision in pending {
                if !decision.await {
                    return false;
                }
            }
            true
        }))
    }
}

/// The outcome of [`Policies::decide`].
pub(crate) enum Decision {
    Allowed,
    Denied,
    /// An async policy decides.
    Pending(BoxFuture<'static, bool>),
}

impl Decision {
    pub(crate) async fn allowed(self) -> bool {
        match self {
            Decision::Allowed => true,
            Decision::Denied => false,
            Decision::Pending(decision) => decision.await,
        }
    }
}
