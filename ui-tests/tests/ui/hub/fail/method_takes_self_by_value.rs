// Hub methods take `&self`: one hub value is shared by every connection, so it cannot be moved.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn echo(self, message: String) -> String {
        message
    }
}

fn main() {}
