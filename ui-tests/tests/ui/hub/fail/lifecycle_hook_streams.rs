// Lifecycle hooks do not stream: `on_connected` returns nothing or `Result<(), E>`, `on_disconnected` nothing.
use futures_util::{Stream, stream};
use hubs::hub;

struct Clock;

#[hub]
impl Clock {
    async fn on_connected(&self) -> impl Stream<Item = u32> {
        stream::iter([1, 2, 3])
    }
}

fn main() {}
