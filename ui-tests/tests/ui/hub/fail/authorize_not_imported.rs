// #[authorize] is a macro of `hubs`: import it (`use hubs::authorize;` or `use hubs::prelude::*;`) like #[hub].
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    #[authorize(roles = "Admin")]
    pub async fn kick(&self) {}
}

fn main() {}
