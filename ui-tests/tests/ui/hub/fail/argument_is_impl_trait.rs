// Hub method arguments have a concrete type, not `impl Trait`.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn echo(&self, message: impl Into<String>) -> String {
        message.into()
    }
}

fn main() {}
