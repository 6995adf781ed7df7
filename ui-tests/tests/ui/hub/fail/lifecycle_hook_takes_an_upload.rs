// Lifecycle hooks take no upload streams: only hub methods receive them.
use hubs::{UploadStream, hub};

struct Uploads;

#[hub]
impl Uploads {
    async fn on_connected(&self, items: UploadStream<i32>) {
        let _ = items;
    }
}

fn main() {}
