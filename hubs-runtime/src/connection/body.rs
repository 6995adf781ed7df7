//! Reading request bodies (negotiate, and the POSTs of SSE and Long Polling) with the limits a
//! public server needs: a size limit, and a minimum data rate, so that a client cannot hold a
//! request open for hours by sending its body a byte at a time.

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::time::{Instant, timeout_at};

/// Kestrel's `MinRequestBodyDataRate`: after a grace period, a body must keep arriving at
/// 240 bytes a second on average.
const MIN_BYTES_PER_SECOND: f64 = 240.0;
const GRACE: Duration = Duration::from_secs(5);

/// Why a body was not read whole.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyError {
    /// More than the limit (413, after reading at most the limit).
    TooLarge,
    /// Slower than the minimum data rate (408).
    TooSlow,
    /// The client went away or the body was malformed (400).
    Broken,
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TooSlow => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken => StatusCode::BAD_REQUEST,
        }
        .into_response()
    }
}

/// The whole body, if it is at most `limit` bytes and arrives fast enough.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut chunks = body.into_data_stream();
    let started = Instant::now();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut received = 0usize;
    loop {
        // The bytes so far, and at least one more, must have come by the time the minimum
        // rate allows for them.
        let allowed = GRACE + Duration::from_secs_f64((received + 1) as f64 / MIN_BYTES_PER_SECOND);
        let chunk = match timeout_at(started + allowed, chunks.next()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len();
        if received > limit {
            return Err(BodyError::TooLarge);
        }
        // Most bodies come in one chunk: keep it as it is rather than copy it.
        match &first {
            None if rest.is_empty() => first = Some(chunk),
            _ => {
                if let Some(first) = first.take() {
                    rest.extend_from_slice(&first);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<&'static [u8]>) -> Body {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn bodies_are_read_whole_up_to_the_limit() {
        assert_eq!(
            read_body(body_of(vec![b"ab", b"cd"]), 4).await.unwrap(),
            "abcd"
        );
        assert_eq!(read_body(body_of(vec![b"abcd"]), 4).await.unwrap(), "abcd");
        assert_eq!(read_body(body_of(vec![]), 4).await.unwrap(), "");
        assert_eq!(
            read_body(body_of(vec![b"abc", b"de"]), 4).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_times_out_after_the_grace_period() {
        // One byte a second: fine within the grace period, too slow after it.
        let trickle = futures_util::stream::unfold(0u32, |n| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), n + 1))
        });
        let started = Instant::now();
        let read = read_body(Body::from_stream(trickle), 1 << 20).await;
        assert_eq!(read, Err(BodyError::TooSlow));
        let took = started.elapsed();
        assert!(
            took >= GRACE && took < GRACE + Duration::from_secs(2),
            "{took:?}"
        );
    }
}
