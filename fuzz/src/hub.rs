//! The hub the request-level targets drive: one method per kind of dispatch (plain, failing,
//! streaming, upload, broadcast, groups, client result), none of which waits on real time.

use std::pin::pin;
use std::time::Duration;

use axum::Router;
use futures_util::{Stream, StreamExt, stream};
use hubs::prelude::*;
use hubs_runtime::connection::Transport;
use hubs::{Protocol, UploadStream};

use crate::Order;

/// Stateless; every connection of every endpoint shares it.
#[derive(Default)]
pub struct FuzzHub;

#[hub]
impl FuzzHub {
    pub async fn echo(&self, message: String) -> String {
        message
    }

    pub async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    pub async fn echo_order(&self, order: Order) -> Order {
        order
    }

    pub async fn fail(&self, message: String) -> Result<(), HubError> {
        Err(HubError::new(message))
    }

    /// `Count(n)`: a short server-to-client stream.
    pub async fn count(&self, n: u8) -> impl Stream<Item = u8> {
        stream::iter(0..n.min(8))
    }

    /// `Collect(stream)`: reads an upload to its end.
    pub async fn collect(&self, items: UploadStream<String>) -> Result<usize, HubError> {
        let mut items = pin!(items);
        let mut count = 0;
        while let Some(item) = items.next().await {
            item?;
            count += 1;
        }
        Ok(count)
    }

    pub async fn broadcast(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        Ok(ctx.clients().all().send("Received", (message,)).await?)
    }

    pub async fn join(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), &group).await?;
        Ok(ctx.clients().group(group).send("Joined", ()).await?)
    }

    /// `Ask()`: a client result, bounded so an input that never answers ends.
    pub async fn ask(&self, ctx: &Context) -> Result<bool, HubError> {
        ctx.clients()
            .caller()
            .with_timeout(Duration::from_secs(2))
            .invoke("Confirm", ("sure?",))
            .await
    }
}

/// The hub at `/hub` with default options and stateful reconnect allowed, and at `/small`
/// with tight limits, JSON only, no WebSockets and detailed errors.
pub fn router() -> Router {
    let default = HubEndpoint::builder(FuzzHub)
        .configure_connections(|o| o.allow_stateful_reconnects = true)
        .build();
    let small = HubEndpoint::builder(FuzzHub)
        .configure(|o| {
            o.maximum_receive_message_size = Some(64);
            o.stream_buffer_capacity = 1;
            o.supported_protocols = vec![Protocol::Json];
            o.enable_detailed_errors = true;
            o.handshake_timeout = Duration::from_secs(2);
        })
        .configure_connections(|o| {
            o.transports = vec![Transport::ServerSentEvents, Transport::LongPolling];
            o.transport_max_message_size = 1024;
        })
        .build();
    Router::new().hub("/hub", default).hub("/small", small)
}

/// The hub at `/hub` alone, with stateful reconnect and a replay log small enough to fill.
pub fn stateful_router() -> Router {
    let endpoint = HubEndpoint::builder(FuzzHub)
        .configure_connections(|o| {
            o.allow_stateful_reconnects = true;
            o.stateful_reconnect_buffer_size = 512;
        })
        .build();
    Router::new().hub("/hub", endpoint)
}
