// A streaming method's items have a TypeScript form: derive `ts_rs::TS` on the item type.
use futures_util::{Stream, stream};
use hubs::hub;
use serde::Serialize;

#[derive(Serialize)]
struct Tick {
    count: u32,
}

struct Clock;

#[hub]
impl Clock {
    pub async fn ticks(&self) -> impl Stream<Item = Tick> {
        stream::iter((0..3).map(|count| Tick { count }))
    }
}

fn main() {}
