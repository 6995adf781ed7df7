// Generated code names everything by absolute path, so it compiles without the prelude in scope.
#![no_implicit_prelude]

extern crate hubs;
extern crate std;

use std::option::Option;
use std::result::Result::{self, Ok};
use std::string::String;

use hubs::{Context, HubEndpoint, HubError, hub};

struct Hygiene;

#[hub]
impl Hygiene {
    pub async fn echo(&self, message: String) -> String {
        message
    }

    pub async fn nothing(&self, ctx: &Context) {
        let _ = ctx;
    }

    pub async fn maybe(&self, value: Option<i32>) -> Option<i32> {
        value
    }

    pub async fn fallible(&self) -> Result<i32, HubError> {
        Ok(1)
    }

    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        let _ = ctx;
        Ok(())
    }

    async fn on_disconnected(&self, ctx: &Context, error: Option<HubError>) {
        let _ = (ctx, error);
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Hygiene);
}
