//! The streaming example's hub: server-to-client streams, client-to-server streams (uploads),
//! a job progress stream and client results, with counters that show cancelled streams stop.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use hubs::UploadStream;
use hubs::prelude::*;
use serde::Serialize;

/// What the hub asks of its clients.
#[hub_client]
pub trait StreamingClient {
    /// A client result: the client's handler returns true or false.
    async fn confirm(&self, question: &str) -> bool;
}

/// Counts producers, so tests can see that cancelling a stream stops it on the server.
#[derive(Default)]
struct Stats {
    started: AtomicU64,
    stopped: AtomicU64,
    cancellations_seen: AtomicU64,
}

/// Increments `stopped` when the stream that owns it is dropped.
struct Producer(Arc<Stats>);

impl Producer {
    fn new(stats: &Arc<Stats>) -> Self {
        stats.started.fetch_add(1, Ordering::SeqCst);
        Producer(Arc::clone(stats))
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.0.stopped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Streams both ways and client results; one value may serve several endpoints (clones share
/// the counters).
#[derive(Clone, Default)]
pub struct StreamingHub {
    stats: Arc<Stats>,
}

/// One price of `StreamStockPrices`.
#[derive(ts_rs::TS, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StockPrice {
    symbol: String,
    price: f64,
    tick: u64,
}

/// One step of `StreamResults`.
#[derive(ts_rs::TS, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    job_id: String,
    percent: u32,
    message: String,
}

/// What `Stats` answers.
#[derive(ts_rs::TS, Serialize)]
pub struct StatsView {
    started: u64,
    stopped: u64,
    cancellations: u64,
}

/// The error ending `StreamWithError`.
#[derive(Debug)]
pub struct CounterFailed(u32);

impl std::fmt::Display for CounterFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the counter failed at {}", self.0)
    }
}

impl std::error::Error for CounterFailed {}

/// Server-to-client streams, uploads (client-to-server streams) and client results.
#[hub(client = StreamingClient)]
impl StreamingHub {
    /// `StreamCounter(count, delayMs)`: 0, 1, ..., count - 1, one every `delayMs`.
    pub async fn stream_counter(&self, count: u32, delay_ms: u64) -> impl Stream<Item = u32> {
        let producer = Producer::new(&self.stats);
        stream::iter(0..count).then(move |i| {
            let _keep = &producer;
            async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                i
            }
        })
    }

    /// `StreamStockPrices(symbols)`: a price per symbol every 50 ms until the client disposes.
    pub async fn stream_stock_prices(
        &self,
        symbols: Vec<String>,
    ) -> impl Stream<Item = StockPrice> {
        let producer = Producer::new(&self.stats);
        let ticks = stream::unfold(0u64, |tick| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((tick, tick + 1))
        });
        ticks.flat_map(move |tick| {
            let _keep = &producer;
            stream::iter(
                symbols
                    .clone()
                    .into_iter()
                    .enumerate()
                    .map(move |(i, symbol)| StockPrice {
                        symbol,
                        price: 100.0 + i as f64 * 10.0 + (tick % 7) as f64 * 0.25,
                        tick,
                    }),
            )
        })
    }

    /// `StreamResults(jobId, steps)`: progress of a job, ending at 100 %.
    pub async fn stream_results(
        &self,
        job_id: String,
        steps: u32,
    ) -> impl Stream<Item = JobProgress> {
        let steps = steps.max(1);
        stream::iter(1..=steps).then(move |step| {
            let job_id = job_id.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                JobProgress {
                    job_id,
                    percent: step * 100 / steps,
                    message: format!("step {step} of {steps}"),
                }
            }
        })
    }

    /// `StreamWithError(failAt)`: counts up, then fails mid-stream.
    pub async fn stream_with_error(
        &self,
        fail_at: u32,
    ) -> impl Stream<Item = Result<u32, CounterFailed>> {
        stream::iter(0..=fail_at).map(move |i| {
            if i == fail_at {
                Err(CounterFailed(i))
            } else {
                Ok(i)
            }
        })
    }

    /// `StreamOrRefuse(refuse)`: fails before streaming anything when `refuse` is true.
    pub async fn stream_or_refuse(
        &self,
        refuse: bool,
    ) -> Result<impl Stream<Item = u32>, HubError> {
        if refuse {
            return Err(HubError::new("no stream for you"));
        }
        Ok(stream::iter([1, 2, 3]))
    }

    /// `WaitForCancel()`: streams nothing; when the client disposes, a task watching the
    /// invocation's cancellation notes it (the producer itself is dropped at once).
    pub async fn wait_for_cancel(&self, ctx: &Context) -> impl Stream<Item = u32> {
        let stats = Arc::clone(&self.stats);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            ctx.cancelled().await;
            stats.cancellations_seen.fetch_add(1, Ordering::SeqCst);
        });
        stream::pending()
    }

    /// `UploadStream(stream)`: collects what the client sends.
    pub async fn upload_stream(
        &self,
        items: UploadStream<String>,
    ) -> Result<Vec<String>, HubError> {
        let mut received = Vec::new();
        let mut items = pin!(items);
        while let Some(item) = items.next().await {
            received.push(item?);
        }
        Ok(received)
    }

    /// `SumStreams(a, label, b)`: two uploads in one call. (The JavaScript client loses the
    /// second of two adjacent stream arguments, so an ordinary argument sits between them.)
    pub async fn sum_streams(
        &self,
        a: UploadStream<i64>,
        label: String,
        b: UploadStream<i64>,
    ) -> Result<String, HubError> {
        let (a, b) = futures_util::future::try_join(sum(a), sum(b)).await?;
        Ok(format!("{label}: {a}, {b}"))
    }

    /// `Decorate(prefix, items, suffix)`: uploads mixed with ordinary arguments.
    pub async fn decorate(
        &self,
        prefix: String,
        items: UploadStream<String>,
        suffix: String,
    ) -> Result<String, HubError> {
        let mut out = prefix;
        let mut items = pin!(items);
        while let Some(item) = items.next().await {
            out.push_str(&item?);
        }
        out.push_str(&suffix);
        Ok(out)
    }

    /// `Shout(items)`: a streaming method that takes an upload stream.
    pub async fn shout(
        &self,
        items: UploadStream<String>,
    ) -> impl Stream<Item = Result<String, HubError>> {
        items.map(|item| item.map(|text| text.to_uppercase()))
    }

    /// `ReadSlowlyThenClose(items, ms)`: reads its upload one item per 100 ms and closes the
    /// caller's connection after `ms` milliseconds. The close is carried out even while the
    /// client's further items wait for room in the upload's buffer. Answers the items read
    /// (if the client is still there to hear it).
    pub async fn read_slowly_then_close(
        &self,
        ctx: &Context,
        items: UploadStream<u32>,
        ms: u64,
    ) -> Result<u32, HubError> {
        let closer = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            closer.abort();
        });
        let mut read = 0;
        let mut items = pin!(items);
        while let Some(item) = items.next().await {
            item?;
            read += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(read)
    }

    /// `AskCaller(question)`: asks the calling client and returns its answer.
    pub async fn ask_caller(&self, ctx: &Context, question: String) -> Result<bool, HubError> {
        ctx.clients().caller().confirm(&question).await
    }

    /// `AskCallerWithin(question, ms)`: the same, failing after `ms` milliseconds.
    pub async fn ask_caller_within(
        &self,
        ctx: &Context,
        question: String,
        ms: u64,
    ) -> Result<bool, HubError> {
        let caller = ctx
            .clients()
            .caller()
            .with_timeout(Duration::from_millis(ms));
        caller.confirm(&question).await
    }

    /// `Delay(ms)`: answers after `ms` milliseconds, for ordering tests.
    pub async fn delay(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    /// `Stats()`: producers started and stopped, cancellations observed.
    pub async fn stats(&self) -> StatsView {
        StatsView {
            started: self.stats.started.load(Ordering::SeqCst),
            stopped: self.stats.stopped.load(Ordering::SeqCst),
            cancellations: self.stats.cancellations_seen.load(Ordering::SeqCst),
        }
    }
}

async fn sum(numbers: UploadStream<i64>) -> Result<i64, HubError> {
    let mut total = 0;
    let mut numbers = pin!(numbers);
    while let Some(n) = numbers.next().await {
        total += n?;
    }
    Ok(total)
}
