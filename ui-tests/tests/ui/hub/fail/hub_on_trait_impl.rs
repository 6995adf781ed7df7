// #[hub] goes on an inherent `impl MyHub { ... }` block, not on a trait impl.
use hubs::hub;

struct Chat;

trait Echo {
    async fn echo(&self, message: String) -> String;
}

#[hub]
impl Echo for Chat {
    async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
