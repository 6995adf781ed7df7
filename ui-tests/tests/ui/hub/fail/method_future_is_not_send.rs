// A hub method's future is `Send`: it runs on a multi-threaded runtime, so hold no `Rc` across an `.await`.
use std::rc::Rc;

use hubs::hub;

struct Chat;

async fn pause() {}

#[hub]
impl Chat {
    pub async fn echo(&self, message: String) -> String {
        let shared = Rc::new(message);
        pause().await;
        (*shared).clone()
    }
}

fn main() {}
