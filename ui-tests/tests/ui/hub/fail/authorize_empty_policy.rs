// `policy` names a policy registered on the endpoint; an empty name names none.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize(policy = "")]
    pub async fn kick(&self) {}
}

fn main() {}
