// #[allow_anonymous] opens a method of an #[authorize] hub; on a hub without #[authorize] every method is open already.
use hubs::prelude::*;

struct Chat;

#[hub]
impl Chat {
    #[allow_anonymous]
    pub async fn ping(&self) {}
}

fn main() {}
