// The calling connection is borrowed: `ctx: &Context`. Taken by value it would be an argument
// the client sends (and fail to deserialize).
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    pub async fn whoami(&self, ctx: Context) -> String {
        ctx.connection_id().to_owned()
    }
}

fn main() {}
