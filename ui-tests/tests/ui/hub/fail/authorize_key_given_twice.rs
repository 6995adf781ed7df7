// Each key appears once per #[authorize]: list roles in one string (any one passes), or write a second attribute to require both.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize(roles = "Admin", roles = "Manager")]
    pub async fn kick(&self) {}

    #[authorize(policy = "Adult", policy = "Verified")]
    pub async fn enter(&self) {}
}

fn main() {}
