// #[allow_anonymous] works on a method of a #[hub] impl, where #[hub] reads it.
use hubs::allow_anonymous;

#[allow_anonymous]
pub async fn ping() {}

fn main() {}
