// `UploadStream<T>` parameters receive the streams a client sends, in order; they mix with ordinary arguments and `&Context`.
use futures_util::StreamExt;
use hubs::UploadStream;
use hubs::prelude::*;

struct Uploads;

#[hub]
impl Uploads {
    /// `connection.send("Sum", subject)`, then `subject.next(1)`, ..., `subject.complete()`.
    pub async fn sum(&self, mut numbers: UploadStream<i64>) -> Result<i64, HubError> {
        let mut total = 0;
        while let Some(n) = numbers.next().await {
            total += n?;
        }
        Ok(total)
    }

    /// Two uploads: the first stream the client sends binds to `a`, the second to `b`.
    pub async fn count_both(&self, a: UploadStream<i64>, b: UploadStream<String>) -> usize {
        a.count().await + b.count().await
    }

    /// Uploads between ordinary arguments, with the calling connection.
    pub async fn decorate(
        &self,
        ctx: &Context,
        prefix: String,
        mut items: UploadStream<String>,
        suffix: String,
    ) -> Result<String, HubError> {
        let mut out = format!("{}: {prefix}", ctx.connection_id());
        while let Some(item) = items.next().await {
            out.push_str(&item?);
        }
        out.push_str(&suffix);
        Ok(out)
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Uploads);
}
