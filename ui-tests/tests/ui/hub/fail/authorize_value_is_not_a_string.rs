// `roles` and `policy` take string literals: roles separated by commas in one string, a policy by its name.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize(roles = ["Admin", "Manager"])]
    pub async fn kick(&self) {}

    #[authorize(policy = Moderators)]
    pub async fn mute(&self) {}
}

fn main() {}
