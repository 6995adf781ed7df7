//! The server the interop tests drive with the official clients: one hub exercising every
//! feature, mounted with default options at `/hubs/test` and with detailed errors at
//! `/hubs/test-detailed`, plus REST endpoints that reach clients from outside the hub.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use hubs::prelude::*;
use serde::{Deserialize, Serialize};

struct TestHub;

#[derive(Serialize, Deserialize)]
struct Item {
    name: String,
    count: f64,
    tags: Vec<String>,
}

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

    pub async fn delay(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }
}

async fn broadcast(State(hub): State<HubContext<TestHub>>, body: String) -> StatusCode {
    match hub.clients().all().send("Received", (body,)).await {
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
    let test = HubEndpoint::new(TestHub);
    let context = test.context();
    let app = Router::new()
        .route("/api/broadcast", post(broadcast))
        .route("/api/groups/{group}/{connection_id}", post(add_to_group))
        .with_state(context)
        .hub("/hubs/test", test)
        .hub(
            "/hubs/test-detailed",
            HubEndpoint::builder(TestHub).detailed_errors(true).build(),
        );
    examples::serve(app).await;
}
