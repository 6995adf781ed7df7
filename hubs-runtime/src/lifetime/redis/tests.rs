//! The manager across nodes in one process: several managers on an in-memory stand-in for
//! Redis (a [`Driver`] that routes publications to subscribers and can be taken down). The
//! real Redis is exercised by the interop suite (`interop/test/redis.test.mjs`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::driver::{Driver, DriverError, Inbound};
use super::*;
use crate::connection::{Outgoing, QueueLimits, QueueReceiver, SendQueue};
use crate::protocol::Protocol;

/// The stand-in for Redis.
#[derive(Default)]
struct Bus {
    drivers: Mutex<Vec<Weak<StubDriver>>>,
    down: AtomicBool,
    published: AtomicUsize,
    /// Round trips: calls of `publish_all`.
    round_trips: AtomicUsize,
    /// Keys with their values and expiry.
    keys: Mutex<HashMap<String, (String, tokio::time::Instant)>>,
}

struct StubDriver {
    bus: Arc<Bus>,
    subscribed: Mutex<HashSet<String>>,
    inbound: mpsc::UnboundedSender<Inbound>,
}

impl Bus {
    fn drivers(&self) -> Vec<Arc<StubDriver>> {
        self.drivers
            .lock()
            .unwrap()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        for driver in self.drivers() {
            let event = if down {
                Inbound::Disconnected
            } else {
                Inbound::Connected
            };
            let _ = driver.inbound.send(event);
        }
    }

    /// Hands `payload` to every subscriber of `channel`; returns how many there were.
    fn publish(&self, channel: &str, payload: &Bytes) -> u64 {
        self.published.fetch_add(1, Ordering::SeqCst);
        let mut receivers = 0;
        for driver in self.drivers() {
            if driver.subscribed.lock().unwrap().contains(channel) {
                receivers += 1;
                let message = Inbound::Message {
                    channel: channel.to_owned(),
                    payload: payload.clone(),
                };
                let _ = driver.inbound.send(message);
            }
        }
        receivers
    }

    fn check(&self) -> Result<(), DriverError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(DriverError::NotConnected),
            false => Ok(()),
        }
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl Driver for StubDriver {
    fn publish_all<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a Bytes)],
    ) -> BoxFuture<'a, Result<Vec<u64>, DriverError>> {
        if let Err(e) = self.bus.check() {
            return ready(Err(e));
        }
        self.bus.round_trips.fetch_add(1, Ordering::SeqCst);
        let counts = messages
            .iter()
            .map(|(channel, payload)| self.bus.publish(channel, payload))
            .collect();
        ready(Ok(counts))
    }

    fn connected(&self) -> bool {
        self.bus.check().is_ok()
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        self.subscribed.lock().unwrap().insert(channel.to_owned());
        ready(self.bus.check())
    }

    fn unsubscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        self.subscribed.lock().unwrap().remove(channel);
        ready(self.bus.check())
    }

    fn subscribers<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<u64, DriverError>> {
        let count = self
            .bus
            .drivers()
            .iter()
            .filter(|d| d.subscribed.lock().unwrap().contains(channel))
            .count();
        ready(self.bus.check().map(|()| count as u64))
    }

    fn set_expiring<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        let expires = tokio::time::Instant::now() + ttl;
        let entry = (value.to_owned(), expires);
        self.bus.keys.lock().unwrap().insert(key.to_owned(), entry);
        ready(self.bus.check())
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        self.bus.keys.lock().unwrap().remove(key);
        ready(self.bus.check())
    }

    fn entries_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, DriverError>> {
        let now = tokio::time::Instant::now();
        let entries = self
            .bus
            .keys
            .lock()
            .unwrap()
            .iter()
            .filter(|(key, (_, expires))| key.starts_with(prefix) && *expires > now)
            .map(|(key, (value, _))| (key.clone(), value.clone()))
            .collect();
        ready(self.bus.check().map(|()| entries))
    }
}

/// A node of hub `Chat` on `bus`.
fn node(bus: &Arc<Bus>, ack_timeout: Duration) -> RedisLifetimeManager {
    let options = RedisOptions::new("redis://127.0.0.1:1").ack_timeout(ack_timeout);
    let manager = RedisLifetimeManager::new(options).unwrap();
    let hub = HubInfo::new("tests::Chat", ProtocolSet::all());
    manager
        .start(&hub, |inbound, _wanted| {
            let driver = Arc::new(StubDriver {
                bus: Arc::clone(bus),
                subscribed: Mutex::default(),
                inbound,
            });
            bus.drivers.lock().unwrap().push(Arc::downgrade(&driver));
            Ok(driver as Arc<dyn Driver>)
        })
        .unwrap();
    manager
}

fn connection(
    id: &str,
    user: Option<&str>,
    protocol: Protocol,
) -> (Arc<HubConnection>, QueueReceiver) {
    let (tx, rx) = SendQueue::new(QueueLimits {
        buffer: 1 << 20,
        max_buffer: 1 << 20,
        drain_timeout: Duration::from_secs(3600),
    });
    let c = HubConnection::new(
        id.into(),
        protocol,
        user.map(Into::into),
        tx,
        CancellationToken::new(),
    );
    (Arc::new(c), rx)
}

/// The first argument of every Invocation queued for a JSON connection within a short wait.
async fn texts(rx: &mut QueueReceiver) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut out = Vec::new();
    while let Ok(Outgoing::Frame(frame)) = rx.try_recv() {
        let v: serde_json::Value = serde_json::from_slice(&frame[..frame.len() - 1]).unwrap();
        out.push(v["arguments"][0].as_str().unwrap().to_owned());
    }
    out
}

async fn send(m: &RedisLifetimeManager, target: Target, text: &str) -> Result<(), SendError> {
    let message = SerializedMessage::invocation(m.protocols_for(&target), "M", &(text,)).unwrap();
    m.send(&target, &message).await
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_target_reaches_every_node_exactly_once() {
    let bus = Arc::new(Bus::default());
    let nodes: Vec<_> = (0..3).map(|_| node(&bus, Duration::from_secs(5))).collect();
    let (a, mut ra) = connection("a", Some("u"), Protocol::Json);
    let (b, mut rb) = connection("b", Some("u"), Protocol::Json);
    let (c, mut rc) = connection("c", None, Protocol::Json);
    nodes[0].on_connected(Arc::clone(&a)).await;
    nodes[1].on_connected(Arc::clone(&b)).await;
    nodes[2].on_connected(Arc::clone(&c)).await;
    // Group changes from any node, for connections of any node.
    nodes[0].add_to_group("a", "g").await.unwrap();
    nodes[0].add_to_group("c", "g").await.unwrap();
    nodes[2].add_to_group("b", "h").await.unwrap();

    let from = &nodes[0];
    let published_before = bus.published.load(Ordering::SeqCst);
    send(from, Target::All, "all").await.unwrap();
    // A send waits only for its place in the node's publication queue.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        bus.published.load(Ordering::SeqCst) - published_before,
        1,
        "published once"
    );
    send(from, Target::AllExcept(ids(&["b"])), "all-but-b")
        .await
        .unwrap();
    send(from, Target::Connection("c".into()), "to-c")
        .await
        .unwrap();
    send(from, Target::Connections(ids(&["a", "b"])), "to-ab")
        .await
        .unwrap();
    send(from, Target::Group("g".into()), "g").await.unwrap();
    send(from, Target::Groups(ids(&["g", "h"])), "gh")
        .await
        .unwrap();
    send(
        from,
        Target::GroupExcept("g".into(), ids(&["a"])),
        "g-but-a",
    )
    .await
    .unwrap();
    send(from, Target::User("u".into()), "u").await.unwrap();
    send(from, Target::Users(ids(&["u", "nobody"])), "users")
        .await
        .unwrap();

    assert_eq!(
        texts(&mut ra).await,
        ["all", "all-but-b", "to-ab", "g", "gh", "u", "users"]
    );
    assert_eq!(texts(&mut rb).await, ["all", "to-ab", "gh", "u", "users"]);
    assert_eq!(
        texts(&mut rc).await,
        ["all", "all-but-b", "to-c", "g", "gh", "g-but-a"]
    );

    // A group's channel is subscribed only where it has members.
    let group_channel = nodes[1].node().unwrap().channels.group("g");
    let subscribed = |i: usize| {
        bus.drivers()[i]
            .subscribed
            .lock()
            .unwrap()
            .contains(&group_channel)
    };
    assert!(subscribed(0) && !subscribed(1) && subscribed(2));
    nodes[1].remove_from_group("c", "g").await.unwrap();
    assert!(!subscribed(2), "unsubscribed when the last member left");
    nodes[0].on_disconnected(&a).await;
    assert!(!subscribed(0));
    send(&nodes[1], Target::Group("g".into()), "nobody")
        .await
        .unwrap();
    assert!(texts(&mut rc).await.is_empty());
}

#[tokio::test]
async fn sends_made_together_leave_together_in_order() {
    let bus = Arc::new(Bus::default());
    let nodes: Vec<_> = (0..2).map(|_| node(&bus, Duration::from_secs(5))).collect();
    let (b, mut rb) = connection("b", None, Protocol::Json);
    nodes[1].on_connected(Arc::clone(&b)).await;
    let round_trips = bus.round_trips.load(Ordering::SeqCst);
    let sent: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    for text in &sent {
        send(&nodes[0], Target::All, text).await.unwrap();
    }
    assert_eq!(texts(&mut rb).await, sent, "in order, each once");
    assert_eq!(
        bus.round_trips.load(Ordering::SeqCst) - round_trips,
        1,
        "queued together, published in one round trip"
    );
}

#[tokio::test]
async fn group_changes_for_connections_nowhere_time_out() {
    let bus = Arc::new(Bus::default());
    let nodes: Vec<_> = (0..2)
        .map(|_| node(&bus, Duration::from_millis(100)))
        .collect();
    let error = nodes[0].add_to_group("ghost", "g").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no server acknowledged adding connection 'ghost'")
    );
    assert_eq!(nodes[0].node().unwrap().acks.len(), 0);
}

/// Plays the client of `connection`: answers the next Invocation it was sent with `answer`
/// through `manager` (the connection's node), as the read loop does.
async fn answer_next(
    manager: &RedisLifetimeManager,
    connection: &Arc<HubConnection>,
    rx: &mut QueueReceiver,
    answer: &str,
) {
    let Some(Outgoing::Frame(frame)) = rx.recv().await else {
        panic!("an invocation arrives")
    };
    let v: serde_json::Value = serde_json::from_slice(&frame[..frame.len() - 1]).unwrap();
    let id = v["invocationId"].as_str().unwrap();
    assert_eq!(id.len(), 22);
    let raw = Bytes::from(serde_json::to_vec(answer).unwrap());
    assert!(manager.complete_client_result(
        connection,
        id,
        Ok(ClientResult::new(Protocol::Json, raw))
    ));
}

#[tokio::test]
async fn client_results_cross_nodes_and_fail_clearly() {
    let bus = Arc::new(Bus::default());
    let nodes: Vec<_> = (0..2).map(|_| node(&bus, Duration::from_secs(5))).collect();
    let (b, mut rb) = connection("b", None, Protocol::Json);
    nodes[1].on_connected(Arc::clone(&b)).await;
    let encode = |id: &str, p: Protocol| p.write_invocation(Some(id), "Ask", &["q"]);

    let (answer, ()) = tokio::join!(
        nodes[0].invoke_client("b", &encode),
        answer_next(&nodes[1], &b, &mut rb, "yes"),
    );
    assert_eq!(answer.unwrap().decode::<String>().unwrap(), "yes");

    let missing = nodes[0].invoke_client("nobody", &encode).await.unwrap_err();
    assert_eq!(missing.to_string(), "Connection 'nobody' does not exist.");

    // The connection leaves before answering: the asking node hears so from its node.
    let asking = nodes[0].invoke_client("b", &encode);
    let leaving = async {
        let _ = rb.recv().await;
        nodes[1].on_disconnected(&b).await;
    };
    let (answer, ()) = tokio::join!(asking, leaving);
    assert_eq!(answer.unwrap_err().to_string(), "Connection disconnected.");
}

#[tokio::test]
async fn a_node_gone_mid_call_fails_the_wait() {
    let bus = Arc::new(Bus::default());
    let asking = node(&bus, Duration::from_secs(5));
    let holding = node(&bus, Duration::from_secs(5));
    let (b, mut rb) = connection("b", None, Protocol::Json);
    holding.on_connected(Arc::clone(&b)).await;
    let encode = |id: &str, p: Protocol| p.write_invocation(Some(id), "Ask", &["q"]);
    let call = asking.invoke_client("b", &encode);
    let crash = async {
        let _ = rb.recv().await;
        drop(holding); // its subscriptions go with it, as when the process dies
    };
    let (answer, ()) = tokio::join!(call, crash);
    assert_eq!(
        answer.unwrap_err().to_string(),
        "Connection 'b' disconnected."
    );
}

#[tokio::test]
async fn while_redis_is_down_local_delivery_goes_on_and_changes_are_kept() {
    let bus = Arc::new(Bus::default());
    let nodes: Vec<_> = (0..2).map(|_| node(&bus, Duration::from_secs(5))).collect();
    let (a, mut ra) = connection("a", None, Protocol::Json);
    let (b, mut rb) = connection("b", None, Protocol::Json);
    nodes[0].on_connected(Arc::clone(&a)).await;
    nodes[1].on_connected(Arc::clone(&b)).await;

    bus.set_down(true);
    let error = send(&nodes[0], Target::All, "down").await.unwrap_err();
    assert!(matches!(error, SendError::Backplane(_)), "{error}");
    nodes[1].add_to_group("b", "g").await.unwrap();
    assert!(
        nodes[0].add_to_group("b", "g2").await.is_err(),
        "remote changes need Redis"
    );
    assert_eq!(texts(&mut ra).await, ["down"], "local delivery goes on");
    assert!(texts(&mut rb).await.is_empty());

    bus.set_down(false);
    send(&nodes[0], Target::Group("g".into()), "back")
        .await
        .unwrap();
    assert_eq!(
        texts(&mut rb).await,
        ["back"],
        "the group made while down works"
    );
}

#[tokio::test]
async fn nodes_of_other_hubs_and_own_publications_are_ignored() {
    let bus = Arc::new(Bus::default());
    let one = node(&bus, Duration::from_secs(5));
    let (a, mut ra) = connection("a", None, Protocol::MessagePack);
    one.on_connected(Arc::clone(&a)).await;
    // A local connection's own protocol is all a send to it needs.
    assert_eq!(
        one.protocols_for(&Target::Connection("a".into())),
        ProtocolSet::of([Protocol::MessagePack])
    );
    assert_eq!(one.protocols(), ProtocolSet::all());
    let message = SerializedMessage::invocation(ProtocolSet::all(), "M", &("x",)).unwrap();
    one.send(&Target::All, &message).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(ra.try_recv(), Ok(Outgoing::Frame(_))));
    assert!(
        ra.try_recv().is_err(),
        "its own publication is not delivered again"
    );
}

#[tokio::test]
async fn presence_is_cluster_wide_and_a_crashed_node_expires() {
    let bus = Arc::new(Bus::default());
    let a = node(&bus, Duration::from_secs(5));
    let b = node(&bus, Duration::from_secs(5));
    let (x, _rx) = connection("x", Some("ann:1"), Protocol::Json);
    let (y, _ry) = connection("y", Some("ann:1"), Protocol::Json);
    let (z, _rz) = connection("z", Some("bob"), Protocol::Json);
    a.on_connected(Arc::clone(&x)).await;
    b.on_connected(Arc::clone(&y)).await;
    b.on_connected(Arc::clone(&z)).await;
    assert_eq!(a.user_connection_count("ann:1").await.unwrap(), 2);
    assert_eq!(a.user_connection_count("ann").await.unwrap(), 0);
    let mut users = b.online_users().await.unwrap();
    users.sort();
    assert_eq!(users, ["ann:1", "bob"]);
    b.on_disconnected(&z).await;
    assert_eq!(a.user_connection_count("bob").await.unwrap(), 0);
    // A node that stops refreshing (a crash) stops counting once its keys expire.
    let expiry = RedisOptions::new("redis://x").presence_expiry;
    drop(b);
    tokio::time::pause();
    for _ in 0..4 {
        tokio::time::advance(expiry / 3).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(
        a.user_connection_count("ann:1").await.unwrap(),
        1,
        "only a's connection"
    );
    bus.set_down(true);
    assert!(a.online_users().await.is_err(), "presence needs Redis");
}
