// #[authorize] works on a #[hub] impl or a method inside one, where #[hub] reads it; on a free function it would guard nothing.
use hubs::authorize;

#[authorize(roles = "Admin")]
pub async fn delete_everything() {}

fn main() {}
