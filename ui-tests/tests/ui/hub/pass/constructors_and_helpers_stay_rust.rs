// Only `pub` functions that take `self` or are `async` are hub methods; constructors, constants and private helpers stay plain Rust. An `async` helper says so with `#[hub(skip)]`.
use std::sync::atomic::{AtomicU64, Ordering};

use hubs::prelude::*;

struct Counter {
    count: AtomicU64,
}

#[hub]
impl Counter {
    /// Left alone: associated constants.
    const STEP: u64 = 1;

    /// Left alone: a constructor is `pub` but neither `async` nor taking `self`.
    pub fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
        }
    }

    /// Left alone: a private helper, even with `&mut self`.
    fn reset(&mut self) {
        *self.count.get_mut() = 0;
    }

    /// Left alone: a private async helper, marked so.
    #[hub(skip)]
    async fn bump(&self) -> u64 {
        self.count.fetch_add(Self::STEP, Ordering::Relaxed) + Self::STEP
    }

    /// Left alone: only `pub` functions can be hub methods, `pub(crate)` ones are not.
    #[hub(skip)]
    pub(crate) async fn current(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The one hub method: clients call `Increment()`.
    pub async fn increment(&self) -> u64 {
        self.bump().await
    }

    /// A second one, calling a helper: clients call `Get()`.
    pub async fn get(&self) -> u64 {
        self.current().await
    }
}

fn main() {
    let mut counter = Counter::new();
    counter.reset();
    let _endpoint = HubEndpoint::new(counter);
}
