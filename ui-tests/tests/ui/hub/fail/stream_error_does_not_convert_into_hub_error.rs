// The `E` of a streaming method's `Result` items, or of a returned `Result<impl Stream, E>`, converts into `HubError` (`HubError` or a `std::error::Error`).
use futures_util::{Stream, stream};
use hubs::hub;

struct Overheated;

struct Sensor;

#[hub]
impl Sensor {
    pub async fn readings(&self) -> impl Stream<Item = Result<f64, Overheated>> {
        stream::iter([Ok(20.5), Err(Overheated)])
    }

    pub async fn subscribe(&self) -> Result<impl Stream<Item = f64>, Overheated> {
        Ok(stream::iter([20.5]))
    }
}

fn main() {}
