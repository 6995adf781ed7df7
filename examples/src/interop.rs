//! The interop server's main hub (`target/debug/interop`, driven by the tests in `interop/`):
//! one hub exercising every feature, with its client trait and DTOs. The binary mounts it at
//! several paths with different options.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hubs::Timestamp;
use hubs::Transport;
use hubs::prelude::*;
use serde::{Deserialize, Serialize};

/// One hub value per endpoint; `recorded` keeps what `Record` received, per connection.
#[derive(Default)]
pub struct TestHub {
    recorded: Mutex<HashMap<String, Vec<i64>>>,
}

/// What the test hub calls on its clients, typed.
#[hub_client]
pub trait TestClient {
    async fn received(&self, message: &str);
}

/// A nested payload: maps inside maps, lists, optional and binary fields.
#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
    note: Option<String>,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct Customer {
    name: String,
    vip: bool,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct Line {
    sku: String,
    quantity: u32,
    price: f64,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct Item {
    name: String,
    count: f64,
    tags: Vec<String>,
}

/// Fields of several words: they go out camelCase (`displayName`), as ASP.NET Core sends
/// them, and come in with any letter case (`displayName`, `DisplayName`, `display_name`).
#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct Profile {
    display_name: String,
    login_count: u32,
    home_town: Option<HomeTown>,
}

#[derive(ts_rs::TS, Serialize, Deserialize)]
pub struct HomeTown {
    postal_code: String,
}

/// What `Remember` keeps per connection.
#[derive(Clone)]
struct Remembered(String);

/// An application error: its details reach clients only with detailed errors on.
#[derive(Debug)]
pub struct InternalError(String);

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InternalError {}

/// Every feature the interop tests drive: results of each shape, errors, the request, every
/// client target (untyped sends and the typed `Received`), groups, users, binary and
/// timestamps, streams and per-connection state.
#[hub(client = TestClient)]
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

    /// Returns the profile and also sends it to the caller as `Profile`.
    pub async fn echo_profile(&self, ctx: &Context, profile: Profile) -> Result<Profile, HubError> {
        ctx.clients().caller().send("Profile", (&profile,)).await?;
        Ok(profile)
    }

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
