//! Connections themselves: idle memory, the connection ramp, the cost of disconnects.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bench::args::Args;
use bench::client::{self, Conn};
use bench::http::{HttpClient, HttpConn};
use bench::procfs::{self, CpuSample};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::task::{JoinHandle, spawn_local};
use tokio::time::sleep;

use crate::{Common, Window, failed, histogram, keep_open, per_unit, summary};

pub(crate) async fn idle(common: &Common, args: &Args) -> io::Result<Value> {
    let steps = args.list("steps", &[1000, 5000, 10000]);
    let settle = Duration::from_secs_f64(args.get("settle", 7.0));
    let ping_every = Duration::from_secs_f64(args.get("ping-every", 5.0));
    let pid = common
        .server_pid
        .ok_or_else(|| failed("idle", "--server-pid is required"))?;
    let closed = Rc::new(Cell::new(0u64));
    let ping = common.endpoint.flavor.ping_frame();
    sleep(Duration::from_millis(500)).await;
    let cold = procfs::rss_bytes(pid).unwrap_or(0);
    // One connection opened, held a second and closed before the baseline: the first
    // connection faults in the code every connection runs (file-backed pages of the binary,
    // counted in RSS), a cost per process, not per connection. One connection only, so that
    // the heap it frees (and the first step reuses) is a few KiB. `--warmup-conn 0` skips it;
    // `bytes_per_conn_cold` is measured from before it either way.
    if args.get("warmup-conn", 1usize) > 0 {
        let warm = open_idle(common, &ping, ping_every, &Rc::new(Cell::new(0))).await?;
        sleep(Duration::from_secs(1)).await;
        warm.abort();
        sleep(Duration::from_millis(500)).await;
    }
    let base = procfs::rss_bytes(pid).unwrap_or(0);
    let mut open = 0usize;
    let mut points = Vec::new();
    for &step in &steps {
        // Each connection is kept open (reading, answering pings, sending keep-alives) from the
        // moment it is up: opening thousands takes longer than a server's client timeout, and a
        // connection left silent meanwhile would be closed by the server.
        let started = Instant::now();
        stream::iter(open..step)
            .map(|_| open_idle(common, &ping, ping_every, &closed))
            .buffer_unordered(common.concurrency.max(1))
            .try_for_each(|_| async { Ok(()) })
            .await?;
        let connect_s = started.elapsed().as_secs_f64();
        open = open.max(step);
        // The server's CPU over the second half of the settling time: what holding this many
        // idle connections costs it (keep-alives and timers), for the projections.
        sleep(settle / 2).await;
        let before = CpuSample::take(pid);
        sleep(settle / 2).await;
        let after = CpuSample::take(pid);
        let rss = procfs::rss_bytes(pid).unwrap_or(0);
        points.push(json!({
            "conns": step,
            "rss": rss,
            "bytes_per_conn": (rss.saturating_sub(base)) as f64 / step as f64,
            "bytes_per_conn_cold": (rss.saturating_sub(cold)) as f64 / step as f64,
            "connect_s": connect_s,
            "server_idle_util": after.utilization_since(&before),
            "server_fds": procfs::open_fds(pid),
            "closed": closed.get(),
        }));
    }
    let first = &points[0];
    let last = &points[points.len() - 1];
    let slope = (last["rss"].as_f64().unwrap_or(0.0) - first["rss"].as_f64().unwrap_or(0.0))
        / (last["conns"].as_f64().unwrap_or(1.0) - first["conns"].as_f64().unwrap_or(0.0)).max(1.0);
    Ok(json!({
        "rss_base": base,
        "rss_cold": cold,
        "points": points,
        "slope_bytes_per_conn": slope,
        "closed": closed.get(),
        "server_fds": procfs::open_fds(pid),
    }))
}

thread_local! {
    /// Negotiate connections free for the next connection's setup.
    static HTTP_CLIENTS: RefCell<Vec<HttpClient>> = const { RefCell::new(Vec::new()) };
}

/// Opens one connection of the idle workload and keeps it open in a task of its own, which
/// counts it in `closed` if the server ends it.
async fn open_idle(
    common: &Common,
    ping: &Option<Vec<u8>>,
    ping_every: Duration,
    closed: &Rc<Cell<u64>>,
) -> io::Result<JoinHandle<()>> {
    let closed = Rc::clone(closed);
    let Some(transport) = common.transport else {
        let conn = client::connect(&common.endpoint, None).await?;
        return Ok(spawn_local(keep_open(
            conn,
            ping.clone(),
            ping_every,
            closed,
        )));
    };
    let endpoint = &common.endpoint;
    // A negotiate connection from the pool, or a new one: a socket per connection's setup
    // would leave thousands of ports waiting out TIME_WAIT.
    let mut http = HTTP_CLIENTS
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| HttpClient::new(endpoint.addr));
    let conn = HttpConn::connect(&mut http, &endpoint.path, transport).await?;
    HTTP_CLIENTS.with_borrow_mut(|pool| pool.push(http));
    Ok(spawn_local(async move {
        let _ = conn.hold().await;
        closed.set(closed.get() + 1);
    }))
}

pub(crate) async fn ramp(common: &Common, args: &Args) -> io::Result<Value> {
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
    per_unit(&mut out, "conn", conns as u64);
    Ok(Value::Object(out))
}

pub(crate) async fn disconnect(common: &Common, args: &Args) -> io::Result<Value> {
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
    // With no holders each leaving connection joins groups of its own (as an app's group per
    // user or per document), so every disconnect empties its groups.
    let (per_holder, existing) = match holders {
        0 => (0, conns * per_conn),
        _ => {
            let per_holder = groups.div_ceil(holders);
            (per_holder, per_holder * holders)
        }
    };
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
            let prefix = match holders {
                0 => format!("c{i}-"),
                _ => format!("h{}-", i % holders),
            };
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
        "groups": existing,
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
