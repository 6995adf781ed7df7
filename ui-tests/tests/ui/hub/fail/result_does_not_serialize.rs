// A hub method's result implements serde's `Serialize`.
use hubs::hub;

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
