//! The in-memory manager's registry and deliveries.

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
            let v: serde_json::Value = serde_json::from_str(f.trim_end_matches('\x1e')).unwrap();
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

/// A group or user goes from one member (kept without a table) to several and back; each
/// step reaches exactly its members and reports first and last correctly.
#[tokio::test]
async fn groups_and_users_grow_from_one_member_and_shrink_back() {
    let m = InMemoryLifetimeManager::new();
    let (a, mut ra) = connection("a", Some("u"), 64 * 1024);
    let (b, mut rb) = connection("b", Some("u"), 64 * 1024);
    let (c, mut rc) = connection("c", Some("u"), 64 * 1024);
    assert!(m.connect(Arc::clone(&a)));
    assert!(m.add("a", "g"));
    send(&m, Target::Group("g".into()), "one").await;
    assert_eq!(texts(received(&mut ra)), ["one"]);

    assert!(!m.connect(Arc::clone(&b)) && !m.connect(Arc::clone(&c)));
    assert_eq!(m.user_connection_count("u"), 3);
    assert!(!m.add("b", "g") && !m.add("c", "g"));
    send(&m, Target::Group("g".into()), "three").await;
    for rx in [&mut ra, &mut rb, &mut rc] {
        assert_eq!(texts(received(rx)), ["three"]);
    }

    // Down to one: only the one left hears, and its leaving empties the group.
    assert!(!m.remove("a", "g"));
    let departure = m.disconnect(&b);
    assert!(departure.emptied_groups.is_empty() && departure.emptied_user.is_none());
    assert_eq!(m.user_connection_count("u"), 2);
    send(&m, Target::Group("g".into()), "last").await;
    send(&m, Target::User("u".into()), "user").await;
    assert_eq!(texts(received(&mut rc)), ["last", "user"]);
    assert_eq!(texts(received(&mut ra)), ["user"]);
    assert!(received(&mut rb).is_empty());
    assert!(!m.remove("nobody", "g") && !m.remove("a", "g"));
    assert!(m.remove("c", "g"), "c was g's last member");
    assert!(!m.has_group("g"));

    // A group that a departure empties is reported once, with the user's last connection.
    assert!(m.add("c", "h"));
    assert_eq!(m.disconnect(&a).emptied_user, None);
    let departure = m.disconnect(&c);
    assert_eq!(departure.emptied_groups, [Arc::from("h")]);
    assert_eq!(departure.emptied_user.as_deref(), Some("u"));
    assert!(!m.has_user("u") && m.group_count() == 0 && m.connection_count() == 0);
}

/// A group grows past the members kept in a list into a table and shrinks back through a
/// list to one; at every size a send reaches each member once, and joining twice adds
/// nothing.
#[tokio::test]
async fn a_group_outgrowing_its_list_still_reaches_each_member_once() {
    let m = InMemoryLifetimeManager::new();
    let mut members: Vec<_> = (0..3 * LISTED)
        .map(|i| connection(&format!("c{i}"), None, 64 * 1024))
        .collect();
    for (c, _) in &members {
        m.connect(Arc::clone(c));
    }
    let reached = |members: &mut Vec<(Arc<HubConnection>, QueueReceiver)>| {
        members
            .iter_mut()
            .map(|(_, rx)| texts(received(rx)).len())
            .collect::<Vec<_>>()
    };
    for size in [1, 2, LISTED, LISTED + 1, 3 * LISTED] {
        for (c, _) in &members[..size] {
            m.add(c.id(), "g");
            assert!(!m.add(c.id(), "g"), "a second join adds nothing");
        }
        send(&m, Target::Group("g".into()), "hi").await;
        let mut expected = vec![1; size];
        expected.resize(3 * LISTED, 0);
        assert_eq!(reached(&mut members), expected, "{size} members");
    }
    // Leaving, by removal and by disconnecting, down to one and then none.
    for left in [2 * LISTED, LISTED / 2, 2, 1] {
        for (i, (c, _)) in members.iter().enumerate().skip(left) {
            match i % 2 {
                0 => _ = m.remove(c.id(), "g"),
                _ => _ = m.disconnect(c),
            }
        }
        send(&m, Target::Group("g".into()), "hi").await;
        let mut expected = vec![1; left];
        expected.resize(3 * LISTED, 0);
        assert_eq!(reached(&mut members), expected, "{left} left");
    }
    assert!(m.remove("c0", "g"), "the last member empties the group");
    assert!(!m.has_group("g"));
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
    let abandoned = tokio::time::timeout(std::time::Duration::from_millis(10), a.invoke(&encode));
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
    let (Ok(Outgoing::Frame(x)), Ok(Outgoing::Frame(y))) = (ra.try_recv(), rb.try_recv()) else {
        panic!("both receive")
    };
    assert_eq!(x.as_ptr(), y.as_ptr(), "recipients share one buffer");
}

#[test]
fn members_of_a_group_share_its_name() {
    let m = InMemoryLifetimeManager::new();
    let (a, _ra) = connection("a", None, 1024);
    let (b, _rb) = connection("b", None, 1024);
    m.connect(Arc::clone(&a));
    m.connect(Arc::clone(&b));
    assert!(m.add("a", "room"));
    assert!(!m.add("b", "room"));
    let name = |c: &HubConnection| c.membership().groups.iter().next().cloned().unwrap();
    assert!(
        Arc::ptr_eq(&name(&a), &name(&b)),
        "one allocation per group name"
    );
    // The name outlives the member that brought it.
    m.disconnect(&a);
    assert_eq!(&*name(&b), "room");
    assert!(m.remove("b", "room"));
    assert_eq!(m.group_count(), 0);
}

/// Frames written elsewhere are checked on their way in (the socket trusts what the hub
/// queues): a JSON connection is not sent bytes that are not UTF-8, by any of the ways in.
#[tokio::test]
async fn a_json_connection_is_not_sent_a_frame_that_is_not_utf8() {
    let (c, mut rc) = connection("c", None, 64 * 1024);
    let not_utf8 = Bytes::from_static(b"{\"type\":6,\"x\":\"\xc3\"}\x1e");
    assert!(!c.deliver(not_utf8.clone()));
    assert!(!c.deliver_control(not_utf8.clone()));
    assert!(!c.deliver_paced(not_utf8.clone()).await);
    assert!(matches!(
        rc.try_recv(),
        Err(crate::connection::TryRecvError::Empty)
    ));
    // The connection carries on.
    assert!(c.deliver(Bytes::from_static(
        "{\"type\":6,\"x\":\"é\"}\x1e".as_bytes()
    )));
    assert_eq!(received(&mut rc).len(), 1);

    // A MessagePack connection takes any bytes.
    let (tx, mut rx) = SendQueue::new(QueueLimits {
        buffer: 1024,
        max_buffer: 1024,
        drain_timeout: std::time::Duration::from_secs(3600),
    });
    let binary = HubConnection::new(
        "m".into(),
        Protocol::MessagePack,
        None,
        tx,
        CancellationToken::new(),
    );
    assert!(binary.deliver(Bytes::from_static(b"\x02\xc3\xff")));
    assert!(matches!(rx.try_recv(), Ok(Outgoing::Frame(_))));
}
