// Hub methods are not generic: arguments come off the wire into concrete types.
use hubs::hub;

struct Chat;

#[hub]
impl Chat {
    pub async fn echo<T: serde::de::DeserializeOwned + serde::Serialize>(&self, value: T) -> T {
        value
    }
}

fn main() {}
