//! The chat demo's hub, `/hubs/chat`: people by the names they choose, everyone or groups,
//! with a typed client (`ChatClient`) and DTOs that `typescript-gen` turns into
//! `examples/typescript/ChatHub.ts`, which the page (`examples/web/chat.ts`) imports.
//!
//! A connection names itself with `?name=...` in the hub URL (what the page puts there; a
//! missing or empty name is `anonymous`) and may change it with `SetName`. The name lives in
//! the connection's [`Context::items`], so every message and event carries it.

use hubs::Timestamp;
use hubs::prelude::*;
use serde::{Deserialize, Serialize};

/// The longest user or group name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The name of a connection that gave none.
pub const ANONYMOUS: &str = "anonymous";

/// A chat line, as each recipient gets it.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// The sender's name.
    pub user: String,
    /// What they wrote.
    pub text: String,
    /// The group it was sent to; `null` when it went to everyone.
    pub group: Option<String>,
    /// When the server passed it on.
    pub sent_at: Timestamp,
}

/// Someone in the chat.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct ChatUser {
    /// The connection, to tell apart two people of the same name.
    pub connection_id: String,
    /// The name they chose.
    pub name: String,
}

/// Someone joined or left a group.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupChange {
    /// Who.
    pub user: ChatUser,
    /// Which group.
    pub group: String,
}

/// Someone changed their name.
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct Rename {
    /// Who, under the new name.
    pub user: ChatUser,
    /// The name they had before.
    pub previous: String,
}

/// What the chat hub calls on its clients.
#[hub_client]
pub trait ChatClient {
    /// A message to everyone, or to a group this connection is in.
    async fn receive_message(&self, message: &ChatMessage);
    /// Someone connected (every connection gets this, the new one included).
    async fn user_connected(&self, user: &ChatUser);
    /// Someone disconnected (the others get this).
    async fn user_disconnected(&self, user: &ChatUser);
    /// Someone changed their name.
    async fn user_renamed(&self, rename: &Rename);
    /// Someone joined a group this connection is in (the joiner included).
    async fn user_joined(&self, change: &GroupChange);
    /// Someone left a group this connection is in.
    async fn user_left(&self, change: &GroupChange);
}

/// The connection's name, kept in [`Context::items`].
#[derive(Clone)]
struct UserName(String);

/// A chat room with groups.
pub struct ChatHub;

/// A chat room with groups: messages to everyone or to a group, by name.
#[hub(client = ChatClient)]
impl ChatHub {
    /// Sends `text` to everyone, the caller included.
    pub async fn send_message(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        let message = ChatMessage {
            user: name_of(ctx),
            text: checked_text(text)?,
            group: None,
            sent_at: Timestamp::now(),
        };
        ctx.clients().all().receive_message(&message).await?;
        Ok(())
    }

    /// Sends `text` to the members of `group` (the caller need not be one).
    pub async fn send_message_to_group(
        &self,
        ctx: &Context,
        group: String,
        text: String,
    ) -> Result<(), HubError> {
        let group = checked_name("group name", &group)?;
        let message = ChatMessage {
            user: name_of(ctx),
            text: checked_text(text)?,
            group: Some(group.clone()),
            sent_at: Timestamp::now(),
        };
        ctx.clients()
            .group(&group)
            .receive_message(&message)
            .await?;
        Ok(())
    }

    /// Adds the caller to `group`; then its members, the caller included, get `UserJoined`.
    pub async fn join_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        let group = checked_name("group name", &group)?;
        ctx.groups().add(ctx.connection_id(), &group).await?;
        let change = GroupChange {
            user: user_of(ctx),
            group,
        };
        ctx.clients()
            .group(&change.group)
            .user_joined(&change)
            .await?;
        Ok(())
    }

    /// Removes the caller from `group`; then the remaining members get `UserLeft`.
    pub async fn leave_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        let group = checked_name("group name", &group)?;
        ctx.groups().remove(ctx.connection_id(), &group).await?;
        let change = GroupChange {
            user: user_of(ctx),
            group,
        };
        ctx.clients()
            .group(&change.group)
            .user_left(&change)
            .await?;
        Ok(())
    }

    /// Changes the caller's name; everyone gets `UserRenamed`.
    pub async fn set_name(&self, ctx: &Context, name: String) -> Result<(), HubError> {
        let name = checked_name("name", &name)?;
        let previous = ctx
            .items()
            .insert(UserName(name))
            .map_or_else(|| ANONYMOUS.to_owned(), |UserName(previous)| previous);
        let rename = Rename {
            user: user_of(ctx),
            previous,
        };
        ctx.clients().all().user_renamed(&rename).await?;
        Ok(())
    }

    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        // A name the hub would refuse from `SetName` is no name at all.
        let name = ctx
            .query("name")
            .and_then(|name| checked_name("name", name).ok())
            .unwrap_or_else(|| ANONYMOUS.to_owned());
        ctx.items().insert(UserName(name));
        let user = user_of(ctx);
        tracing::info!(
            connection_id = ctx.connection_id(),
            name = user.name,
            "user connected"
        );
        ctx.clients().all().user_connected(&user).await?;
        Ok(())
    }

    async fn on_disconnected(&self, ctx: &Context, error: Option<HubError>) {
        let user = user_of(ctx);
        match error {
            Some(error) => {
                tracing::info!(connection_id = ctx.connection_id(), name = user.name, %error, "user disconnected")
            }
            None => {
                tracing::info!(
                    connection_id = ctx.connection_id(),
                    name = user.name,
                    "user disconnected"
                )
            }
        }
        let _ = ctx.clients().others().user_disconnected(&user).await;
    }
}

/// The caller's name.
fn name_of(ctx: &Context) -> String {
    ctx.items()
        .get::<UserName>()
        .map_or_else(|| ANONYMOUS.to_owned(), |UserName(name)| name)
}

/// The caller, by connection and name.
fn user_of(ctx: &Context) -> ChatUser {
    ChatUser {
        connection_id: ctx.connection_id().to_owned(),
        name: name_of(ctx),
    }
}

/// A user or group name without surrounding spaces, refused when empty or too long: the
/// page shows the refusal as it is.
fn checked_name(what: &str, name: &str) -> Result<String, HubError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(HubError::new(format!("A {what} must not be empty.")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(HubError::new(format!(
            "A {what} has at most {MAX_NAME_CHARS} characters."
        )));
    }
    Ok(name.to_owned())
}

/// A message text, refused when blank (its length is bounded by the hub's message size limit).
fn checked_text(text: String) -> Result<String, HubError> {
    if text.trim().is_empty() {
        return Err(HubError::new("A message must not be empty."));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_refused_when_empty_or_too_long() {
        assert_eq!(checked_name("group name", "  ops ").unwrap(), "ops");
        let empty = checked_name("group name", "   ").unwrap_err();
        assert_eq!(empty.message(), "A group name must not be empty.");
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(checked_name("name", &long).is_err());
        assert!(checked_name("name", &"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn blank_texts_are_refused() {
        assert_eq!(checked_text(" hi ".into()).unwrap(), " hi ");
        assert!(checked_text(" \n".into()).is_err());
    }
}
