//! Every Redis channel name the backplane uses, built and recognized in one place (ASP.NET
//! Core's `RedisChannels`).
//!
//! `P` is the channel prefix (empty by default) written directly in front of the hub name (the
//! Rust type name by default, the .NET full type name to share Redis with ASP.NET Core nodes):
//!
//! | channel | carries |
//! |---|---|
//! | `P:all` | All, AllExcept, Others |
//! | `P:group:<name>` | sends to a group; subscribed while the group has a member here |
//! | `P:user:<id>` | sends to a user; subscribed while the user has a connection here |
//! | `P:connection:<id>` | sends and client results for one connection; subscribed by its node |
//! | `P:internal:groups` | group add and remove for connections of other nodes |
//! | `P:internal:ack:<server>` | acks of group commands, to the node that sent them |
//! | `P:internal:return:<server>` | client-result answers, to the node that asked |
//!
//! Presence uses keys, not channels: `P:presence:<user>:<server>` holds how many connections
//! the user has on that node (the user id with `%` and `:` percent-encoded), expiring unless the
//! node refreshes it.

/// The channel names of one hub on one node.
#[derive(Debug, Clone)]
pub(super) struct Channels {
    /// `<prefix><hub name>`.
    base: String,
    all: String,
    group_management: String,
    ack: String,
    return_results: String,
}

/// What a received channel name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel<'a> {
    All,
    Group(&'a str),
    User(&'a str),
    Connection(&'a str),
    GroupManagement,
    /// Acks for this node.
    Ack,
    /// Client-result answers for this node.
    ReturnResults,
}

impl Channels {
    /// The channels of hub `hub_name` under `prefix` for node `server_name`.
    pub(super) fn new(prefix: &str, hub_name: &str, server_name: &str) -> Self {
        let base = format!("{prefix}{hub_name}");
        Self {
            all: format!("{base}:all"),
            group_management: format!("{base}:internal:groups"),
            ack: format!("{base}:internal:ack:{server_name}"),
            return_results: format!("{base}:internal:return:{server_name}"),
            base,
        }
    }

    /// Every connection.
    pub(super) fn all(&self) -> &str {
        &self.all
    }

    /// Group commands.
    pub(super) fn group_management(&self) -> &str {
        &self.group_management
    }

    /// This node's acks.
    pub(super) fn ack(&self) -> &str {
        &self.ack
    }

    /// The acks of node `server_name`.
    pub(super) fn ack_of(&self, server_name: &str) -> String {
        format!("{}:internal:ack:{server_name}", self.base)
    }

    /// Where client-result answers for this node go.
    pub(super) fn return_results(&self) -> &str {
        &self.return_results
    }

    /// One connection.
    pub(super) fn connection(&self, connection_id: &str) -> String {
        format!("{}:connection:{connection_id}", self.base)
    }

    /// The members of a group.
    pub(super) fn group(&self, group: &str) -> String {
        format!("{}:group:{group}", self.base)
    }

    /// The connections of a user.
    pub(super) fn user(&self, user_id: &str) -> String {
        format!("{}:user:{user_id}", self.base)
    }

    /// The presence key of `user` on node `server_name`.
    pub(super) fn presence_key(&self, user: &str, server_name: &str) -> String {
        format!(
            "{}{}:{server_name}",
            self.presence_prefix(),
            encode_user(user)
        )
    }

    /// The prefix of every presence key of `user` (on any node).
    pub(super) fn user_presence_prefix(&self, user: &str) -> String {
        format!("{}{}:", self.presence_prefix(), encode_user(user))
    }

    /// The prefix of every presence key.
    pub(super) fn presence_prefix(&self) -> String {
        format!("{}:presence:", self.base)
    }

    /// The user of a presence key.
    pub(super) fn presence_user(&self, key: &str) -> Option<String> {
        let rest = key.strip_prefix(self.presence_prefix().as_str())?;
        let (user, _server) = rest.split_once(':')?;
        Some(decode_user(user))
    }

    /// The channels every node subscribes to for as long as it runs.
    pub(super) fn fixed(&self) -> [&str; 4] {
        [
            self.all(),
            self.group_management(),
            self.ack(),
            self.return_results(),
        ]
    }

    /// What `channel` is, if it is one of this hub's channels this node listens to.
    pub(super) fn parse<'a>(&self, channel: &'a str) -> Option<Channel<'a>> {
        if channel == self.all {
            return Some(Channel::All);
        }
        if channel == self.group_management {
            return Some(Channel::GroupManagement);
        }
        if channel == self.ack {
            return Some(Channel::Ack);
        }
        if channel == self.return_results {
            return Some(Channel::ReturnResults);
        }
        let rest = channel
            .strip_prefix(self.base.as_str())?
            .strip_prefix(':')?;
        if let Some(group) = rest.strip_prefix("group:") {
            Some(Channel::Group(group))
        } else if let Some(user) = rest.strip_prefix("user:") {
            Some(Channel::User(user))
        } else {
            rest.strip_prefix("connection:").map(Channel::Connection)
        }
    }
}

/// A user id without `:` (percent-encoding `%` and `:`), so it ends where the node's name starts.
fn encode_user(user: &str) -> String {
    user.replace('%', "%25").replace(':', "%3A")
}

fn decode_user(encoded: &str) -> String {
    encoded.replace("%3A", ":").replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_aspnet_cores_and_read_back() {
        let c = Channels::new("app1", "MyApp.Hubs.ChatHub", "web_0a1b");
        assert_eq!(c.all(), "app1MyApp.Hubs.ChatHub:all");
        assert_eq!(
            c.group_management(),
            "app1MyApp.Hubs.ChatHub:internal:groups"
        );
        assert_eq!(c.ack(), "app1MyApp.Hubs.ChatHub:internal:ack:web_0a1b");
        assert_eq!(
            c.ack_of("other"),
            "app1MyApp.Hubs.ChatHub:internal:ack:other"
        );
        assert_eq!(
            c.return_results(),
            "app1MyApp.Hubs.ChatHub:internal:return:web_0a1b"
        );
        assert_eq!(c.group("g:1"), "app1MyApp.Hubs.ChatHub:group:g:1");
        assert_eq!(c.user("ann"), "app1MyApp.Hubs.ChatHub:user:ann");
        assert_eq!(c.connection("x"), "app1MyApp.Hubs.ChatHub:connection:x");

        assert_eq!(c.parse(c.all()), Some(Channel::All));
        assert_eq!(c.parse(&c.group("g:1")), Some(Channel::Group("g:1")));
        assert_eq!(c.parse(&c.user("ann")), Some(Channel::User("ann")));
        assert_eq!(c.parse(&c.connection("x")), Some(Channel::Connection("x")));
        assert_eq!(c.parse(c.ack()), Some(Channel::Ack));
        assert_eq!(c.parse(c.return_results()), Some(Channel::ReturnResults));
        assert_eq!(
            c.parse(c.group_management()),
            Some(Channel::GroupManagement)
        );
        assert_eq!(c.parse("app1MyApp.Hubs.ChatHub:internal:ack:other"), None);
        assert_eq!(c.parse("OtherHub:all"), None);

        let key = c.presence_key("a:b%c", "web_1");
        assert_eq!(key, "app1MyApp.Hubs.ChatHub:presence:a%3Ab%25c:web_1");
        assert!(key.starts_with(&c.user_presence_prefix("a:b%c")));
        assert!(!key.starts_with(&c.user_presence_prefix("a")));
        assert_eq!(c.presence_user(&key).as_deref(), Some("a:b%c"));
    }
}
