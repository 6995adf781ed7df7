// Every hub method argument implements serde's `Deserialize`.
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
    pub async fn draw(&self, point: Point) -> f64 {
        point.x + point.y
    }
}

fn main() {}
