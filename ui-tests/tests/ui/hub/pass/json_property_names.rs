// A hub sends struct fields camelCase in JSON by default (`user_name` as `userName`, as ASP.NET
// Core does); `json_property_names = "as_declared"` sends them exactly as serde declares them.
use hubs::prelude::*;
use hubs::{Hub, JsonPropertyNames};

#[derive(serde::Serialize, ts_rs::TS)]
pub struct Profile {
    display_name: String,
}

pub struct Modern;

#[hub]
impl Modern {
    pub async fn profile(&self) -> Profile {
        Profile { display_name: "ann".into() }
    }
}

pub struct Legacy;

#[hub(json_property_names = "as_declared")]
impl Legacy {
    pub async fn profile(&self) -> Profile {
        Profile { display_name: "ann".into() }
    }
}

fn main() {
    assert_eq!(Modern::JSON_PROPERTY_NAMES, JsonPropertyNames::CamelCase);
    assert_eq!(Legacy::JSON_PROPERTY_NAMES, JsonPropertyNames::AsDeclared);
    let legacy = hubs::describe::describe::<Legacy>();
    assert_eq!(legacy.json_property_names, JsonPropertyNames::AsDeclared);
}
