// On a function of a hub impl, `#[hub(...)]` only takes `skip`.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[hub(hidden)]
    async fn helper(&self) {}
}

fn main() {}
