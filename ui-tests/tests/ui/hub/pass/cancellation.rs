// `ctx.cancelled().await` completes, and `ctx.is_cancelled()` turns true, when the client cancels the invocation or the connection closes.
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt, stream};
use hubs::prelude::*;

struct Jobs;

/// Stands for slow work, such as a database query.
async fn long_operation() -> u64 {
    42
}

#[hub]
impl Jobs {
    /// Checks between steps and stops early once cancelled.
    pub async fn work(&self, ctx: &Context, steps: u32) -> u32 {
        let mut done = 0;
        while done < steps && !ctx.is_cancelled() {
            done += 1;
        }
        done
    }

    /// Races the work against cancellation (`tokio::select!` works the same way).
    pub async fn query(&self, ctx: &Context) -> Result<u64, HubError> {
        let work = std::pin::pin!(long_operation());
        let cancelled = std::pin::pin!(ctx.cancelled());
        match select(work, cancelled).await {
            Either::Left((value, _)) => Ok(value),
            Either::Right(((), _)) => Err(HubError::new("cancelled")),
        }
    }

    /// A stream that stops producing once cancelled; the stream owns a clone of the context.
    pub async fn heartbeat(&self, ctx: &Context) -> impl Stream<Item = u64> {
        let ctx = ctx.clone();
        stream::iter(0u64..).take_until(async move { ctx.cancelled().await })
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Jobs);
}
