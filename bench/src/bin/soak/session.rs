//! One soak connection from handshake to close: what it sends, and the checks on everything
//! it receives.
//!
//! Every connection, once its `Echo("hello")` is answered (from then on it must get every
//! broadcast), joins a group, then does one thing every `echo_every / 3` seconds, in turn:
//! echo, a 5-item `Counter` stream, echo, a 5-item upload, echo, a group move (leave, join).
//! Announcers also broadcast and send to groups, numbering each (sender, stream) 1, 2, 3, ...
//!
//! The rules: invocations complete exactly once and in order (one invocation at a time per
//! connection); stream items come 0..n in order; per (announcer, stream) numbers come without
//! gap, repeat or swap. A message whose predecessor was sent after this connection was ready
//! (or its join acknowledged) proves the predecessor lost; a group message sent after the
//! leave was acknowledged is wrong. At the end every announcer sends a last message on every
//! stream, and each connection must have it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::check::{Kind, SeqTrack, Totals};
use crate::link::{Link, Pool};
use crate::plan::{Numbered, Plan, instant_at, now_ns};

mod receive;

/// What the sessions of one worker share.
pub(crate) struct Shared {
    /// The plan.
    pub(crate) plan: Plan,
    /// What they counted.
    pub(crate) totals: RefCell<Totals>,
    /// Keep-alive connections for Long Polling sends.
    pub(crate) pool: Rc<Pool>,
    /// The server's address.
    pub(crate) addr: SocketAddr,
}

/// Items in each `Counter` stream and upload.
const ITEMS: u64 = 5;
/// How long a churned connection waits for its outstanding calls before closing.
const DRAIN: Duration = Duration::from_secs(5);

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Replaced by churn.
    Churned,
    /// The soak is over.
    Finished,
    /// The server ended it, or it broke.
    Failed,
}

/// An invocation awaiting its completion.
enum Call {
    Hello,
    Echo,
    Upload,
    Join(String),
    Leave(String),
}

/// What one connection saw of one (announcer, stream).
#[derive(Default)]
struct Window {
    track: SeqTrack,
    ended: bool,
}

/// The group the connection is in (or joining or leaving).
struct Membership {
    group: String,
    /// When the join was acknowledged.
    joined_ns: Option<u64>,
    leaving: bool,
    windows: HashMap<String, Window>,
}

/// An announcer's numbering of one stream.
#[derive(Default, Clone, Copy)]
struct Numbering {
    seq: u64,
    prev_ns: u64,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: Option<u8>,
    #[serde(rename = "invocationId", borrow)]
    invocation_id: Option<&'a str>,
    #[serde(borrow)]
    target: Option<&'a str>,
    #[serde(borrow, default)]
    arguments: Vec<&'a str>,
    item: Option<u64>,
    result: Option<Value>,
    error: Option<String>,
}

/// One connection's state.
pub(crate) struct Session {
    shared: Rc<Shared>,
    slot: usize,
    link: Link,
    rng: u64,
    next_id: u64,
    pending: VecDeque<(u64, Call, u64)>,
    streams: HashMap<u64, u64>,
    ready_ns: Option<u64>,
    broadcasts: HashMap<String, Window>,
    membership: Option<Membership>,
    /// A group whose join is not acknowledged yet: its messages may already come.
    joining: Option<String>,
    left: HashMap<String, u64>,
    actions: u64,
    numbering: HashMap<String, Numbering>,
    carry: Vec<u8>,
}

impl Session {
    /// A session on an open link.
    pub(crate) fn new(shared: Rc<Shared>, slot: usize, link: Link, seed: u64) -> Self {
        Self {
            shared,
            slot,
            link,
            rng: seed | 1,
            next_id: 0,
            pending: VecDeque::new(),
            streams: HashMap::new(),
            ready_ns: None,
            broadcasts: HashMap::new(),
            membership: None,
            joining: None,
            left: HashMap::new(),
            actions: 0,
            numbering: HashMap::new(),
            carry: Vec::new(),
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        // xorshift64: plenty for spreading load.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below.max(1)
    }

    /// Runs until churned, finished or failed.
    pub(crate) async fn run(mut self, churn: &Notify) -> Ending {
        let plan = self.shared.plan.clone();
        let announcer = plan.is_announcer(self.slot);
        let every = Duration::from_secs_f64(plan.echo_every_secs / 3.0);
        let jitter = self.random(every.as_millis() as u64 + 1);
        let mut next_action = Instant::now() + Duration::from_millis(jitter);
        let workers = plan.workers as f64;
        let broadcast_every = Duration::from_secs_f64(workers / plan.broadcasts_per_sec);
        let group_every = Duration::from_secs_f64(workers / plan.group_sends_per_sec);
        let mut next_broadcast = Instant::now() + broadcast_every;
        let mut next_group = Instant::now() + group_every;
        let (stop, final_at, check) = (
            instant_at(plan.stop_ns),
            instant_at(plan.final_ns),
            instant_at(plan.check_ns),
        );
        let far = check + Duration::from_secs(3600);
        let mut draining: Option<Instant> = None;
        let mut finals_sent = false;
        let mut buf = Vec::new();
        let hello = self.call(Call::Hello, "Echo", json!(["hello"])).await;
        if hello.is_err() || self.move_group().await.is_err() {
            return self.failed();
        }
        loop {
            let now = Instant::now();
            if let Some(deadline) = draining
                && ((self.pending.is_empty() && self.streams.is_empty()) || now >= deadline)
            {
                self.count_outstanding();
                self.link.close().await;
                return Ending::Churned;
            }
            if now >= check {
                self.final_check(plan.final_ns);
                self.link.close().await;
                return Ending::Finished;
            }
            let active = now < stop && draining.is_none();
            let announcing = announcer && now < stop;
            let wake = [
                if active { next_action } else { far },
                if announcing { next_broadcast } else { far },
                if announcing { next_group } else { far },
                if announcer && !finals_sent {
                    final_at
                } else {
                    far
                },
                draining.unwrap_or(far),
                check,
            ]
            .into_iter()
            .min()
            .unwrap_or(check);
            let sent = tokio::select! {
                read = self.link.recv(&mut buf) => match read {
                    Ok(true) => { self.take(&mut buf); Ok(()) }
                    Ok(false) | Err(_) => return self.failed(),
                },
                () = churn.notified(), if !announcer && active => {
                    draining = Some(Instant::now() + DRAIN);
                    Ok(())
                }
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if active && now >= next_action {
                        next_action += every;
                        self.act().await
                    } else if announcing && now >= next_broadcast {
                        next_broadcast += broadcast_every;
                        self.announce("b", false).await
                    } else if announcing && now >= next_group {
                        next_group += group_every;
                        let group = format!("g{}", self.random(plan.groups as u64));
                        self.announce(&group, false).await
                    } else if announcer && !finals_sent && now >= final_at {
                        finals_sent = true;
                        self.send_finals().await
                    } else {
                        Ok(())
                    }
                }
            };
            if sent.is_err() {
                return self.failed();
            }
        }
    }

    fn failed(self) -> Ending {
        self.shared.totals.borrow_mut().server_closes += 1;
        Ending::Failed
    }

    async fn send(&mut self, message: Value) -> std::io::Result<()> {
        let mut record = serde_json::to_vec(&message).unwrap_or_default();
        record.push(0x1e);
        self.link.send(&record).await
    }

    async fn call(&mut self, call: Call, target: &str, arguments: Value) -> std::io::Result<()> {
        self.next_id += 1;
        let id = self.next_id;
        let kind = match call {
            Call::Hello | Call::Echo => Kind::Echo,
            Call::Upload => Kind::Upload,
            Call::Join(_) | Call::Leave(_) => Kind::Membership,
        };
        self.shared.totals.borrow_mut().tally(kind).sent += 1;
        self.pending.push_back((id, call, now_ns()));
        let invocation = json!({"type": 1, "invocationId": id.to_string(), "target": target,
            "arguments": arguments});
        self.send(invocation).await
    }

    /// The next of echo, stream, echo, upload, echo, group move.
    async fn act(&mut self) -> std::io::Result<()> {
        self.actions += 1;
        let turn = self.actions % 6;
        let name = match turn {
            1 => "stream",
            3 => "upload",
            5 => "move",
            _ => "echo",
        };
        if self.shared.plan.skip.iter().any(|s| s == name) {
            return Ok(());
        }
        match turn {
            1 => {
                self.next_id += 1;
                let id = self.next_id;
                self.streams.insert(id, 0);
                self.shared.totals.borrow_mut().tally(Kind::Stream).sent += ITEMS;
                self.send(
                    json!({"type": 4, "invocationId": id.to_string(), "target": "Counter",
                    "arguments": [ITEMS, 20]}),
                )
                .await
            }
            3 => {
                let stream_id = format!("u{}", self.next_id + 1);
                self.next_id += 1;
                let id = self.next_id;
                self.shared.totals.borrow_mut().tally(Kind::Upload).sent += 1;
                self.pending.push_back((id, Call::Upload, now_ns()));
                self.send(
                    json!({"type": 1, "invocationId": id.to_string(), "target": "Upload",
                    "arguments": [], "streamIds": [stream_id]}),
                )
                .await?;
                for item in 0..ITEMS {
                    self.send(json!({"type": 2, "invocationId": stream_id, "item": item}))
                        .await?;
                }
                self.send(json!({"type": 3, "invocationId": stream_id}))
                    .await
            }
            5 => self.move_group().await,
            _ => {
                let text = format!("e{}", self.next_id + 1);
                self.call(Call::Echo, "Echo", json!([text])).await
            }
        }
    }

    async fn move_group(&mut self) -> std::io::Result<()> {
        if let Some(current) = self.membership.as_mut().filter(|m| m.joined_ns.is_some()) {
            current.leaving = true;
            let group = current.group.clone();
            self.call(Call::Leave(group.clone()), "Leave", json!([group]))
                .await?;
        } else if self.membership.is_some() || self.joining.is_some() {
            return Ok(()); // still joining or leaving
        }
        let group = format!("g{}", self.random(self.shared.plan.groups as u64));
        self.joining = Some(group.clone());
        self.call(Call::Join(group.clone()), "Join", json!([group]))
            .await
    }

    async fn announce(&mut self, stream: &str, last: bool) -> std::io::Result<()> {
        let numbering = self.numbering.entry(stream.to_string()).or_default();
        let sent_ns = now_ns();
        let message = Numbered {
            sender: &format!("a{}", self.slot),
            stream,
            seq: numbering.seq + 1,
            sent_ns,
            prev_ns: numbering.prev_ns,
            last,
        }
        .encode();
        *numbering = Numbering {
            seq: numbering.seq + 1,
            prev_ns: sent_ns,
        };
        let (kind, invocation) = if stream == "b" {
            (
                Kind::Broadcast,
                json!({"type": 1, "target": "Broadcast", "arguments": [message]}),
            )
        } else {
            let args = json!([stream, message]);
            (
                Kind::Group,
                json!({"type": 1, "target": "SendToGroup", "arguments": args}),
            )
        };
        self.shared.totals.borrow_mut().tally(kind).sent += 1;
        self.send(invocation).await
    }

    async fn send_finals(&mut self) -> std::io::Result<()> {
        self.announce("b", true).await?;
        for g in 0..self.shared.plan.groups {
            self.announce(&format!("g{g}"), true).await?;
        }
        Ok(())
    }
}
