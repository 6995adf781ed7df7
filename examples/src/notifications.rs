//! The notifications example's hub, its client trait and the DTO clients receive (the binary
//! `notifications` pushes to them from REST endpoints).

use hubs::Timestamp;
use hubs::prelude::*;
use serde::{Deserialize, Serialize};

/// What clients receive.
#[derive(ts_rs::TS, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDto {
    pub id: u64,
    pub title: String,
    pub message: String,
    pub created_at: Timestamp,
}

/// The client methods of the notifications hub.
#[hub_client]
pub trait NotificationClient {
    async fn receive_notification(&self, notification: &NotificationDto);
    async fn order_status_changed(&self, order_id: &str, status: &str);
}

/// Pushes notifications to users and order status changes to the clients that follow an order.
pub struct NotificationHub;

/// The group of every connection of `user`.
pub fn user_group(user: &str) -> String {
    format!("user:{user}")
}

/// The group of the clients following order `order_id`.
pub fn order_group(order_id: &str) -> String {
    format!("order:{order_id}")
}

/// Clients follow orders; notifications and status changes are pushed from REST endpoints
/// (`ReceiveNotification`, `OrderStatusChanged`). Each connection with a user is in the group
/// `user:{id}`.
#[hub(client = NotificationClient)]
impl NotificationHub {
    /// `SubscribeToOrder(orderId)`: the caller follows an order's status changes.
    pub async fn subscribe_to_order(
        &self,
        ctx: &Context,
        order_id: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .groups()
            .add(ctx.connection_id(), &order_group(&order_id))
            .await?)
    }

    /// `UnsubscribeFromOrder(orderId)`.
    pub async fn unsubscribe_from_order(
        &self,
        ctx: &Context,
        order_id: String,
    ) -> Result<(), HubError> {
        Ok(ctx
            .groups()
            .remove(ctx.connection_id(), &order_group(&order_id))
            .await?)
    }

    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        if let Some(user) = ctx.user_identifier() {
            ctx.groups()
                .add(ctx.connection_id(), &user_group(user))
                .await?;
            tracing::info!(user, connection_id = ctx.connection_id(), "user connected");
        }
        Ok(())
    }
}
