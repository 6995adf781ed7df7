// Every hub method argument has a TypeScript form (the `typescript` feature of hubs, on by
// default): derive `ts_rs::TS` beside serde's derives.
use hubs::hub;
use serde::Deserialize;

#[derive(Deserialize)]
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
