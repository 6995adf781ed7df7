// #[authorize] on a method needs #[hub] on its impl block: only hub methods are called by clients.
use hubs::authorize;

struct Chat;

impl Chat {
    #[authorize(roles = "Admin")]
    pub async fn kick(&self, user: String) {
        let _ = user;
    }
}

fn main() {}
