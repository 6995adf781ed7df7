// An `async fn` without `pub` is no hub method: the macro says so rather than leave clients
// with "Method does not exist". Make it `pub`, or mark a private helper `#[hub(skip)]`.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    async fn send_message(&self, text: String) -> String {
        text
    }
}

fn main() {}
