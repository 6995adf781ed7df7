// A method is either authorized or open to anyone connected, not both: keep one of #[authorize] and #[allow_anonymous].
use hubs::prelude::*;

struct Chat;

#[hub]
#[authorize]
impl Chat {
    #[authorize(roles = "Admin")]
    #[allow_anonymous]
    pub async fn kick(&self) {}
}

fn main() {}
