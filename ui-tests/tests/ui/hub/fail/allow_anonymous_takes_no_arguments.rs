// #[allow_anonymous] takes no arguments: it opens the method to anyone connected.
use hubs::prelude::*;

struct Chat;

#[hub]
#[authorize]
impl Chat {
    #[allow_anonymous(roles = "Guest")]
    pub async fn ping(&self) {}
}

fn main() {}
