// Hub method arguments are owned: they are deserialized from the wire (only `&Context` is borrowed).
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn echo(&self, message: &str) -> String {
        message.to_owned()
    }
}

fn main() {}
