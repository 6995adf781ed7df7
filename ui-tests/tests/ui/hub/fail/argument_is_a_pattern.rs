// Hub method parameters are plain names (`name: Type`), not patterns.
use hubs::hub;

struct Calculator;

#[hub]
impl Calculator {
    pub async fn add(&self, (a, b): (i64, i64)) -> i64 {
        a + b
    }
}

fn main() {}
