//! The server the interop tests drive with the official clients: one hub exercising every
//! feature, mounted with default options at `/hubs/test` and with detailed errors at
//! `/hubs/test-detailed`, plus REST endpoints that reach clients from outside the hub.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use hubs::prelude::*;
use hubs::runtime::connection::Transport::{self, LongPolling, ServerSentEvents, WebSockets};
use hubs::{ConnectionOptions, Timestamp};
use serde::{Deserialize, Serialize};

#[path = "../auth_hub.rs"]
mod auth_hub;
#[path = "../chaos_hub.rs"]
mod chaos_hub;

/// One hub value per endpoint; `recorded` keeps what `Record` received, per connection.
#[derive(Default)]
struct TestHub {
    recorded: Mutex<HashMap<String, Vec<i64>>>,
}

/// What the test hub calls on its clients, typed.
#[hub_client]
trait TestClient {
    async fn received(&self, message: &str);
}

/// A nested payload: maps inside maps, lists, optional and binary fields.
#[derive(ts_rs::TS, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
    note: Option<String>,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
struct Customer {
    name: String,
    vip: bool,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    price: f64,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
struct Item {
    name: String,
    count: f64,
    tags: Vec<String>,
}

/// What `Remember` keeps per connection.
#[derive(Clone)]
struct Remembered(String);

/// An application error: its details reach clients only with detailed errors on.
#[derive(Debug)]
struct InternalError(String);

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InternalError {}

#[hub]
impl TestHub {
    pub async fn echo(&self, message: String) -> String {
        message
    }

    pub async fn add(&self, a: i32, b: i32) -> i32 {
        a + b
    }

    pub async fn echo_object(&self, item: Item) -> Item {
        item
    }

    pub async fn void(&self) {}

    pub async fn hub_failure(&self, message: String) -> Result<(), HubError> {
        Err(HubError::new(message))
    }

    pub async fn internal_failure(&self, message: String) -> Result<(), InternalError> {
        Err(InternalError(message))
    }

    pub async fn panic(&self, message: String) {
        panic!("{message}");
    }

    pub async fn get_connection_id(&self, ctx: &Context) -> String {
        ctx.connection_id().to_string()
    }

    pub async fn get_header(&self, ctx: &Context, name: String) -> Option<String> {
        let value = ctx.headers().get(name.as_str())?;
        value.to_str().ok().map(str::to_string)
    }

    pub async fn get_query(&self, ctx: &Context, name: String) -> Option<String> {
        ctx.query(&name).map(str::to_string)
    }

    pub async fn send_to_all(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        Ok(ctx.clients().all().send("Received", (message,)).await?)
    }

    pub async fn send_to_caller(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        Ok(ctx.clients().caller().send("Received", (message,)).await?)
    }

    pub async fn send_to_others(&self, ctx: &Context, message: String) -> Result<(), HubError> {
        Ok(ctx.clients().others().send("Received", (message,)).await?)
    }

    pub async fn send_to_connection(
        &self,
        ctx: &Context,
        connection_id: String,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .clients()
            .client(connection_id)
            .send("Received", (message,))
            .await?)
    }

    pub async fn join_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        Ok(ctx.groups().add(ctx.connection_id(), &group).await?)
    }

    pub async fn leave_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        Ok(ctx.groups().remove(ctx.connection_id(), &group).await?)
    }

    pub async fn send_to_group(
        &self,
        ctx: &Context,
        group: String,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .clients()
            .group(group)
            .send("Received", (message,))
            .await?)
    }

    pub async fn send_to_all_except(
        &self,
        ctx: &Context,
        excluded: Vec<String>,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .clients()
            .all_except(excluded)
            .received(&message)
            .await?)
    }

    pub async fn send_to_clients(
        &self,
        ctx: &Context,
        ids: Vec<String>,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().clients(ids).received(&message).await?)
    }

    pub async fn send_to_groups(
        &self,
        ctx: &Context,
        groups: Vec<String>,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().groups(groups).received(&message).await?)
    }

    pub async fn send_to_group_except(
        &self,
        ctx: &Context,
        group: String,
        excluded: Vec<String>,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .clients()
            .group_except(group, excluded)
            .received(&message)
            .await?)
    }

    pub async fn send_to_others_in_group(
        &self,
        ctx: &Context,
        group: String,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .clients()
            .others_in_group(group)
            .received(&message)
            .await?)
    }

    pub async fn send_to_user(
        &self,
        ctx: &Context,
        user: String,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().user(user).received(&message).await?)
    }

    pub async fn send_to_users(
        &self,
        ctx: &Context,
        users: Vec<String>,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().users(users).received(&message).await?)
    }

    pub async fn send_to_caller_typed(
        &self,
        ctx: &Context,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().caller().received(&message).await?)
    }

    pub async fn send_to_others_typed(
        &self,
        ctx: &Context,
        message: String,
    ) -> Result<(), HubError> {
        Ok(ctx.clients().others().received(&message).await?)
    }

    pub async fn get_user(&self, ctx: &Context) -> Option<String> {
        ctx.user_identifier().map(str::to_string)
    }

    pub async fn echo_bytes(&self, data: hubs::Binary) -> hubs::Binary {
        data
    }

    pub async fn byte_sum(&self, data: hubs::Binary) -> u64 {
        data.iter().map(|&b| u64::from(b)).sum()
    }

    pub async fn echo_order(&self, order: Order) -> Order {
        order
    }

    pub async fn echo_date(&self, at: Timestamp) -> Timestamp {
        at
    }

    /// The instant as milliseconds since the epoch, to check what the server understood.
    pub async fn date_to_millis(&self, at: Timestamp) -> i64 {
        at.unix_millis()
    }

    pub async fn millis_to_date(&self, millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis)
    }

    /// `SendSequence(count, delayMs)`: the caller gets `Received("0")` .. `Received(count-1)`.
    pub async fn send_sequence(
        &self,
        ctx: &Context,
        count: u32,
        delay_ms: u64,
    ) -> Result<u32, HubError> {
        for i in 0..count {
            ctx.clients().caller().received(&i.to_string()).await?;
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Ok(count)
    }

    /// `Record(value)`: remembers `value` for the calling connection.
    pub async fn record(&self, ctx: &Context, value: i64) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded
            .entry(ctx.connection_id().to_string())
            .or_default()
            .push(value);
    }

    /// `Recorded()`: what `Record` received from the caller, in order.
    pub async fn recorded(&self, ctx: &Context) -> Vec<i64> {
        let recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded
            .get(ctx.connection_id())
            .cloned()
            .unwrap_or_default()
    }

    /// `Remember(text)`: keeps `text` for the caller's connection (`Context::items`).
    pub async fn remember(&self, ctx: &Context, text: String) {
        ctx.items().insert(Remembered(text));
    }

    /// `Remembered()`: what the caller's connection kept, if anything.
    pub async fn remembered(&self, ctx: &Context) -> Option<String> {
        ctx.items().get::<Remembered>().map(|kept| kept.0)
    }

    /// `BoxedCounter(count)`: 0 .. count, from a boxed stream.
    pub async fn boxed_counter(&self, count: u32) -> futures_util::stream::BoxStream<'static, u32> {
        futures_util::StreamExt::boxed(futures_util::stream::iter(0..count))
    }

    /// `GetActiveTransportName()`: the transport the caller uses, as ASP.NET Core names it.
    pub async fn get_active_transport_name(&self, ctx: &Context) -> Option<&'static str> {
        ctx.transport().map(Transport::name)
    }

    pub async fn delay(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }
}

/// The filter of `/hubs/test-filtered`: refuses `Record` of a negative value before the method
/// runs (`Recorded` shows it never did) and multiplies `Add`'s result by ten.
struct InteropFilter;

impl hubs::HubFilter for InteropFilter {
    async fn invoke(
        &self,
        invocation: &hubs::HubInvocation,
        next: hubs::Next<'_, Result<hubs::InvocationResult, HubError>>,
    ) -> Result<hubs::InvocationResult, HubError> {
        match invocation.method() {
            "Record" if invocation.argument::<i64>(0).is_ok_and(|value| value < 0) => {
                Err(HubError::new("negative values are refused by a filter"))
            }
            "Add" => {
                let sum: i32 = next.run().await?.decode()?;
                invocation.result(&(sum * 10))
            }
            _ => next.run().await,
        }
    }
}

async fn broadcast(State(hub): State<HubContext<TestHub>>, body: String) -> StatusCode {
    match hub.clients().all().send("Received", (body,)).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn send_to_user(
    State(hub): State<HubContext<TestHub>>,
    Path(user): Path<String>,
    body: String,
) -> StatusCode {
    match hub.clients().user(user).received(&body).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn add_to_group(
    State(hub): State<HubContext<TestHub>>,
    Path((group, connection_id)): Path<(String, String)>,
) -> StatusCode {
    match hub.groups().add(&connection_id, &group).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    // The `user` query parameter names a connection's user (demo authentication).
    let test = HubEndpoint::builder(TestHub::default())
        .authenticate(examples::user_from_query())
        .build();
    let context = test.context();
    let app = Router::new()
        .route("/api/broadcast", post(broadcast))
        .route("/api/groups/{group}/{connection_id}", post(add_to_group))
        .route("/api/users/{user}", post(send_to_user))
        .with_state(context)
        .hub("/hubs/test", test)
        .hub(
            "/hubs/test-detailed",
            HubEndpoint::builder(TestHub::default())
                .detailed_errors(true)
                .authenticate(examples::user_from_query())
                .build(),
        )
        // For transport fallback and the transport status codes.
        .hub(
            "/hubs/test-no-websockets",
            with_transports(&[ServerSentEvents, LongPolling]),
        )
        .hub("/hubs/test-long-polling", with_transports(&[LongPolling]))
        .hub("/hubs/test-websockets", with_transports(&[WebSockets]))
        // Idle long polls are swept after 2 s here, so tests can outlast the sweep quickly.
        .hub(
            "/hubs/test-quick-sweep",
            HubEndpoint::builder(TestHub::default())
                .configure_connections(|o| o.disconnect_timeout = Duration::from_secs(2))
                .build(),
        )
        .hub(
            "/hubs/test-filtered",
            HubEndpoint::builder(TestHub::default())
                .filter(InteropFilter)
                .build(),
        )
        .hub(
            "/hubs/test-stateful",
            HubEndpoint::builder(TestHub::default())
                .configure_connections(|o| o.allow_stateful_reconnects = true)
                .build(),
        );
    // The chaos tests' endpoint: short timeouts and counters of what the server holds.
    let app = app.merge(chaos_hub::routes()).merge(auth_hub::routes());
    examples::serve(app).await;
}

/// The test hub offering only `transports`.
fn with_transports(transports: &[Transport]) -> HubEndpoint<TestHub> {
    HubEndpoint::builder(TestHub::default())
        .connection_options(ConnectionOptions {
            transports: transports.to_vec(),
            ..ConnectionOptions::default()
        })
        .build()
}
