// A hub method's result implements serde's `Serialize`.
use hubs::hub;

// A TypeScript form, so the only mistake is the serde one.
#[derive(ts_rs::TS)]
struct Point {
    x: f64,
    y: f64,
}

struct Canvas;

#[hub]
impl Canvas {
    pub async fn origin(&self) -> Point {
        Point { x: 0.0, y: 0.0 }
    }
}

fn main() {}
