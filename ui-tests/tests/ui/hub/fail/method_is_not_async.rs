// Hub methods are `async fn`: they run as tasks of the connection.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
