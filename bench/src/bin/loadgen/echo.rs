//! Echo: each connection calls Echo with a stamped payload, closed loop or at a fixed rate.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bench::args::Args;
use bench::client::{Conn, Flavor};
use bench::wire::{Template, for_each_stamp, stamped_payload};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::task::spawn_local;

use crate::{Common, Phase, Window, connect_many, histogram, now_ns, per_unit, summary};

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

/// Replies a stateful-reconnect connection takes before it acknowledges them, about as
/// often as the official client does under load (it acknowledges on a timer) and far below
/// the server's replay buffer (100 KB by default).
const ACK_EVERY: u64 = 256;

/// Keeps `depth` calls outstanding: each read's replies are answered by as many new calls, all
/// in one write (with an Ack, where the flavor is stateful and one is due).
async fn closed_loop(
    mut conn: Conn,
    mut template: Template,
    depth: usize,
    flavor: Flavor,
    state: Rc<EchoState>,
) {
    let mut replies = depth as u64;
    let (mut received, mut acked) = (0, 0);
    loop {
        for _ in 0..replies {
            conn.queue(template.stamp(now_ns()));
        }
        received += replies;
        if received - acked >= ACK_EVERY && conn.queue_ack(flavor, received - depth as u64) {
            acked = received;
        }
        if conn.flush().await.is_err() {
            return state.close();
        }
        if !matches!(conn.read().await, Ok(n) if n > 0) {
            return state.close();
        }
        match state.take_replies(&mut conn) {
            Ok(n) if !conn.closed => replies = n,
            _ => return state.close(),
        }
        if state.phase.get() == Phase::Done {
            return;
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
                if conn.flush().await.is_err() {
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
                    conn.queue(template.stamp(now_ns()));
                    if state.phase.get() == Phase::Measure {
                        state.sent.set(state.sent.get() + 1);
                    }
                    next += interval;
                }
                if conn.flush().await.is_err() {
                    return state.close();
                }
            }
        }
    }
}

pub(crate) async fn echo(common: &Common, args: &Args) -> io::Result<Value> {
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
            None => spawn_local(closed_loop(
                conn,
                template.clone(),
                depth,
                common.endpoint.flavor,
                state,
            )),
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
    per_unit(&mut out, "msg", received);
    Ok(Value::Object(out))
}
