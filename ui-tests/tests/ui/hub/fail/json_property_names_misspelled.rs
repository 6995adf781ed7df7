// `json_property_names` is "camel_case" (the default, as ASP.NET Core) or "as_declared" (PropertyNamingPolicy = null).
use hubs::hub;

struct Legacy;

#[hub(json_property_names = "AsDeclared")]
impl Legacy {
    pub async fn echo(&self, message: String) -> String {
        message
    }
}

fn main() {}
