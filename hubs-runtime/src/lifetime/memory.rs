//! The default lifetime manager, everything in this process's memory; also the local part of
//! every other manager (see [`HubLifetimeManager::local`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::future::BoxFuture;

use super::connection::HubConnection;
use super::message::{ClientResult, ClientResultError, ProtocolSet, SerializedMessage, Target};
use super::{EncodeInvocation, HubLifetimeManager};
use crate::protocol::Protocol;

type Members = HashMap<Arc<str>, Arc<HubConnection>>;

/// The most connections a delivery writes to itself (see [`InMemoryLifetimeManager::deliver`]).
const DIRECT_FAN_OUT: usize = 16;

/// Connections, groups and users of one server process.
///
/// As a [`HubLifetimeManager`] it is the trait's defaults and nothing more. Its inherent
/// methods are those defaults' building blocks, for managers that keep one for their own
/// connections: they report when a group or a user gains its first or loses its last
/// connection here, which is when a backplane subscribes and unsubscribes.
#[derive(Default)]
pub struct InMemoryLifetimeManager {
    connections: RwLock<Members>,
    groups: RwLock<HashMap<Arc<str>, Members>>,
    users: RwLock<HashMap<Arc<str>, Members>>,
    per_protocol: [AtomicUsize; Protocol::COUNT],
}

/// What a connection's leaving changed: the groups and the user it was the last member of.
#[derive(Debug, Default)]
pub struct Departure {
    /// Groups that have no connection here any more.
    pub emptied_groups: Vec<Arc<str>>,
    /// The connection's user, when it was that user's last connection here.
    pub emptied_user: Option<Arc<str>>,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn excluded(connection: &HubConnection, except: &[String]) -> bool {
    except.iter().any(|id| id == connection.id())
}

/// The recipients of one delivery, met while a connection map's lock is held. A send to a
/// few connections is written to their sockets at once, so those are kept and written to after
/// the lock is released (a socket write must not hold up connections arriving and leaving). A
/// fan-out to many leaves the writes to the connections' own tasks, so it is queued as it goes,
/// with no list of recipients: the sender does not hold its thread for thousands of writes, and
/// deliveries piling up on a busy connection leave in one.
struct Recipients<'m> {
    message: &'m SerializedMessage,
    few: Vec<Arc<HubConnection>>,
    many: bool,
}

impl Recipients<'_> {
    fn add_all<'a>(
        &mut self,
        members: impl Iterator<Item = &'a Arc<HubConnection>>,
        except: &[String],
    ) {
        members
            .filter(|c| !excluded(c, except))
            .for_each(|c| self.add(c));
    }

    fn add(&mut self, connection: &Arc<HubConnection>) {
        if self.many {
            connection.deliver_in_fan_out(self.message);
        } else if self.few.len() < DIRECT_FAN_OUT {
            self.few.push(Arc::clone(connection));
        } else {
            self.many = true;
            for kept in self.few.drain(..) {
                kept.deliver_in_fan_out(self.message);
            }
            connection.deliver_in_fan_out(self.message);
        }
    }

    /// Writes to the few kept; call with no lock held.
    fn write(self) {
        for connection in self.few {
            connection.deliver_serialized(self.message);
        }
    }
}

/// Removes `connection_id` from `map[key]`; returns whether that emptied (and removed) it.
fn remove_member(map: &mut HashMap<Arc<str>, Members>, key: &str, connection_id: &str) -> bool {
    if let Some(members) = map.get_mut(key) {
        members.remove(connection_id);
        if members.is_empty() {
            map.remove(key);
            return true;
        }
    }
    false
}

impl InMemoryLifetimeManager {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many connections are registered.
    pub fn connection_count(&self) -> usize {
        read(&self.connections).len()
    }

    /// How many groups have at least one member.
    pub fn group_count(&self) -> usize {
        read(&self.groups).len()
    }

    /// A connection by id.
    pub fn connection(&self, connection_id: &str) -> Option<Arc<HubConnection>> {
        read(&self.connections).get(connection_id).cloned()
    }

    /// Whether group `group` has a member here.
    pub fn has_group(&self, group: &str) -> bool {
        read(&self.groups).contains_key(group)
    }

    /// Whether user `user` has a connection here.
    pub fn has_user(&self, user: &str) -> bool {
        read(&self.users).contains_key(user)
    }

    /// How many connections user `user` has here.
    pub fn user_connection_count(&self, user: &str) -> usize {
        read(&self.users).get(user).map_or(0, HashMap::len)
    }

    /// The users with a connection here.
    pub fn users(&self) -> Vec<String> {
        read(&self.users).keys().map(|u| u.to_string()).collect()
    }

    /// The ids of the connections here, then the groups and the users that have one here.
    #[cfg(feature = "redis")]
    pub(crate) fn names(&self) -> [Vec<Arc<str>>; 3] {
        fn keys<V>(map: &RwLock<HashMap<Arc<str>, V>>) -> Vec<Arc<str>> {
            read(map).keys().cloned().collect()
        }
        [
            keys(&self.connections),
            keys(&self.groups),
            keys(&self.users),
        ]
    }

    /// The protocols of the connections here.
    pub fn local_protocols(&self) -> ProtocolSet {
        ProtocolSet::of(
            Protocol::ALL
                .iter()
                .copied()
                .filter(|p| self.per_protocol[p.index()].load(Ordering::Relaxed) > 0),
        )
    }

    /// Registers a connection; returns whether it is its user's first connection here.
    pub fn connect(&self, connection: Arc<HubConnection>) -> bool {
        self.per_protocol[connection.protocol().index()].fetch_add(1, Ordering::Relaxed);
        let mut first_of_user = false;
        if let Some(user) = connection.user() {
            let mut users = write(&self.users);
            let members = users.entry(Arc::clone(user)).or_default();
            first_of_user = members.is_empty();
            members.insert(Arc::clone(connection.id_arc()), Arc::clone(&connection));
        }
        write(&self.connections).insert(Arc::clone(connection.id_arc()), connection);
        first_of_user
    }

    /// Forgets a connection and its memberships; later group adds for it are ignored.
    pub fn disconnect(&self, connection: &Arc<HubConnection>) -> Departure {
        let id = connection.id();
        if write(&self.connections).remove(id).is_some() {
            self.per_protocol[connection.protocol().index()].fetch_sub(1, Ordering::Relaxed);
        }
        let groups = {
            let mut membership = connection.membership();
            membership.closed = true;
            std::mem::take(&mut membership.groups)
        };
        let mut departure = Departure::default();
        if !groups.is_empty() {
            let mut all_groups = write(&self.groups);
            for group in groups {
                if remove_member(&mut all_groups, &group, id) {
                    departure.emptied_groups.push(group);
                }
            }
        }
        if let Some(user) = connection.user()
            && remove_member(&mut write(&self.users), user, id)
        {
            departure.emptied_user = Some(Arc::clone(user));
        }
        departure
    }

    /// Queues `message` for every connection here that `target` names.
    pub fn deliver(&self, target: &Target, message: &SerializedMessage) {
        let mut to = Recipients {
            message,
            few: Vec::new(),
            many: false,
        };
        let in_map = |map: &RwLock<HashMap<Arc<str>, Members>>, key: &str, except, to: &mut _| {
            if let Some(members) = read(map).get(key) {
                Recipients::add_all(to, members.values(), except);
            }
        };
        match target {
            Target::All => to.add_all(read(&self.connections).values(), &[]),
            Target::AllExcept(except) => to.add_all(read(&self.connections).values(), except),
            Target::Connection(id) => {
                let connection = read(&self.connections).get(id.as_str()).cloned();
                to.few.extend(connection);
            }
            Target::Connections(ids) => {
                let connections = read(&self.connections);
                to.add_all(
                    ids.iter().filter_map(|id| connections.get(id.as_str())),
                    &[],
                );
            }
            Target::Group(group) => in_map(&self.groups, group, &[], &mut to),
            Target::Groups(groups) => groups
                .iter()
                .for_each(|g| in_map(&self.groups, g, &[], &mut to)),
            Target::GroupExcept(group, except) => in_map(&self.groups, group, except, &mut to),
            Target::User(user) => in_map(&self.users, user, &[], &mut to),
            Target::Users(users) => users
                .iter()
                .for_each(|u| in_map(&self.users, u, &[], &mut to)),
        }
        to.write();
    }

    /// Adds a connection here to a group (unknown or departed connections are ignored);
    /// returns whether that made it the group's first member here.
    pub fn add(&self, connection_id: &str, group: &str) -> bool {
        let Some(connection) = self.connection(connection_id) else {
            return false;
        };
        // Holding the membership lock orders this against the connection leaving.
        let mut membership = connection.membership();
        if membership.closed {
            return false;
        }
        let group: Arc<str> = match membership.groups.get(group) {
            Some(_) => return false,
            None => group.into(),
        };
        let first = {
            let mut groups = write(&self.groups);
            let members = groups.entry(Arc::clone(&group)).or_default();
            members.insert(Arc::clone(connection.id_arc()), Arc::clone(&connection));
            members.len() == 1
        };
        membership.groups.insert(group);
        first
    }

    /// Removes a connection here from a group (unknown ones are ignored); returns whether the
    /// group has no member here any more because of it.
    pub fn remove(&self, connection_id: &str, group: &str) -> bool {
        let Some(connection) = self.connection(connection_id) else {
            return false;
        };
        let mut membership = connection.membership();
        membership.groups.remove(group)
            && remove_member(&mut write(&self.groups), group, connection_id)
    }

    /// Sends an invocation to a connection here and awaits its client's answer.
    pub fn invoke<'a>(
        &self,
        connection_id: &'a str,
        encode: &'a EncodeInvocation<'a>,
    ) -> BoxFuture<'a, Result<ClientResult, ClientResultError>> {
        let connection = self.connection(connection_id);
        Box::pin(async move {
            match connection {
                Some(connection) => connection.invoke(encode).await,
                None => Err(ClientResultError::NoConnection(connection_id.to_string())),
            }
        })
    }
}

impl HubLifetimeManager for InMemoryLifetimeManager {
    fn local(&self) -> &InMemoryLifetimeManager {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{Outgoing, QueueLimits, QueueReceiver, SendQueue};
    use bytes::Bytes;
    use tokio_util::sync::CancellationToken;

    /// A connection whose queue holds at most `max_bytes` (a client that never drains).
    fn connection(
        id: &str,
        user: Option<&str>,
        max_bytes: usize,
    ) -> (Arc<HubConnection>, QueueReceiver) {
        let (tx, rx) = SendQueue::new(QueueLimits {
            buffer: max_bytes,
            max_buffer: max_bytes,
            drain_timeout: std::time::Duration::from_secs(3600),
        });
        let c = HubConnection::new(
            id.into(),
            Protocol::Json,
            user.map(Into::into),
            tx,
            CancellationToken::new(),
        );
        (Arc::new(c), rx)
    }

    fn received(rx: &mut QueueReceiver) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(Outgoing::Frame(b)) = rx.try_recv() {
            out.push(String::from_utf8(b.to_vec()).unwrap());
        }
        out
    }

    async fn send(m: &InMemoryLifetimeManager, target: Target, text: &str) {
        let msg = SerializedMessage::invocation(m.protocols(), "M", &(text,)).unwrap();
        m.send(&target, &msg).await.unwrap();
    }

    fn texts(frames: Vec<String>) -> Vec<String> {
        frames
            .into_iter()
            .map(|f| {
                let v: serde_json::Value =
                    serde_json::from_str(f.trim_end_matches('\x1e')).unwrap();
                v["arguments"][0].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[tokio::test]
    async fn every_target_reaches_exactly_its_connections() {
        let m = InMemoryLifetimeManager::new();
        let (a, mut ra) = connection("a", Some("u1"), 64 * 1024);
        let (b, mut rb) = connection("b", Some("u1"), 64 * 1024);
        let (c, mut rc) = connection("c", None, 64 * 1024);
        for x in [&a, &b, &c] {
            m.on_connected(Arc::clone(x)).await;
        }
        m.add_to_group("a", "g").await.unwrap();
        m.add_to_group("c", "g").await.unwrap();
        m.add_to_group("c", "h").await.unwrap();

        send(&m, Target::All, "all").await;
        send(&m, Target::AllExcept(vec!["b".into()]), "all-but-b").await;
        send(&m, Target::Connection("c".into()), "to-c").await;
        send(
            &m,
            Target::Connections(vec!["a".into(), "b".into()]),
            "to-ab",
        )
        .await;
        send(&m, Target::Group("g".into()), "g").await;
        send(&m, Target::Groups(vec!["g".into(), "h".into()]), "gh").await;
        send(
            &m,
            Target::GroupExcept("g".into(), vec!["a".into()]),
            "g-but-a",
        )
        .await;
        send(&m, Target::User("u1".into()), "u1").await;
        send(&m, Target::Users(vec!["nobody".into()]), "nobody").await;

        assert_eq!(
            texts(received(&mut ra)),
            ["all", "all-but-b", "to-ab", "g", "gh", "u1"]
        );
        assert_eq!(texts(received(&mut rb)), ["all", "to-ab", "u1"]);
        assert_eq!(
            texts(received(&mut rc)),
            ["all", "all-but-b", "to-c", "g", "gh", "gh", "g-but-a"]
        );
    }

    #[tokio::test]
    async fn leaving_drops_memberships_and_empty_groups() {
        let m = InMemoryLifetimeManager::new();
        let (a, mut ra) = connection("a", Some("u"), 64 * 1024);
        m.on_connected(Arc::clone(&a)).await;
        m.add_to_group("a", "g").await.unwrap();
        m.add_to_group("a", "g").await.unwrap();
        assert_eq!(m.group_count(), 1);
        m.remove_from_group("a", "g").await.unwrap();
        assert_eq!(m.group_count(), 0);
        m.add_to_group("a", "g2").await.unwrap();
        m.on_disconnected(&a).await;
        assert_eq!(m.group_count(), 0);
        assert_eq!(m.connection_count(), 0);
        // Adding a departed connection is ignored.
        m.add_to_group("a", "g3").await.unwrap();
        assert!(!m.has_group("g3"));
        assert_eq!(m.group_count(), 0);
        send(&m, Target::User("u".into()), "x").await;
        assert!(received(&mut ra).is_empty());
        assert_eq!(m.protocols(), ProtocolSet::default());
    }

    #[tokio::test]
    async fn first_and_last_members_are_reported_for_subscriptions() {
        let m = InMemoryLifetimeManager::new();
        let (a, _ra) = connection("a", Some("u"), 64 * 1024);
        let (b, _rb) = connection("b", Some("u"), 64 * 1024);
        assert!(m.connect(Arc::clone(&a)), "a is u's first connection");
        assert!(!m.connect(Arc::clone(&b)));
        assert!(m.add("a", "g"), "a is g's first member");
        assert!(!m.add("a", "g"), "already a member");
        assert!(!m.add("b", "g"));
        assert!(m.add("b", "h"));
        assert!(!m.remove("a", "g"), "b is still in g");
        assert!(!m.add("nobody", "g"));
        let departure = m.disconnect(&a);
        assert!(departure.emptied_groups.is_empty() && departure.emptied_user.is_none());
        let mut departure = m.disconnect(&b);
        departure.emptied_groups.sort();
        assert_eq!(departure.emptied_groups, [Arc::from("g"), Arc::from("h")]);
        assert_eq!(departure.emptied_user.as_deref(), Some("u"));
        assert!(!m.has_user("u") && !m.has_group("g"));
    }

    #[tokio::test]
    async fn a_full_queue_aborts_only_that_connection() {
        let m = InMemoryLifetimeManager::new();
        let (slow, _keep_slow_queue) = connection("slow", None, 100);
        let (fast, mut rf) = connection("fast", None, 64 * 1024);
        m.on_connected(Arc::clone(&slow)).await;
        m.on_connected(Arc::clone(&fast)).await;
        for i in 0..5 {
            send(&m, Target::All, &i.to_string()).await;
        }
        assert!(slow.abort.is_cancelled());
        assert!(!fast.abort.is_cancelled());
        assert_eq!(texts(received(&mut rf)), ["0", "1", "2", "3", "4"]);
    }

    #[tokio::test]
    async fn client_results_are_answered_and_forgotten_when_abandoned() {
        let m = InMemoryLifetimeManager::new();
        let (a, mut ra) = connection("a", None, 64 * 1024);
        m.on_connected(Arc::clone(&a)).await;
        let encode = |id: &str, p: Protocol| p.write_invocation(Some(id), "Ask", &["q"]);

        let answer = tokio::spawn({
            let a = Arc::clone(&a);
            async move { a.invoke(&encode).await }
        });
        let Some(Outgoing::Frame(sent)) = ra.recv().await else {
            panic!("the invocation is sent")
        };
        let sent: serde_json::Value = serde_json::from_slice(&sent[..sent.len() - 1]).unwrap();
        assert_eq!(sent["invocationId"], "s1");
        let raw = Bytes::from_static(b"true");
        assert!(a.complete_invocation("s1", Ok(ClientResult::new(Protocol::Json, raw))));
        assert!(answer.await.unwrap().unwrap().decode::<bool>().unwrap());

        // Giving up on an answer leaves nothing behind.
        let abandoned =
            tokio::time::timeout(std::time::Duration::from_millis(10), a.invoke(&encode));
        assert!(abandoned.await.is_err());
        assert!(a.pending().as_ref().unwrap().is_empty());
        assert!(!a.complete_invocation("s2", Err(ClientResultError::Client("late".into()))));

        let unknown = m.invoke_client("nobody", &encode).await.unwrap_err();
        assert_eq!(unknown.to_string(), "Connection 'nobody' does not exist.");
        let waiting = tokio::spawn({
            let a = Arc::clone(&a);
            async move { a.invoke(&encode).await }
        });
        let _ = ra.recv().await;
        a.fail_pending_invocations();
        assert_eq!(
            waiting.await.unwrap().unwrap_err().to_string(),
            "Connection 'a' disconnected."
        );
    }

    #[tokio::test]
    async fn a_broadcast_is_serialized_once_and_shared() {
        let m = InMemoryLifetimeManager::new();
        let (a, mut ra) = connection("a", None, 64 * 1024);
        let (b, mut rb) = connection("b", None, 64 * 1024);
        m.on_connected(a).await;
        m.on_connected(b).await;
        send(&m, Target::All, "x").await;
        let (Ok(Outgoing::Frame(x)), Ok(Outgoing::Frame(y))) = (ra.try_recv(), rb.try_recv())
        else {
            panic!("both receive")
        };
        assert_eq!(x.as_ptr(), y.as_ptr(), "recipients share one buffer");
    }
}
