// A method returning `impl Stream<Item = T>` streams its items; items may be `Result`s, the method may return a `Result` of the stream, and it may take uploads.
use futures_util::{Stream, StreamExt, stream};
use hubs::UploadStream;
use hubs::prelude::*;

struct Streams;

#[hub]
impl Streams {
    /// `connection.stream("Counter", 3)`: 0, 1, 2.
    pub async fn counter(&self, count: u32) -> impl Stream<Item = u32> {
        stream::iter(0..count)
    }

    /// An `Err` item ends the stream with that error.
    pub async fn until_failure(&self, fail_at: u32) -> impl Stream<Item = Result<u32, HubError>> {
        stream::iter(0..=fail_at).map(move |i| {
            if i == fail_at {
                Err(HubError::new("failed"))
            } else {
                Ok(i)
            }
        })
    }

    /// An `Err` before any item: the stream never starts.
    pub async fn maybe(&self, refuse: bool) -> Result<impl Stream<Item = String>, HubError> {
        if refuse {
            return Err(HubError::new("no stream for you"));
        }
        Ok(stream::iter(["a".to_string(), "b".to_string()]))
    }

    /// Streams back what the client uploads, upper-cased.
    pub async fn shout(
        &self,
        items: UploadStream<String>,
    ) -> impl Stream<Item = Result<String, HubError>> {
        items.map(|item| item.map(|text| text.to_uppercase()))
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Streams);
}
