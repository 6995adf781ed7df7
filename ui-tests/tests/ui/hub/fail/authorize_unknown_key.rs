// #[authorize] takes only `roles = "..."` and `policy = "..."` (lowercase, unlike ASP.NET's `Roles =`).
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[authorize(role = "Admin")]
    pub async fn kick(&self, user: String) {
        let _ = user;
    }

    #[authorize(Policy = "Moderators")]
    pub async fn mute(&self, user: String) {
        let _ = user;
    }
}

fn main() {}
