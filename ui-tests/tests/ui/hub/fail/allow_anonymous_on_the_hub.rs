// #[allow_anonymous] goes on single methods: a hub without #[authorize] lets anyone connect already.
use hubs::prelude::*;

struct Chat;

#[hub]
#[allow_anonymous]
impl Chat {
    pub async fn ping(&self) {}
}

fn main() {}
