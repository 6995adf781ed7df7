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
//! - `fanout --conns 1000 --size 32 [--group-size 0] [--window 2] [--rate <msg/s>]`: one
//!   sender, `conns` receivers; with a group size, groups of that many receivers and the
//!   sender targets them in turn; `window` messages in flight, each complete when its last
//!   copy arrived, or `rate` messages a second;
//!   `--addr2 HOST:PORT` connects every other receiver to a second node of the same hub;
//! - `idle --steps 1000,5000,10000 [--settle 7] [--ping-every 5]`: server RSS, idle CPU and open
//!   descriptors at each count;
//! - `ramp --conns 2000 [--concurrency 32]`: connections per second;
//! - `slow --conns 1000 --rate 100 --size 1024 [--baseline 5] [--slow-for 15] [--drain 2]`:
//!   one receiver stops reading halfway (then up to `drain` seconds to see whether the server
//!   closed it);
//! - `disconnect --groups 2000 [--holders 100] [--conns 1000] [--per-conn 5]
//!   [--idle-window 1]`: CPU per disconnect of connections in `per-conn` groups each, with
//!   `groups` groups existing (less the server's idle CPU, measured over `idle-window`);
//!   `--holders 0`: each connection joins `per-conn` groups of its own instead (`--groups`
//!   unused), so that its disconnect empties them.

mod conns;
mod echo;
mod fan;

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bench::args::Args;
use bench::client::{self, Conn, Endpoint, Flavor};
use bench::http::HttpTransport;
use bench::procfs::{self, CpuSample, SystemSample};
use bench::wire::HubProtocol;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::task::LocalSet;
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
    /// SSE or Long Polling instead of WebSockets (`--flavor signalr-json+sse`).
    transport: Option<HttpTransport>,
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
        out.insert("gen_cpu_ns".into(), json!(me.cpu_since(&self.me)));
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

/// Adds the server's and the generator's CPU per unit of work (`server_cpu_us_per_<unit>`,
/// `gen_cpu_us_per_<unit>`) to a window's figures, for `count` units. Where the generator
/// saturates its core the rate is its ceiling, not the server's; the server's CPU per unit is
/// then the figure to compare, and the generator's tells how close to the server's it is.
fn per_unit(out: &mut serde_json::Map<String, Value>, unit: &str, count: u64) {
    for who in ["server", "gen"] {
        if let Some(ns) = out.get(&format!("{who}_cpu_ns")).and_then(Value::as_u64) {
            let us = ns as f64 / 1000.0 / count.max(1) as f64;
            out.insert(format!("{who}_cpu_us_per_{unit}"), json!(us));
        }
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
    // Frames the setup read past what it needed (an Engine.IO ping right behind the Socket.IO
    // connect ack) are handled first: the server sends no further ping until it has the pong of
    // this one, so waiting for more bytes would wait until its ping timeout closed the socket.
    if conn.frames(|_| {}).is_err() || conn.flush().await.is_err() {
        closed.set(closed.get() + 1);
        return;
    }
    let mut next = tokio::time::Instant::now() + ping_every;
    loop {
        tokio::select! {
            read = conn.read() => {
                if !matches!(read, Ok(n) if n > 0) || conn.frames(|_| {}).is_err() || conn.closed {
                    closed.set(closed.get() + 1);
                    return;
                }
                if conn.flush().await.is_err() {
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

async fn run(workload: &str, common: &Common, args: &Args) -> io::Result<Value> {
    match workload {
        "echo" => echo::echo(common, args).await,
        "fanout" => fan::fanout(common, args).await,
        "slow" => fan::slow(common, args).await,
        "idle" => conns::idle(common, args).await,
        "ramp" => conns::ramp(common, args).await,
        "disconnect" => conns::disconnect(common, args).await,
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
    // `+sse` or `+longpolling` after a SignalR JSON flavor: that transport instead of
    // WebSockets (the idle workload only).
    let (base, transport) = match flavor_name.rsplit_once('+') {
        Some((base, suffix)) => match HttpTransport::parse(suffix) {
            Some(transport) => (base, Some(transport)),
            None => (flavor_name.as_str(), None),
        },
        None => (flavor_name.as_str(), None),
    };
    let flavor = Flavor::parse(base).filter(|flavor| {
        transport.is_none()
            || *flavor
                == Flavor::SignalR {
                    protocol: HubProtocol::Json,
                    negotiate: false,
                    stateful: false,
                }
    });
    let Some(flavor) = flavor else {
        eprintln!("unknown --flavor {flavor_name}");
        std::process::exit(2)
    };
    if transport.is_some() && workload != "idle" {
        eprintln!("--flavor {flavor_name}: only the idle workload runs over SSE or Long Polling");
        std::process::exit(2)
    }
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
        transport,
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
