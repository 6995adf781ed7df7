// `roles` names at least one role, every entry between commas a name: an empty list would let no one in, or everyone, depending on who reads it.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize(roles = "")]
    pub async fn kick(&self) {}

    #[authorize(roles = " , ")]
    pub async fn mute(&self) {}

    #[authorize(roles = "Admin,,Manager")]
    pub async fn ban(&self) {}
}

fn main() {}
