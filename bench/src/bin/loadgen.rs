//! The load generator: runs one workload against one server and prints the result as one JSON
//! line on stdout. Single-threaded (a current-thread runtime and a `LocalSet`, no atomics on
//! the hot path), meant to be pinned to its own core; it reports its own CPU use so a run
//! where the generator is the bottleneck is recognised as such.
//!
//! ```text
//! loadgen <workload> --addr 127.0.0.1:<port> --flavor <flavor> [--path /hub]
//!         [--server-pid <pid>] [--warmup 1] [--duration 3] [workload flags]
//! ```
//!
//! Flavors: `raw`, `raw-binary`, `signalr-json`, `signalr-msgpack` (`+negotiate` to negotiate
//! first), `socketio`. Workloads and their flags:
//!
//! - `echo --conns 100 --size 32 [--depth 1] [--rate <msg/s>]`: closed loop (each connection
//!   keeps `depth` calls outstanding), or open loop at a fixed total rate;
//! - `fanout --conns 1000 --size 32 [--group-size 0] [--window 2]`: one sender, `conns`
//!   receivers; with a group size, groups of that many receivers and the sender targets them
//!   in turn; `window` messages in flight, each complete when its last copy arrived;
//! - `idle --steps 1000,5000,10000 [--settle 7] [--ping-every 5]`: server RSS at each count;
//! - `ramp --conns 2000 [--concurrency 32]`: connections per second;
//! - `slow --conns 1000 --rate 100 --size 1024 [--baseline 5] [--slow-for 15] [--drain 2]`:
//!   one receiver stops reading halfway (then up to `drain` seconds to see whether the server
//!   closed it);
//! - `disconnect --groups 2000 [--holders 100] [--conns 1000] [--per-conn 5]
//!   [--idle-window 1]`: CPU per disconnect of connections in `per-conn` groups each, with
//!   `groups` groups existing (less the server's idle CPU, measured over `idle-window`).

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bench::args::Args;
use bench::client::{self, Conn, Endpoint, Flavor, HttpClient};
use bench::procfs::{self, CpuSample, SystemSample};
use bench::wire::{Template, for_each_stamp, stamped_payload};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::{LocalSet, spawn_local};
use tokio::time::sleep;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The generator's clock: nanoseconds since it started. Stamps carry it.
fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("valid bounds")
}

fn summary(h: &Histogram<u64>) -> Value {
    let us = |ns: u64| (ns as f64 / 1000.0 * 10.0).round() / 10.0;
    json!({
        "count": h.len(),
        "p50_us": us(h.value_at_quantile(0.5)),
        "p99_us": us(h.value_at_quantile(0.99)),
        "p999_us": us(h.value_at_quantile(0.999)),
        "max_us": us(h.max()),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Done,
}

/// Flags every workload shares.
struct Common {
    endpoint: Endpoint,
    server_pid: Option<u32>,
    warmup: Duration,
    duration: Duration,
    concurrency: usize,
}

/// CPU of the server and of this process over a measurement window.
struct Window {
    server: Option<CpuSample>,
    me: CpuSample,
    system: SystemSample,
}

impl Window {
    /// Lets the load run through the warm-up, then measures it for the duration; `phase`
    /// tells the workload's tasks which part they are in.
    async fn measure(common: &Common, phase: &Cell<Phase>) -> serde_json::Map<String, Value> {
        sleep(common.warmup).await;
        phase.set(Phase::Measure);
        let window = Self::start(common);
        sleep(common.duration).await;
        let out = window.end(common);
        phase.set(Phase::Done);
        out
    }

    fn start(common: &Common) -> Self {
        Self {
            server: common.server_pid.map(CpuSample::take),
            me: CpuSample::take(std::process::id()),
            system: SystemSample::take(),
        }
    }

    /// The window's duration and CPU figures, as JSON fields.
    fn end(&self, common: &Common) -> serde_json::Map<String, Value> {
        let me = CpuSample::take(std::process::id());
        let wall = me.at.duration_since(self.me.at).as_secs_f64();
        let mut out = serde_json::Map::new();
        out.insert("duration_s".into(), json!(wall));
        let gen_util = me.utilization_since(&self.me);
        out.insert("gen_util".into(), json!(gen_util));
        let mut ours = gen_util;
        if let (Some(pid), Some(before)) = (common.server_pid, &self.server) {
            let after = CpuSample::take(pid);
            let server_util = after.utilization_since(before);
            ours += server_util;
            out.insert("server_cpu_ns".into(), json!(after.cpu_since(before)));
            out.insert("server_util".into(), json!(server_util));
            out.insert("server_rss".into(), json!(procfs::rss_bytes(pid)));
        }
        // Other processes' load: the machine's busy cores beyond the server and generator.
        let busy = SystemSample::take().busy_cores_since(&self.system);
        out.insert("other_cores".into(), json!((busy - ours).max(0.0)));
        out
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Opens `n` connections, `concurrency` at a time.
async fn connect_many(endpoint: &Endpoint, n: usize, concurrency: usize) -> io::Result<Vec<Conn>> {
    stream::iter(0..n)
        .map(|_| client::connect(endpoint, None))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Reads and drops what a connection receives, answering Engine.IO pings and sending the
/// client's own keep-alive every `ping_every`, until `done` or the server closes it.
async fn keep_open(
    mut conn: Conn,
    ping: Option<Vec<u8>>,
    ping_every: Duration,
    closed: Rc<Cell<u64>>,
) {
    let mut next = tokio::time::Instant::now() + ping_every;
    loop {
        tokio::select! {
            read = conn.read() => {
                if !matches!(read, Ok(n) if n > 0) || conn.frames(|_| {}).is_err() || conn.closed {
                    closed.set(closed.get() + 1);
                    return;
                }
                if conn.answer_pings().await.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep_until(next), if ping.is_some() => {
                next += ping_every;
                if let Some(ping) = &ping
                    && conn.send(ping).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

// ---- echo -------------------------------------------------------------------------------

struct EchoState {
    phase: Cell<Phase>,
    hist: RefCell<Histogram<u64>>,
    received: Cell<u64>,
    sent: Cell<u64>,
    closed: Cell<u64>,
    /// Longest an open-loop send was behind its schedule, in ns.
    max_lag_ns: Cell<u64>,
}

impl EchoState {
    /// Records every stamp in what `conn` read; returns how many replies came.
    fn take_replies(&self, conn: &mut Conn) -> io::Result<u64> {
        let now = now_ns();
        let measuring = self.phase.get() == Phase::Measure;
        let mut replies = 0;
        let mut hist = self.hist.borrow_mut();
        conn.frames(|frame| {
            for_each_stamp(frame.payload, |stamp| {
                replies += 1;
                if measuring {
                    hist.saturating_record(now.saturating_sub(stamp).max(1));
                }
            })
        })?;
        if measuring {
            self.received.set(self.received.get() + replies);
        }
        Ok(replies)
    }

    fn close(&self) {
        self.closed.set(self.closed.get() + 1);
    }
}

async fn closed_loop(mut conn: Conn, mut template: Template, depth: usize, state: Rc<EchoState>) {
    for _ in 0..depth {
        if conn.send(template.stamp(now_ns())).await.is_err() {
            return state.close();
        }
    }
    loop {
        if !matches!(conn.read().await, Ok(n) if n > 0) {
            return state.close();
        }
        let Ok(replies) = state.take_replies(&mut conn) else {
            return state.close();
        };
        if conn.closed || conn.answer_pings().await.is_err() {
            return state.close();
        }
        if state.phase.get() == Phase::Done {
            return;
        }
        for _ in 0..replies {
            if conn.send(template.stamp(now_ns())).await.is_err() {
                return state.close();
            }
        }
    }
}

async fn open_loop(
    mut conn: Conn,
    mut template: Template,
    interval: Duration,
    first: tokio::time::Instant,
    state: Rc<EchoState>,
) {
    let mut next = first;
    loop {
        tokio::select! {
            read = conn.read() => {
                if !matches!(read, Ok(n) if n > 0) || state.take_replies(&mut conn).is_err() || conn.closed {
                    return state.close();
                }
                if conn.answer_pings().await.is_err() {
                    return state.close();
                }
            }
            _ = tokio::time::sleep_until(next) => {
                if state.phase.get() == Phase::Done {
                    return;
                }
                let now = tokio::time::Instant::now();
                let lag = now.duration_since(next).as_nanos() as u64;
                if state.phase.get() == Phase::Measure && lag > state.max_lag_ns.get() {
                    state.max_lag_ns.set(lag);
                }
                while next <= now {
                    if conn.send(template.stamp(now_ns())).await.is_err() {
                        return state.close();
                    }
                    if state.phase.get() == Phase::Measure {
                        state.sent.set(state.sent.get() + 1);
                    }
                    next += interval;
                }
            }
        }
    }
}

async fn echo(common: &Common, args: &Args) -> io::Result<Value> {
    let conns: usize = args.get("conns", 100);
    let size: usize = args.get("size", 32);
    let depth: usize = args.get("depth", 1);
    let rate: Option<f64> = args.str("rate").map(|_| args.get("rate", 0.0));
    let template = Template::new(common.endpoint.flavor.echo_frame(&stamped_payload(size)));
    let state = Rc::new(EchoState {
        phase: Cell::new(Phase::Warmup),
        hist: RefCell::new(histogram()),
        received: Cell::new(0),
        sent: Cell::new(0),
        closed: Cell::new(0),
        max_lag_ns: Cell::new(0),
    });
    let connections = connect_many(&common.endpoint, conns, common.concurrency).await?;
    let start = tokio::time::Instant::now();
    for (i, conn) in connections.into_iter().enumerate() {
        let state = Rc::clone(&state);
        match rate {
            None => spawn_local(closed_loop(conn, template.clone(), depth, state)),
            Some(rate) => {
                // Each connection sends rate/conns per second, their schedules staggered.
                let interval = Duration::from_secs_f64(conns as f64 / rate);
                let first = start + interval.mul_f64(i as f64 / conns as f64);
                spawn_local(open_loop(conn, template.clone(), interval, first, state))
            }
        };
    }
    let mut out = Window::measure(common, &state.phase).await;
    let received = state.received.get();
    let seconds = out["duration_s"].as_f64().unwrap_or(1.0);
    out.insert("messages".into(), json!(received));
    out.insert("msg_per_s".into(), json!(received as f64 / seconds));
    out.insert("latency".into(), summary(&state.hist.borrow()));
    out.insert("closed".into(), json!(state.closed.get()));
    if rate.is_some() {
        out.insert("sent".into(), json!(state.sent.get()));
        out.insert("target_rate".into(), json!(rate));
        out.insert(
            "max_send_lag_us".into(),
            json!(state.max_lag_ns.get() / 1000),
        );
    }
    if let Some(cpu) = out.get("server_cpu_ns").and_then(Value::as_u64) {
        out.insert(
            "server_cpu_us_per_msg".into(),
            json!(cpu as f64 / 1000.0 / received.max(1) as f64),
        );
    }
    Ok(Value::Object(out))
}

// ---- fan-out (broadcast, groups, slow consumer) -------------------------------------------

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
        if conn.answer_pings().await.is_err() {
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

async fn send_fan(mut conn: Conn, mut frames: Vec<Template>, pace: Pace, fan: Rc<Fan>) {
    let mut turn = 0usize;
    let mut next = tokio::time::Instant::now();
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
            let template = &mut frames[index];
            turn += 1;
            if conn.send(template.stamp(stamp)).await.is_err() {
                return fan.close();
            }
        }
        tokio::select! {
            _ = fan.room.notified(), if matches!(pace, Pace::Window { .. }) => {}
            _ = tokio::time::sleep_until(next), if matches!(pace, Pace::Rate(_)) => {}
            read = conn.read() => {
                if !matches!(read, Ok(n) if n > 0) || fan.take(&mut conn).is_err() || conn.closed {
                    return fan.close();
                }
                if conn.answer_pings().await.is_err() {
                    return fan.close();
                }
            }
            _ = sleep(Duration::from_millis(200)) => {
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

/// Connects `conns` receivers (joining their groups) and a sender; returns the sender.
async fn fan_setup(
    common: &Common,
    conns: usize,
    group_size: usize,
    fan: &Rc<Fan>,
) -> io::Result<Conn> {
    let flavor = common.endpoint.flavor;
    let receivers: Vec<Conn> = stream::iter(0..conns)
        .map(|i| async move {
            let mut conn = client::connect(&common.endpoint, None).await?;
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

async fn fanout(common: &Common, args: &Args) -> io::Result<Value> {
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
    let fan = Rc::new(Fan::new(true));
    let sender = fan_setup(common, conns, group_size, &fan).await?;
    spawn_local(send_fan(
        sender,
        frames,
        Pace::Window { window, expected },
        Rc::clone(&fan),
    ));
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
    if let Some(cpu) = out.get("server_cpu_ns").and_then(Value::as_u64) {
        out.insert(
            "server_cpu_us_per_delivery".into(),
            json!(cpu as f64 / 1000.0 / deliveries.max(1) as f64),
        );
    }
    Ok(Value::Object(out))
}

async fn slow(common: &Common, args: &Args) -> io::Result<Value> {
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
    let sender = fan_setup(common, conns, 0, &fan).await?;
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

// ---- connections: idle memory, ramp, disconnect ---------------------------------------------

async fn idle(common: &Common, args: &Args) -> io::Result<Value> {
    let steps = args.list("steps", &[1000, 5000, 10000]);
    let settle = Duration::from_secs_f64(args.get("settle", 7.0));
    let ping_every = Duration::from_secs_f64(args.get("ping-every", 5.0));
    let pid = common
        .server_pid
        .ok_or_else(|| failed("idle", "--server-pid is required"))?;
    let closed = Rc::new(Cell::new(0u64));
    let ping = common.endpoint.flavor.ping_frame();
    sleep(Duration::from_millis(500)).await;
    let base = procfs::rss_bytes(pid).unwrap_or(0);
    let mut open = 0usize;
    let mut points = Vec::new();
    for &step in &steps {
        let conns = connect_many(
            &common.endpoint,
            step.saturating_sub(open),
            common.concurrency,
        )
        .await?;
        open = step;
        for conn in conns {
            spawn_local(keep_open(
                conn,
                ping.clone(),
                ping_every,
                Rc::clone(&closed),
            ));
        }
        sleep(settle).await;
        let rss = procfs::rss_bytes(pid).unwrap_or(0);
        points.push(json!({
            "conns": step,
            "rss": rss,
            "bytes_per_conn": (rss.saturating_sub(base)) as f64 / step as f64,
        }));
    }
    let first = &points[0];
    let last = &points[points.len() - 1];
    let slope = (last["rss"].as_f64().unwrap_or(0.0) - first["rss"].as_f64().unwrap_or(0.0))
        / (last["conns"].as_f64().unwrap_or(1.0) - first["conns"].as_f64().unwrap_or(0.0)).max(1.0);
    Ok(json!({
        "rss_base": base,
        "points": points,
        "slope_bytes_per_conn": slope,
        "closed": closed.get(),
        "server_fds": procfs::open_fds(pid),
    }))
}

async fn ramp(common: &Common, args: &Args) -> io::Result<Value> {
    let conns: usize = args.get("conns", 2000);
    let concurrency: usize = args.get("concurrency", 32);
    let next = Cell::new(0usize);
    let hist = RefCell::new(histogram());
    let w = Window::start(common);
    let started = Instant::now();
    let worker = || async {
        let mut http = HttpClient::new(common.endpoint.addr);
        let mut open = Vec::new();
        loop {
            let i = next.get();
            if i >= conns {
                return Ok::<_, io::Error>(open);
            }
            next.set(i + 1);
            let t = Instant::now();
            open.push(client::connect(&common.endpoint, Some(&mut http)).await?);
            hist.borrow_mut()
                .saturating_record(t.elapsed().as_nanos() as u64);
        }
    };
    let opened = futures_util::future::try_join_all((0..concurrency).map(|_| worker())).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut out = w.end(common);
    out.insert(
        "conns".into(),
        json!(opened.iter().map(Vec::len).sum::<usize>()),
    );
    out.insert("conns_per_s".into(), json!(conns as f64 / elapsed));
    out.insert("connect_time".into(), summary(&hist.borrow()));
    if let Some(cpu) = out.get("server_cpu_ns").and_then(Value::as_u64) {
        out.insert(
            "server_cpu_us_per_conn".into(),
            json!(cpu as f64 / 1000.0 / conns as f64),
        );
    }
    Ok(Value::Object(out))
}

async fn disconnect(common: &Common, args: &Args) -> io::Result<Value> {
    let flavor = common.endpoint.flavor;
    if !flavor.has_groups() {
        return Err(failed("disconnect", "needs a server with groups"));
    }
    let pid = common
        .server_pid
        .ok_or_else(|| failed("disconnect", "--server-pid is required"))?;
    let groups: usize = args.get("groups", 2000);
    let holders: usize = args.get("holders", 100);
    let conns: usize = args.get("conns", 1000);
    let per_conn: usize = args.get("per-conn", 5);
    let per_holder = groups.div_ceil(holders);
    let closed = Rc::new(Cell::new(0u64));
    // Holders keep `groups` groups in existence.
    let held: Vec<Conn> = stream::iter(0..holders)
        .map(|h| async move {
            let mut conn = client::connect(&common.endpoint, None).await?;
            conn.call(&flavor.join_many_frame(&format!("h{h}-"), per_holder as u64))
                .await?;
            Ok::<_, io::Error>(conn)
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    for conn in held {
        spawn_local(keep_open(
            conn,
            flavor.ping_frame(),
            Duration::from_secs(5),
            Rc::clone(&closed),
        ));
    }
    // Connections that each join `per_conn` of those groups, then leave.
    let leaving: Vec<Conn> = stream::iter(0..conns)
        .map(|i| async move {
            let mut conn = client::connect(&common.endpoint, None).await?;
            let prefix = format!("h{}-", i % holders);
            conn.call(&flavor.join_many_frame(&prefix, per_conn as u64))
                .await?;
            Ok::<_, io::Error>(conn)
        })
        .buffer_unordered(common.concurrency.max(1))
        .try_collect()
        .await?;
    // The server's CPU use with everyone connected and idle (keep-alive timers), to subtract.
    let idle_window = Duration::from_secs_f64(args.get("idle-window", 1.0));
    sleep(idle_window / 2).await;
    let idle_start = CpuSample::take(pid);
    sleep(idle_window).await;
    let before = CpuSample::take(pid);
    let idle_rate = before.cpu_since(&idle_start) as f64
        / before.at.duration_since(idle_start.at).as_secs_f64();
    let fds = procfs::open_fds(pid).unwrap_or(0);
    let started = Instant::now();
    drop(leaving);
    // The server closes a socket once it has handled the disconnect: wait for all of them
    // (some servers notice a closed socket only on a timer), then for the work to end.
    let mut all_gone = false;
    while started.elapsed() < Duration::from_secs(60) {
        if procfs::open_fds(pid).unwrap_or(0) + conns <= fds + 2 {
            all_gone = true;
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    let handled_after = started.elapsed().as_secs_f64();
    let mut last = CpuSample::take(pid);
    while started.elapsed() < Duration::from_secs(120) {
        sleep(Duration::from_millis(200)).await;
        let now = CpuSample::take(pid);
        let busy = now.cpu_since(&last) as f64;
        let idle = idle_rate * now.at.duration_since(last.at).as_secs_f64();
        last = now;
        if busy <= idle * 1.5 + 1_000_000.0 {
            break;
        }
    }
    let elapsed = last.at.duration_since(before.at).as_secs_f64();
    let cpu = (last.cpu_since(&before) as f64 - idle_rate * elapsed).max(0.0) as u64;
    Ok(json!({
        "groups": holders * per_holder,
        "disconnects": conns,
        "server_cpu_ns": cpu,
        "cpu_us_per_disconnect": cpu as f64 / 1000.0 / conns as f64,
        "sockets_closed_after_s": handled_after,
        "all_sockets_closed": all_gone,
        "settled_after_s": elapsed,
        "idle_cpu_share": idle_rate / 1e9,
        "holders_closed": closed.get(),
        "server_rss": procfs::rss_bytes(pid),
    }))
}

async fn run(workload: &str, common: &Common, args: &Args) -> io::Result<Value> {
    match workload {
        "echo" => echo(common, args).await,
        "fanout" => fanout(common, args).await,
        "slow" => slow(common, args).await,
        "idle" => idle(common, args).await,
        "ramp" => ramp(common, args).await,
        "disconnect" => disconnect(common, args).await,
        other => Err(failed("unknown workload", other)),
    }
}

fn main() {
    now_ns();
    procfs::raise_fd_limit();
    let args = Args::from_env();
    let Some(workload) = args.positional.first().cloned() else {
        eprintln!(
            "usage: loadgen <echo|fanout|idle|ramp|slow|disconnect> --addr HOST:PORT --flavor F [...]"
        );
        std::process::exit(2)
    };
    let flavor_name: String = args.require("flavor");
    let Some(flavor) = Flavor::parse(&flavor_name) else {
        eprintln!("unknown --flavor {flavor_name}");
        std::process::exit(2)
    };
    let addr: SocketAddr = args.require("addr");
    if !addr.ip().is_loopback() {
        eprintln!("--addr must be a loopback address");
        std::process::exit(2)
    }
    let common = Common {
        endpoint: Endpoint {
            addr,
            path: args.str("path").unwrap_or("/hub").to_string(),
            flavor,
        },
        server_pid: args.str("server-pid").map(|_| args.get("server-pid", 0)),
        warmup: Duration::from_secs_f64(args.get("warmup", 1.0)),
        duration: Duration::from_secs_f64(args.get("duration", 3.0)),
        concurrency: args.get("connect-concurrency", 64),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let result = LocalSet::new().block_on(&runtime, run(&workload, &common, &args));
    match result {
        Ok(mut value) => {
            if let Value::Object(map) = &mut value {
                map.insert("workload".into(), json!(workload));
                map.insert("flavor".into(), json!(flavor_name));
            }
            println!("{value}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("loadgen {workload} ({flavor_name}): {e}");
            std::process::exit(1)
        }
    }
}
