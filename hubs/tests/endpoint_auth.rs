#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! What building an endpoint checks about authorization: every policy a hub names must be
//! registered, and rules need an authenticator.

use hubs::auth::JwtBearer;
use hubs::prelude::*;

struct Guarded;

#[hub]
#[authorize(policy = "Staff")]
impl Guarded {
    #[authorize(roles = "Admin", policy = "Weekdays")]
    pub async fn shut_down(&self) {}
}

fn bearer() -> JwtBearer {
    JwtBearer::hmac(b"a secret of at least thirty-two bytes!")
}

#[test]
fn a_policy_nothing_registers_fails_the_build_by_name() {
    let error = HubEndpoint::builder(Guarded)
        .authenticate(bearer())
        .policy("Staff", |_| true)
        .try_build()
        .err()
        .expect("the build fails");
    assert!(error.contains("\"Weekdays\""), "{error}");
    assert!(
        error.contains("policy(\"Weekdays\""),
        "says how to fix it: {error}"
    );
}

#[test]
fn rules_without_an_authenticator_fail_the_build() {
    let error = HubEndpoint::builder(Guarded)
        .policy("Staff", |_| true)
        .policy("Weekdays", |_| true)
        .try_build()
        .err()
        .expect("the build fails");
    assert!(error.contains("authenticate("), "{error}");
}

#[test]
fn with_both_it_builds() {
    let endpoint = HubEndpoint::builder(Guarded)
        .authenticate(bearer())
        .policy("Staff", |_| true)
        .async_policy("Weekdays", |_| async { true })
        .try_build();
    assert!(endpoint.is_ok());
}
