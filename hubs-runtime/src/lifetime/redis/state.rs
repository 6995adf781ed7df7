//! The state the manager shares with its tasks: this node's connections, options and name,
//! and (once the endpoint is built) the running backplane; the task that keeps subscriptions
//! in step with the connections here.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::acks::AckTable;
use super::channels::Channels;
use super::driver::{Driver, Inbound, Wanted};
use super::options::RedisOptions;
use super::publisher::Publisher;
use super::results::RemoteResults;
use crate::lifetime::{HubInfo, InMemoryLifetimeManager, ProtocolSet};

/// How long a subscription change may hold up a connect, disconnect or group change.
pub(super) const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);
/// How often a node awaiting a client result from another node checks that the connection
/// still has a node.
pub(super) const LIVENESS_INTERVAL: Duration = Duration::from_secs(1);

/// What the manager's tasks share with it.
pub(super) struct Shared {
    pub(super) local: InMemoryLifetimeManager,
    pub(super) options: RedisOptions,
    /// `<host>_<32 hex digits>`, new on every start, as ASP.NET Core names its nodes.
    pub(super) server_name: String,
    pub(super) node: OnceLock<Node>,
}

/// The running backplane, from `HubLifetimeManager::attach` on.
pub(super) struct Node {
    pub(super) channels: Channels,
    /// What every publication is encoded in: the hub's protocols.
    pub(super) protocols: ProtocolSet,
    pub(super) driver: Arc<dyn Driver>,
    pub(super) acks: AckTable,
    pub(super) results: RemoteResults,
    /// Subscription changes, applied in order by one task.
    pub(super) interests: mpsc::UnboundedSender<(Interest, oneshot::Sender<()>)>,
    /// What this node publishes, in order.
    pub(super) publisher: Publisher,
    pub(super) ack_timeout: Duration,
    pub(super) client_result_timeout: Option<Duration>,
}

/// What the tasks of a started backplane read: what the driver receives, and the
/// subscription changes asked for.
pub(super) struct Started {
    pub(super) received: mpsc::UnboundedReceiver<Inbound>,
    pub(super) requested: mpsc::UnboundedReceiver<(Interest, oneshot::Sender<()>)>,
}

/// Something this node may need a subscription for.
#[derive(Debug)]
pub(super) enum Interest {
    Connection(Arc<str>),
    Group(Arc<str>),
    User(Arc<str>),
}

pub(super) fn server_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hubs".to_owned());
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).expect("the OS random generator works");
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}_{hex}")
}

impl Shared {
    pub(super) fn node(&self) -> Option<&Node> {
        self.node.get()
    }

    /// Every channel this node needs now: the fixed ones, and one per connection, group and
    /// user here (see [`Wanted`]).
    fn wanted_channels(&self) -> Vec<String> {
        let Some(node) = self.node() else {
            return Vec::new();
        };
        let channels = &node.channels;
        let [connections, groups, users] = self.local.names();
        let fixed = channels.fixed().map(str::to_owned);
        fixed
            .into_iter()
            .chain(connections.iter().map(|id| channels.connection(id)))
            .chain(groups.iter().map(|group| channels.group(group)))
            .chain(users.iter().map(|user| channels.user(user)))
            .collect()
    }

    /// Starts the backplane for `hub` with the driver `connect` makes.
    pub(super) fn start(
        self: &Arc<Self>,
        hub: &HubInfo,
        connect: impl FnOnce(mpsc::UnboundedSender<Inbound>, Wanted) -> Result<Arc<dyn Driver>, String>,
    ) -> Result<Started, String> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("the Redis lifetime manager starts with the endpoint: build the endpoint inside a Tokio runtime".into());
        }
        let hub_name = self.options.hub_name.as_deref().unwrap_or(hub.type_name);
        let channels = Channels::new(&self.options.channel_prefix, hub_name, &self.server_name);
        let (inbound, received) = mpsc::unbounded_channel();
        let shared = Arc::downgrade(self);
        let wanted: Wanted = Arc::new(move || {
            shared
                .upgrade()
                .map(|shared| shared.wanted_channels())
                .unwrap_or_default()
        });
        let driver = connect(inbound, wanted)?;
        let (interests, requested) = mpsc::unbounded_channel();
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag).map_err(|e| e.to_string())?;
        let publisher = Publisher::start(Arc::clone(&driver));
        let node = Node {
            channels,
            protocols: hub.protocols,
            driver,
            acks: AckTable::default(),
            results: RemoteResults::new(tag),
            interests,
            publisher,
            ack_timeout: self.options.ack_timeout,
            client_result_timeout: self.options.client_result_timeout,
        };
        let fixed: Vec<String> = node.channels.fixed().map(str::to_owned).to_vec();
        let driver = Arc::clone(&node.driver);
        self.node
            .set(node)
            .map_err(|_| "a Redis lifetime manager serves one endpoint".to_string())?;
        tracing::info!(server = %self.server_name, hub = hub_name, "joining the Redis backplane");
        tokio::spawn(async move {
            for channel in fixed {
                let _ = driver.subscribe(&channel).await;
            }
        });
        Ok(Started {
            received,
            requested,
        })
    }
}

/// Applies subscription changes in the order they were asked for, each to the state of the
/// moment (so a group that gained and lost members meanwhile ends up right).
pub(super) async fn keep_interests(
    shared: Weak<Shared>,
    mut requested: mpsc::UnboundedReceiver<(Interest, oneshot::Sender<()>)>,
) {
    while let Some((interest, done)) = requested.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Some(node) = shared.node() else { return };
        let (channel, wanted) = match &interest {
            Interest::Connection(id) => (
                node.channels.connection(id),
                shared.local.connection(id).is_some(),
            ),
            Interest::Group(group) => (node.channels.group(group), shared.local.has_group(group)),
            Interest::User(user) => (node.channels.user(user), shared.local.has_user(user)),
        };
        let changed = if wanted {
            node.driver.subscribe(&channel).await
        } else {
            node.driver.unsubscribe(&channel).await
        };
        if let Err(error) = changed {
            tracing::debug!(%channel, %error, wanted, "Redis subscription not changed yet; it follows when Redis is back");
        }
        let _ = done.send(());
    }
}
