// A streaming method may return its stream boxed: futures' `BoxStream`, or
// `Pin<Box<dyn Stream<Item = T> + Send>>` (for example when branches return different streams).
use std::pin::Pin;

use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};
use hubs::prelude::*;

struct Boxed;

#[hub]
impl Boxed {
    /// `connection.stream("Either", up)`: counts up or down, two streams of different types.
    pub async fn either(&self, up: bool) -> BoxStream<'static, u32> {
        if up {
            stream::iter(0..3).boxed()
        } else {
            stream::iter((0..3).rev()).boxed()
        }
    }

    /// The same as a pinned box of a trait object.
    pub async fn pinned(&self) -> Pin<Box<dyn Stream<Item = String> + Send>> {
        Box::pin(stream::iter(["a".to_string(), "b".to_string()]))
    }

    /// Items may still be `Result`s, and the stream a `Result`.
    pub async fn fallible(&self, refuse: bool) -> Result<BoxStream<'static, Result<u8, HubError>>, HubError> {
        if refuse {
            return Err(HubError::new("no stream"));
        }
        Ok(stream::iter([Ok(1), Err(HubError::new("stop"))]).boxed())
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Boxed);
}
