// A #[hub] impl is not generic: one hub type serves one endpoint.
use hubs::hub;

struct Chat<S> {
    store: S,
}

#[hub]
impl<S: Send + Sync + 'static> Chat<S> {
    pub async fn echo(&self, message: String) -> String {
        let _ = &self.store;
        message
    }
}

fn main() {}
