// The authorization data #[hub] generates names everything by absolute path, so it compiles without the prelude in scope.
#![no_implicit_prelude]

extern crate hubs;
extern crate std;

use hubs::{Hub, allow_anonymous, authorize, hub};

struct Hygiene;

#[hub]
#[authorize]
impl Hygiene {
    #[authorize(roles = "Admin,Manager", policy = "Named")]
    pub async fn guarded(&self) {}

    #[allow_anonymous]
    pub async fn open(&self) {}
}

fn main() {
    let _methods = <Hygiene as Hub>::METHODS;
}
