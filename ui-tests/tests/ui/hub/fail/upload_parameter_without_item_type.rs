// Each upload stream is its own parameter `name: UploadStream<T>` with a concrete item type `T`, not `UploadStream<_>` nor inside another type.
use hubs::{UploadStream, hub};

struct Uploads;

#[hub]
impl Uploads {
    pub async fn count(&self, items: UploadStream<_>) -> usize {
        let _ = items;
        0
    }

    pub async fn count_all(&self, streams: Vec<UploadStream<i32>>) -> usize {
        streams.len()
    }
}

fn main() {}
