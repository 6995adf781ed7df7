// `#[authorize]` on the hub and on methods: bare (any signed-in user), `roles = "A,B"` (any one of them), `policy = "Name"`, both in one attribute (both must pass), several attributes (all must pass); `#[allow_anonymous]` opens one method of an authorized hub.
use hubs::prelude::*;
use hubs::describe::{AuthorizeRule, describe};

struct Admin;

/// Connecting, and calling any method not marked `#[allow_anonymous]`, needs a signed-in user.
#[hub]
#[authorize]
impl Admin {
    /// Any signed-in user (the hub's rule alone).
    pub async fn whoami(&self) {}

    /// Callers in role `Admin` or `Manager`; spaces around the commas do not count.
    #[authorize(roles = "Admin, Manager")]
    pub async fn delete_user(&self, id: String) {
        let _ = id;
    }

    /// Callers the endpoint's `CanExport` policy allows.
    #[authorize(policy = "CanExport")]
    pub async fn export(&self) {}

    /// One attribute naming both: in role `Auditor` and allowed by `ReadLogs`.
    #[authorize(roles = "Auditor", policy = "ReadLogs")]
    pub async fn logs(&self) {}

    /// Several attributes: every one must pass (`Admin` and also `Billing`).
    #[authorize(roles = "Admin")]
    #[authorize(roles = "Billing")]
    pub async fn refund(&self) {}

    /// Anyone connected, signed in or not.
    #[allow_anonymous]
    pub async fn ping(&self) -> &'static str {
        "pong"
    }
}

/// A hub that requires a role of everyone, with the hub attribute written above `#[hub]`.
struct Ops;

#[authorize(roles = "Ops")]
#[hub]
impl Ops {
    pub async fn restart(&self) {}
}

fn main() {
    const ANY_USER: AuthorizeRule = AuthorizeRule {
        roles: &[],
        policy: None,
    };
    assert_eq!(describe::<Admin>().authorize, &[ANY_USER]);
    let methods = describe::<Admin>().methods;
    let rules = |name: &str| {
        let method = methods.iter().find(|m| m.wire_name == name).unwrap();
        (method.authorize, method.allow_anonymous)
    };
    assert_eq!(rules("Whoami"), (&[][..], false));
    assert_eq!(
        rules("DeleteUser"),
        (
            &[AuthorizeRule {
                roles: &["Admin", "Manager"],
                policy: None
            }][..],
            false
        )
    );
    assert_eq!(
        rules("Export"),
        (
            &[AuthorizeRule {
                roles: &[],
                policy: Some("CanExport")
            }][..],
            false
        )
    );
    assert_eq!(
        rules("Logs"),
        (
            &[AuthorizeRule {
                roles: &["Auditor"],
                policy: Some("ReadLogs")
            }][..],
            false
        )
    );
    assert_eq!(
        rules("Refund"),
        (
            &[
                AuthorizeRule {
                    roles: &["Admin"],
                    policy: None
                },
                AuthorizeRule {
                    roles: &["Billing"],
                    policy: None
                }
            ][..],
            false
        )
    );
    assert_eq!(rules("Ping"), (&[][..], true));
    assert_eq!(
        describe::<Ops>().authorize,
        &[AuthorizeRule {
            roles: &["Ops"],
            policy: None
        }]
    );
}
