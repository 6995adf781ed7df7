// An upload stream's items are deserialized from the client's messages: `T` needs `Deserialize`.
use hubs::{UploadStream, hub};

// A TypeScript form, so the only mistake is the serde one.
#[derive(ts_rs::TS)]
struct NotDeserialize;

struct Uploads;

#[hub]
impl Uploads {
    pub async fn upload(&self, items: UploadStream<NotDeserialize>) {
        drop(items);
    }
}

fn main() {}
