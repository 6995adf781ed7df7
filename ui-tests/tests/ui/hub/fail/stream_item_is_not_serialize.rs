// A streaming method's items implement serde's `Serialize`.
use futures_util::{Stream, stream};
use hubs::hub;

// A TypeScript form, so the only mistake is the serde one.
#[derive(ts_rs::TS)]
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
