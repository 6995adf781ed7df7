//! The rules of `#[authorize]` and `#[allow_anonymous]`.

use crate::ctxt::Ctxt;
use crate::model::{Auth, Function, Role};

/// The authorization rules of one function. `hub` is the hub's own attributes (none for a
/// client method).
pub(super) fn authorization(cx: &Ctxt, function: &Function, hub: &Auth) {
    let auth = &function.auth;
    let ident = &function.ident;
    let not_here = match function.role {
        Role::Method => None,
        Role::Hook(hook) => Some(format!(
            "lifecycle hook `{}` runs for every connection the hub accepts, so it takes no authorization attribute: put #[authorize] on the #[hub] impl to require a signed-in user to connect",
            hook.name()
        )),
        Role::Helper | Role::Skipped => Some(format!(
            "`{ident}` is not a hub method (those are `pub` and take `&self`), so an authorization attribute on it guards nothing: make it `pub async fn {ident}(&self, ...)` or remove the attribute"
        )),
        Role::ClientMethod => Some(format!(
            "client method `{ident}` is called by the server, not by clients, so it takes no authorization attribute: authorize the hub methods instead"
        )),
    };
    // Rule: only hub methods (and the hub impl) are authorized; clients call nothing else.
    if let Some(message) = not_here {
        for site in auth
            .rules
            .iter()
            .map(|r| &r.site)
            .chain(&auth.allow_anonymous)
        {
            cx.error_spanned_by(site, &message);
        }
        return;
    }
    roles_and_policies_are_named(cx, auth);
    let Some(allow) = auth.allow_anonymous.first() else {
        return;
    };
    // Rule: #[allow_anonymous] is given once.
    for again in &auth.allow_anonymous[1..] {
        cx.error_spanned_by(again, "#[allow_anonymous] is given twice; keep one");
    }
    // Rule: a method is either authorized or open to anyone, not both.
    if !auth.rules.is_empty() {
        cx.error_spanned_by(
            allow,
            format!(
                "hub method `{ident}` has both #[authorize] and #[allow_anonymous]: keep #[authorize] to require a signed-in user, or #[allow_anonymous] to let anyone connected call it"
            ),
        );
    } else if hub.rules.is_empty() {
        // Rule: #[allow_anonymous] opens a method of an #[authorize] hub; elsewhere it is a
        // no-op that suggests a protection that is not there.
        cx.error_spanned_by(
            allow,
            format!(
                "#[allow_anonymous] on `{ident}` changes nothing: the hub has no #[authorize], so anyone connected may call its methods already; put #[authorize] on the #[hub] impl, or remove #[allow_anonymous]"
            ),
        );
    }
}

/// The authorization rules of the `#[hub]` impl itself.
pub(super) fn hub_authorization(cx: &Ctxt, auth: &Auth) {
    roles_and_policies_are_named(cx, auth);
    // Rule: #[allow_anonymous] opens single methods; a hub is open unless it has #[authorize].
    for site in &auth.allow_anonymous {
        cx.error_spanned_by(
            site,
            "#[allow_anonymous] goes on a hub method, not on the hub: a hub without #[authorize] lets anyone connect already; to open one method of an #[authorize] hub, put #[allow_anonymous] on that method",
        );
    }
}

/// Rule: `roles` names at least one role and has no empty entry; `policy` is not empty.
fn roles_and_policies_are_named(cx: &Ctxt, auth: &Auth) {
    for rule in &auth.rules {
        if let Some(roles) = &rule.roles {
            if roles.names.iter().all(String::is_empty) {
                cx.error_spanned_by(
                    &roles.literal,
                    "`roles` names no role: write `roles = \"Admin\"` or `roles = \"Admin,Manager\"` (any one passes), or drop `roles` to require only a signed-in user",
                );
            } else if roles.names.iter().any(String::is_empty) {
                let written = roles
                    .names
                    .iter()
                    .filter(|r| !r.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",");
                cx.error_spanned_by(
                    &roles.literal,
                    format!(
                        "`roles` has an empty entry between commas: write `roles = \"{written}\"`"
                    ),
                );
            }
        }
        if let Some(policy) = &rule.policy
            && policy.value().trim().is_empty()
        {
            cx.error_spanned_by(
                policy,
                "`policy` names no policy: write `policy = \"Name\"` with the name of a policy registered on the endpoint, or drop `policy`",
            );
        }
    }
}
