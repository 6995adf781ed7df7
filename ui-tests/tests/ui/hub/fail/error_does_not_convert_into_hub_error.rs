// The error of a `Result` a hub method returns converts into `HubError`: return `HubError` or a `std::error::Error`.
use hubs::hub;

struct Calculator;

#[hub]
impl Calculator {
    pub async fn divide(&self, a: i64, b: i64) -> Result<i64, String> {
        a.checked_div(b).ok_or_else(|| "division by zero".to_owned())
    }
}

fn main() {}
