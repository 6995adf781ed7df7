// #[authorize] takes named keys, so a reader knows whether "Admin" is a role or a policy.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize("Admin")]
    pub async fn kick(&self) {}
}

fn main() {}
