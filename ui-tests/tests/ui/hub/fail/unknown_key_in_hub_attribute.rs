// #[hub] takes only `client = MyClientTrait` and `json_property_names = "..."`; a method's wire name is set on the method with #[method(name = "...")].
use hubs::hub;

struct Chat;

#[hub(name = "x")]
impl Chat {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
