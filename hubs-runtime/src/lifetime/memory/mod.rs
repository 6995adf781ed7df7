//! The default lifetime manager, everything in this process's memory; also the local part of
//! every other manager (see [`HubLifetimeManager::local`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures_util::future::BoxFuture;

use super::connection::HubConnection;
use super::message::{ClientResult, ClientResultError, ProtocolSet, SerializedMessage, Target};
use super::{EncodeInvocation, HubLifetimeManager};
use crate::connection::FanOutWrites;
use crate::protocol::Protocol;

/// Connections by id. Ids are the server's own random strings, so a fast keyed hash serves
/// (a client cannot choose keys to collide); maps keyed by group and user names, which
/// clients choose, keep std's SipHash.
type Connections = HashMap<Arc<str>, Arc<HubConnection>, rapidhash::fast::RandomState>;

/// The most members kept in a plain list; a larger group is kept in a table.
const LISTED: usize = 16;

/// The connections here of one group or user: never none (the entry goes with its last).
/// A member is found by the address of its connection, which is one allocation for its
/// whole life: finding it hashes no id and reads nothing of the connection, and a short
/// list is searched within the cache lines it fills.
enum Members {
    /// Most have one (a group per user or per document, a user with one tab), kept without
    /// a list: joining and leaving it allocate and free nothing besides its name.
    One(Arc<HubConnection>),
    /// Two to [`LISTED`], in no order.
    Listed(Vec<Arc<HubConnection>>),
    /// More, by address; back to a list at half that.
    Many(HashMap<usize, Arc<HubConnection>, rapidhash::fast::RandomState>),
}

fn address(connection: &Arc<HubConnection>) -> usize {
    Arc::as_ptr(connection) as usize
}

impl Members {
    /// Adds a connection unless it is a member already.
    fn insert(&mut self, connection: Arc<HubConnection>) {
        match self {
            Members::One(one) if Arc::ptr_eq(one, &connection) => {}
            Members::One(one) => *self = Members::Listed(vec![Arc::clone(one), connection]),
            Members::Listed(list) if list.iter().any(|m| Arc::ptr_eq(m, &connection)) => {}
            Members::Listed(list) if list.len() < LISTED => list.push(connection),
            Members::Listed(list) => {
                let mut many = HashMap::with_capacity_and_hasher(2 * LISTED, Default::default());
                many.extend(list.drain(..).chain([connection]).map(|m| (address(&m), m)));
                *self = Members::Many(many);
            }
            Members::Many(many) => {
                many.insert(address(&connection), connection);
            }
        }
    }

    /// Removes a connection; returns whether none is left, for the caller to drop the entry.
    fn remove(&mut self, connection: &Arc<HubConnection>) -> bool {
        match self {
            Members::One(one) => Arc::ptr_eq(one, connection),
            Members::Listed(list) => {
                if let Some(at) = list.iter().position(|m| Arc::ptr_eq(m, connection)) {
                    list.swap_remove(at);
                }
                // Back to one: its list is freed.
                if let [last] = list.as_slice() {
                    *self = Members::One(Arc::clone(last));
                }
                false
            }
            Members::Many(many) => {
                many.remove(&address(connection));
                if many.len() <= LISTED / 2 {
                    *self = Members::Listed(many.drain().map(|(_, m)| m).collect());
                }
                false
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Members::One(_) => 1,
            Members::Listed(list) => list.len(),
            Members::Many(many) => many.len(),
        }
    }
}

/// How many recipients ahead a delivery to many starts loading a connection's state.
const PREFETCH_AHEAD: usize = 4;

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
    connections: RwLock<Connections>,
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
/// fan-out to many is queued as it goes and its writes left to tasks of their own
/// ([`FanOutWrites`]): the sender does not hold its thread for thousands of writes, and
/// deliveries piling up on a connection leave in one.
struct Recipients<'m> {
    message: &'m SerializedMessage,
    few: Vec<Arc<HubConnection>>,
    many: bool,
    writes: FanOutWrites,
}

impl Recipients<'_> {
    fn add_all<'a>(
        &mut self,
        members: impl Iterator<Item = &'a Arc<HubConnection>> + Clone,
        except: &[String],
    ) {
        // Two steps ahead: a connection's line, then (its line arrived) its queue's state.
        let mut far = members.clone().skip(2 * PREFETCH_AHEAD);
        let mut near = members.clone().skip(PREFETCH_AHEAD);
        for connection in members {
            if let Some(ahead) = far.next() {
                ahead.prefetch();
            }
            if let Some(ahead) = near.next() {
                ahead.prefetch_queue();
            }
            if !excluded(connection, except) {
                self.add(connection);
            }
        }
    }

    fn add_members(&mut self, members: &Members, except: &[String]) {
        match members {
            Members::One(one) => self.add_all(std::iter::once(one), except),
            Members::Listed(list) => self.add_all(list.iter(), except),
            Members::Many(many) => self.add_all(many.values(), except),
        }
    }

    fn add(&mut self, connection: &Arc<HubConnection>) {
        if self.many {
            connection.deliver_in_fan_out(self.message, &mut self.writes);
        } else if self.few.len() < DIRECT_FAN_OUT {
            self.few.push(Arc::clone(connection));
        } else {
            self.many = true;
            for kept in self.few.drain(..) {
                kept.deliver_in_fan_out(self.message, &mut self.writes);
            }
            connection.deliver_in_fan_out(self.message, &mut self.writes);
        }
    }

    /// Writes to the few kept, and starts a fan-out's writes; call with no lock held.
    fn write(self) {
        for connection in self.few {
            connection.deliver_serialized(self.message);
        }
    }
}

/// Adds `connection` to `map[key]`; returns whether it is the first there.
fn add_member(
    map: &mut HashMap<Arc<str>, Members>,
    key: Arc<str>,
    connection: Arc<HubConnection>,
) -> bool {
    match map.entry(key) {
        Entry::Occupied(mut members) => {
            members.get_mut().insert(connection);
            false
        }
        Entry::Vacant(entry) => {
            entry.insert(Members::One(connection));
            true
        }
    }
}

/// Removes `connection` from `map[key]`, finding it by one hash of the name; returns the
/// name when that left no member there (the entry is then removed).
fn remove_member(
    map: &mut HashMap<Arc<str>, Members>,
    key: Arc<str>,
    connection: &Arc<HubConnection>,
) -> Option<Arc<str>> {
    let Entry::Occupied(mut members) = map.entry(key) else {
        return None;
    };
    members
        .get_mut()
        .remove(connection)
        .then(|| members.remove_entry().0)
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
        read(&self.users).get(user).map_or(0, Members::len)
    }

    /// The users with a connection here.
    pub fn users(&self) -> Vec<String> {
        read(&self.users).keys().map(|u| u.to_string()).collect()
    }

    /// The ids of the connections here, then the groups and the users that have one here.
    #[cfg(feature = "redis")]
    pub(crate) fn names(&self) -> [Vec<Arc<str>>; 3] {
        fn keys<V, S>(map: &RwLock<HashMap<Arc<str>, V, S>>) -> Vec<Arc<str>> {
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
            first_of_user = add_member(&mut users, Arc::clone(user), Arc::clone(&connection));
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
            let count = groups.len();
            let emptied = &mut departure.emptied_groups;
            let mut all_groups = write(&self.groups);
            for (seen, group) in groups.into_iter().enumerate() {
                if let Some(group) = remove_member(&mut all_groups, group, connection) {
                    // Sized once, for at most the groups still to see.
                    if emptied.capacity() == 0 {
                        emptied.reserve_exact(count - seen);
                    }
                    emptied.push(group);
                }
            }
        }
        if let Some(user) = connection.user() {
            departure.emptied_user =
                remove_member(&mut write(&self.users), Arc::clone(user), connection);
        }
        departure
    }

    /// Queues `message` for every connection here that `target` names.
    pub fn deliver(&self, target: &Target, message: &SerializedMessage) {
        let mut to = Recipients {
            message,
            few: Vec::new(),
            many: false,
            writes: FanOutWrites::default(),
        };
        let in_map = |map: &RwLock<HashMap<Arc<str>, Members>>, key: &str, except, to: &mut _| {
            if let Some(members) = read(map).get(key) {
                Recipients::add_members(to, members, except);
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
        if membership.groups.contains(group) {
            return false;
        }
        let (first, group) = {
            let mut groups = write(&self.groups);
            // Members share the group's name rather than each holding a copy.
            let group: Arc<str> = match groups.get_key_value(group) {
                Some((name, _)) => Arc::clone(name),
                None => group.into(),
            };
            let first = add_member(&mut groups, Arc::clone(&group), Arc::clone(&connection));
            (first, group)
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
        membership.groups.take(group).is_some_and(|group| {
            remove_member(&mut write(&self.groups), group, &connection).is_some()
        })
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
mod tests;
