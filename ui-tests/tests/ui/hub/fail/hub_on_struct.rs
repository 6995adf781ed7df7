// #[hub] goes on the `impl` block of the hub type, not on the type itself.
use hubs::hub;

#[hub]
struct Chat;

fn main() {}
