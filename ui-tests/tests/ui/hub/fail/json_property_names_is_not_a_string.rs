// `json_property_names` takes a string: `json_property_names = "as_declared"`, not a path or an identifier.
use hubs::hub;

struct Legacy;

#[hub(json_property_names = as_declared)]
impl Legacy {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
