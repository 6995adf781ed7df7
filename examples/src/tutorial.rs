//! The hubs of a typical ASP.NET Core SignalR tutorial, ported using only the `hubs` docs: a
//! typed news hub that REST endpoints push to, a chat hub with rooms (groups), and a hub that
//! streams a counter and takes an upload. The binary `tutorial` serves them.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use hubs::prelude::*;
use hubs::{Timestamp, UploadStream};
use serde::{Deserialize, Serialize};

/// A piece of news, as clients receive it.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct NewsItem {
    /// The headline.
    pub title: String,
    /// Where readers learn more.
    pub url: Option<String>,
    /// When the server published it.
    pub published_at: Timestamp,
}

/// What the news hub calls on its clients.
#[hub_client]
pub trait NewsClient {
    /// A piece of news was published (`POST /api/news`).
    async fn receive_news(&self, item: &NewsItem);
}

/// News pushed to every reader; readers only listen.
pub struct NewsHub;

/// Readers subscribe to topics; the server pushes news to all, or to a topic's subscribers.
#[hub(client = NewsClient)]
impl NewsHub {
    /// Follows `topic`: news published to it reaches the caller too.
    pub async fn follow(&self, ctx: &Context, topic: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), topic).await?;
        Ok(())
    }
}

/// A chat message, in a room or to everyone.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct RoomMessage {
    /// The room it was sent to; null when it went to everyone.
    pub room: Option<String>,
    /// Who sent it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// What the rooms hub calls on its clients.
#[hub_client]
pub trait RoomsClient {
    /// A message to everyone or to a room the client is in.
    async fn receive_message(&self, message: &RoomMessage);
    /// Someone entered a room the client is in.
    async fn user_entered(&self, room: &str, user: &str);
}

/// A chat with rooms: each room is a group.
pub struct RoomsHub;

#[hub(client = RoomsClient)]
impl RoomsHub {
    /// Sends to every connection.
    pub async fn send_to_all(
        &self,
        ctx: &Context,
        user: String,
        text: String,
    ) -> Result<(), HubError> {
        let message = RoomMessage {
            room: None,
            user,
            text,
        };
        ctx.clients().all().receive_message(&message).await?;
        Ok(())
    }

    /// Enters `room`; its members (the caller included) hear of it.
    pub async fn enter_room(
        &self,
        ctx: &Context,
        room: String,
        user: String,
    ) -> Result<(), HubError> {
        if room.trim().is_empty() {
            return Err(HubError::new("A room needs a name."));
        }
        ctx.groups().add(ctx.connection_id(), &room).await?;
        ctx.clients()
            .group(&room)
            .user_entered(&room, &user)
            .await?;
        Ok(())
    }

    /// Leaves `room`.
    pub async fn leave_room(&self, ctx: &Context, room: String) -> Result<(), HubError> {
        ctx.groups().remove(ctx.connection_id(), room).await?;
        Ok(())
    }

    /// Sends to the members of `room`, the caller excepted.
    pub async fn send_to_room(
        &self,
        ctx: &Context,
        room: String,
        user: String,
        text: String,
    ) -> Result<(), HubError> {
        let message = RoomMessage {
            room: Some(room.clone()),
            user,
            text,
        };
        ctx.clients()
            .others_in_group(&room)
            .receive_message(&message)
            .await?;
        Ok(())
    }
}

/// Streams both ways.
pub struct StreamsHub;

#[hub]
impl StreamsHub {
    /// Counts from 0 to `count - 1`, one number every `delay_ms` milliseconds; stops when the
    /// client cancels.
    pub async fn counter(&self, count: u32, delay_ms: u64) -> impl Stream<Item = u32> + use<> {
        let delay = Duration::from_millis(delay_ms.min(10_000));
        futures_util::stream::iter(0..count).then(move |n| async move {
            tokio::time::sleep(delay).await;
            n
        })
    }

    /// Joins the lines the client streams, in order, with newlines.
    pub async fn upload_lines(&self, mut lines: UploadStream<String>) -> Result<String, HubError> {
        let mut text = String::new();
        while let Some(line) = lines.next().await {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&line?);
        }
        Ok(text)
    }
}
