// An upload stream's items are deserialized from the client's messages: `T` needs `Deserialize`.
use hubs::{UploadStream, hub};

struct NotDeserialize;

struct Uploads;

#[hub]
impl Uploads {
    pub async fn upload(&self, items: UploadStream<NotDeserialize>) {
        drop(items);
    }
}

fn main() {}
