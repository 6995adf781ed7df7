// Only hub methods (`pub`, taking `&self`) are authorized: on a private helper #[authorize] would guard nothing.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    pub async fn kick(&self, user: String) {
        self.remove(user);
    }

    #[authorize(roles = "Admin")]
    fn remove(&self, user: String) {
        let _ = user;
    }
}

fn main() {}
