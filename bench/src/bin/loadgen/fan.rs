//! Fan-out: one sender, many receivers (broadcast, groups), and one slow consumer.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bench::args::Args;
use bench::client::{self, Conn, Endpoint};
use bench::procfs;
use bench::wire::{Template, for_each_stamp, stamped_payload};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::spawn_local;
use tokio::time::sleep;

use crate::{Common, Phase, Window, failed, histogram, now_ns, per_unit, summary};

struct Fan {
    phase: Cell<Phase>,
    /// Messages in flight: their stamp and how many copies are still to arrive.
    slots: RefCell<Vec<(u64, u32)>>,
    track: bool,
    delivery: RefCell<Histogram<u64>>,
    last: RefCell<Histogram<u64>>,
    deliveries: Cell<u64>,
    completed: Cell<u64>,
    stale: Cell<u64>,
    closed: Cell<u64>,
    /// Messages the sender wrote, warm-up included (the suite divides Redis's PUBLISH count by it).
    sent: Cell<u64>,
    room: Notify,
}

impl Fan {
    fn new(track: bool) -> Self {
        Self {
            phase: Cell::new(Phase::Warmup),
            slots: RefCell::new(Vec::new()),
            track,
            delivery: RefCell::new(histogram()),
            last: RefCell::new(histogram()),
            deliveries: Cell::new(0),
            completed: Cell::new(0),
            stale: Cell::new(0),
            closed: Cell::new(0),
            sent: Cell::new(0),
            room: Notify::new(),
        }
    }

    /// Counts every copy `conn` read.
    fn take(&self, conn: &mut Conn) -> io::Result<()> {
        let now = now_ns();
        let measuring = self.phase.get() == Phase::Measure;
        let mut delivery = self.delivery.borrow_mut();
        let mut slots = self.slots.borrow_mut();
        let mut count = 0;
        conn.frames(|frame| {
            for_each_stamp(frame.payload, |stamp| {
                count += 1;
                let latency = now.saturating_sub(stamp).max(1);
                if measuring {
                    delivery.saturating_record(latency);
                }
                if !self.track {
                    return;
                }
                if let Some(i) = slots.iter().position(|s| s.0 == stamp) {
                    slots[i].1 -= 1;
                    if slots[i].1 == 0 {
                        slots.swap_remove(i);
                        if measuring {
                            self.last.borrow_mut().saturating_record(latency);
                            self.completed.set(self.completed.get() + 1);
                        }
                        self.room.notify_one();
                    }
                }
            })
        })?;
        if measuring {
            self.deliveries.set(self.deliveries.get() + count);
        }
        Ok(())
    }

    fn close(&self) {
        self.closed.set(self.closed.get() + 1);
    }
}

async fn receive(mut conn: Conn, fan: Rc<Fan>) {
    loop {
        if !matches!(conn.read().await, Ok(n) if n > 0)
            || fan.take(&mut conn).is_err()
            || conn.closed
        {
            return fan.close();
        }
        if conn.flush().await.is_err() {
            return fan.close();
        }
        if fan.phase.get() == Phase::Done {
            return;
        }
    }
}

/// How a sender paces itself.
#[derive(Clone, Copy)]
enum Pace {
    /// Keep `window` messages in flight, each expecting `expected` copies.
    Window { window: usize, expected: u32 },
    /// A fixed rate.
    Rate(Duration),
}

/// How long a message may go without all its copies before it stops holding the window.
const STALE_NS: u64 = 10_000_000_000;

/// Sends what is due (all of it in one write), then waits for room, the next tick or replies;
/// every 200 ms, drops messages that went stale.
async fn send_fan(mut conn: Conn, mut frames: Vec<Template>, pace: Pace, fan: Rc<Fan>) {
    let mut turn = 0usize;
    let mut next = tokio::time::Instant::now();
    let sweep_every = Duration::from_millis(200);
    // One timer for the whole run, reset after each sweep, rather than one per message.
    let sweep = sleep(sweep_every);
    tokio::pin!(sweep);
    loop {
        if fan.phase.get() == Phase::Done {
            return;
        }
        let due = match pace {
            Pace::Window { window, .. } => window.saturating_sub(fan.slots.borrow().len()),
            Pace::Rate(interval) => {
                let now = tokio::time::Instant::now();
                let mut due = 0;
                while next <= now {
                    next += interval;
                    due += 1;
                }
                due
            }
        };
        for _ in 0..due {
            let stamp = now_ns();
            if let Pace::Window { expected, .. } = pace {
                fan.slots.borrow_mut().push((stamp, expected));
            }
            let index = turn % frames.len();
            turn += 1;
            conn.queue(frames[index].stamp(stamp));
        }
        fan.sent.set(fan.sent.get() + due as u64);
        if conn.flush().await.is_err() {
            return fan.close();
        }
        tokio::select! {
            _ = fan.room.notified(), if matches!(pace, Pace::Window { .. }) => {}
            _ = tokio::time::sleep_until(next), if matches!(pace, Pace::Rate(_)) => {}
            read = conn.read() => {
                if !matches!(read, Ok(n) if n > 0) || fan.take(&mut conn).is_err() || conn.closed {
                    return fan.close();
                }
            }
            () = &mut sweep => {
                sweep.as_mut().reset(tokio::time::Instant::now() + sweep_every);
                let now = now_ns();
                let mut slots = fan.slots.borrow_mut();
                let before = slots.len();
                slots.retain(|s| now.saturating_sub(s.0) < STALE_NS);
                let gone = (before - slots.len()) as u64;
                if gone > 0 {
                    fan.stale.set(fan.stale.get() + gone);
                }
            }
        }
    }
}

/// Connects `conns` receivers (joining their groups) and a sender; returns the sender. With a
/// second endpoint, every other receiver connects there (the sender stays on the first).
async fn fan_setup(
    common: &Common,
    conns: usize,
    group_size: usize,
    second: Option<&Endpoint>,
    fan: &Rc<Fan>,
) -> io::Result<Conn> {
    let flavor = common.endpoint.flavor;
    let receivers: Vec<Conn> = stream::iter(0..conns)
        .map(|i| async move {
            let endpoint = match second {
                Some(second) if i % 2 == 1 => second,
                _ => &common.endpoint,
            };
            let mut conn = client::connect(endpoint, None).await?;
            if let Some(group) = i.checked_div(group_size) {
                conn.call(&flavor.join_frame(&format!("g{group}"))).await?;
            }
            Ok::<_, io::Error>(conn)
        })
        .buffer_unordered(common.concurrency.max(1))
        .try_collect()
        .await?;
    for conn in receivers {
        spawn_local(receive(conn, Rc::clone(fan)));
    }
    client::connect(&common.endpoint, None).await
}

pub(crate) async fn fanout(common: &Common, args: &Args) -> io::Result<Value> {
    let flavor = common.endpoint.flavor;
    let conns: usize = args.get("conns", 1000);
    let size: usize = args.get("size", 32);
    let window: usize = args.get("window", 2);
    let group_size: usize = args.get("group-size", 0);
    if group_size > 0 && (!flavor.has_groups() || !conns.is_multiple_of(group_size)) {
        return Err(failed(
            "fanout",
            "groups need a hub or Socket.IO server and conns divisible by the group size",
        ));
    }
    let payload = stamped_payload(size);
    let (frames, expected) = match conns.checked_div(group_size) {
        // No groups: the sender is connected too, so everyone gets each broadcast.
        None => (
            vec![Template::new(flavor.broadcast_frame(&payload))],
            conns as u32 + 1,
        ),
        Some(groups) => {
            let frames = (0..groups)
                .map(|g| Template::new(flavor.group_send_frame(&format!("g{g}"), &payload)))
                .collect();
            (frames, group_size as u32)
        }
    };
    // `--addr2`: receivers spread over two nodes of one hub (the sender on the first).
    let second = args.str("addr2").map(|_| Endpoint {
        addr: args.require("addr2"),
        ..common.endpoint.clone()
    });
    let fan = Rc::new(Fan::new(true));
    let sender = fan_setup(common, conns, group_size, second.as_ref(), &fan).await?;
    // `--rate`: that many messages a second instead of a window, for what the server spends
    // beside its deliveries (keep-alives) at a rate users see.
    let pace = match args.str("rate") {
        Some(_) => Pace::Rate(Duration::from_secs_f64(1.0 / args.get("rate", 1.0))),
        None => Pace::Window { window, expected },
    };
    spawn_local(send_fan(sender, frames, pace, Rc::clone(&fan)));
    let mut out = Window::measure(common, &fan.phase).await;
    let seconds = out["duration_s"].as_f64().unwrap_or(1.0);
    let deliveries = fan.deliveries.get();
    out.insert("deliveries".into(), json!(deliveries));
    out.insert(
        "deliveries_per_s".into(),
        json!(deliveries as f64 / seconds),
    );
    out.insert(
        "messages_per_s".into(),
        json!(fan.completed.get() as f64 / seconds),
    );
    out.insert("recipients".into(), json!(expected));
    out.insert("delivery_latency".into(), summary(&fan.delivery.borrow()));
    out.insert("last_delivery".into(), summary(&fan.last.borrow()));
    out.insert("stale".into(), json!(fan.stale.get()));
    out.insert("closed".into(), json!(fan.closed.get()));
    out.insert("sent".into(), json!(fan.sent.get()));
    out.insert("nodes".into(), json!(if second.is_some() { 2 } else { 1 }));
    per_unit(&mut out, "delivery", deliveries);
    Ok(Value::Object(out))
}

pub(crate) async fn slow(common: &Common, args: &Args) -> io::Result<Value> {
    let flavor = common.endpoint.flavor;
    let conns: usize = args.get("conns", 1000);
    let rate: f64 = args.get("rate", 100.0);
    let size: usize = args.get("size", 1024);
    let baseline = Duration::from_secs_f64(args.get("baseline", 5.0));
    let slow_for = Duration::from_secs_f64(args.get("slow-for", 15.0));
    let pid = common
        .server_pid
        .ok_or_else(|| failed("slow", "--server-pid is required"))?;
    let fan = Rc::new(Fan::new(false));
    let sender = fan_setup(common, conns, 0, None, &fan).await?;
    let frames = vec![Template::new(
        flavor.broadcast_frame(&stamped_payload(size)),
    )];
    spawn_local(send_fan(
        sender,
        frames,
        Pace::Rate(Duration::from_secs_f64(1.0 / rate)),
        Rc::clone(&fan),
    ));
    sleep(common.warmup).await;
    fan.phase.set(Phase::Measure);
    sleep(baseline).await;
    let before = fan.delivery.replace(histogram());
    let before_deliveries = fan.deliveries.replace(0);
    let rss_before = procfs::rss_bytes(pid).unwrap_or(0);

    // A receiver that reads nothing, with a small kernel receive buffer.
    let mut slow = client::connect_with(&common.endpoint, None, Some(4096)).await?;
    let w = Window::start(common);
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < slow_for {
        sleep(Duration::from_millis(500)).await;
        samples.push(procfs::rss_bytes(pid).unwrap_or(0));
    }
    let mut out = w.end(common);
    fan.phase.set(Phase::Done);
    let during = fan.delivery.borrow().clone();
    let during_deliveries = fan.deliveries.get();
    // Was the slow receiver disconnected? Drain what it has, up to a limit.
    let mut slow_closed = false;
    let drain = async {
        let mut total = 0usize;
        while total < 256 << 20 {
            match slow.read().await {
                Ok(0) | Err(_) => return true,
                Ok(n) => total += n,
            }
            if slow.frames(|_| {}).is_err() || slow.closed {
                return true;
            }
        }
        false
    };
    let drain_for = Duration::from_secs_f64(args.get("drain", 2.0));
    if let Ok(closed) = tokio::time::timeout(drain_for, drain).await {
        slow_closed = closed;
    }
    let half = samples.len() / 2;
    let max = |s: &[u64]| s.iter().copied().max().unwrap_or(0);
    out.insert(
        "expected_deliveries_per_s".into(),
        json!(rate * (conns + 1) as f64),
    );
    out.insert("baseline".into(), summary(&before));
    out.insert(
        "baseline_deliveries_per_s".into(),
        json!(before_deliveries as f64 / baseline.as_secs_f64()),
    );
    out.insert("with_slow".into(), summary(&during));
    out.insert(
        "with_slow_deliveries_per_s".into(),
        json!(during_deliveries as f64 / slow_for.as_secs_f64()),
    );
    out.insert("rss_before".into(), json!(rss_before));
    out.insert("rss_max_first_half".into(), json!(max(&samples[..half])));
    out.insert("rss_max_second_half".into(), json!(max(&samples[half..])));
    out.insert(
        "rss_last".into(),
        json!(samples.last().copied().unwrap_or(0)),
    );
    out.insert("slow_disconnected".into(), json!(slow_closed));
    out.insert("closed".into(), json!(fan.closed.get()));
    Ok(Value::Object(out))
}
