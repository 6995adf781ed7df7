// Hub methods take `&self`, not `&mut self`: keep mutable state behind a Mutex or an atomic.
use hubs::hub;

struct Counter {
    count: u64,
}

#[hub]
impl Counter {
    pub async fn increment(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

fn main() {}
