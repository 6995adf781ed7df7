// Upload streams are taken by value: `items: UploadStream<T>`, not `&UploadStream<T>`.
use hubs::{UploadStream, hub};

struct Uploads;

#[hub]
impl Uploads {
    pub async fn count(&self, items: &UploadStream<i32>) -> usize {
        let _ = items;
        0
    }
}

fn main() {}
