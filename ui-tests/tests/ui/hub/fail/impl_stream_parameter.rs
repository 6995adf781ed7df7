// A stream the client sends is an `UploadStream<T>` parameter, not `impl Stream<Item = T>`.
use futures_util::{Stream, StreamExt};
use hubs::hub;

struct Uploads;

#[hub]
impl Uploads {
    pub async fn count(&self, items: impl Stream<Item = i32> + Send) -> usize {
        items.count().await
    }
}

fn main() {}
