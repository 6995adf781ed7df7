// Lifecycle hooks take `&self`, optionally `ctx: &Context` and (`on_disconnected` only) `error: Option<HubError>`; `on_connected` may return `Result<(), E>` to refuse a connection.
use hubs::prelude::*;

/// An application error: any `std::error::Error + Send + Sync + 'static` converts into `HubError`.
#[derive(Debug)]
struct Full;

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the room is full")
    }
}

impl std::error::Error for Full {}

/// The smallest hooks: `&self` only, returning nothing.
struct Quiet;

#[hub]
impl Quiet {
    async fn on_connected(&self) {}

    async fn on_disconnected(&self) {}
}

/// `on_connected` refusing with an application error; `on_disconnected` with the error alone.
struct Guarded;

#[hub]
impl Guarded {
    async fn on_connected(&self, ctx: &Context) -> Result<(), Full> {
        if ctx.connection_id().is_empty() {
            return Err(Full);
        }
        Ok(())
    }

    async fn on_disconnected(&self, error: Option<HubError>) {
        let _ = error;
    }
}

fn main() {
    let _quiet = HubEndpoint::new(Quiet);
    let _guarded = HubEndpoint::new(Guarded);
}
