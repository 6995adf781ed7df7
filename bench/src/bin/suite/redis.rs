//! (k) Scale-out through Redis (issue 12 §5): broadcast to receivers spread over two `hubs`
//! nodes sharing one redis-server, against one node in the same run; the PUBLISH commands each
//! broadcast costs (Redis's `INFO commandstats` before and after each run); idle memory per
//! connection of a node with the Redis manager against one without.
//!
//! The suite starts its own redis-server on a free port (`--save "" --appendonly no`), pinned
//! with the nodes to the server core: two nodes and Redis share the one core a single node has.
//! Without redis-server on the PATH these cases are skipped with a note.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::figures::{CaseRuns, brief, by_case, f, generator_bound, human, median, ok};
use crate::run::{Running, drive, pinned, quiet_gate, start_server_with};
use crate::{Case, Config, Entry, Run, SERVER_CORE, Server, entry};

/// The broadcast section and the idle-memory section.
pub(crate) const BROADCAST: &str = "redis";
pub(crate) const IDLE: &str = "redis-idle";
/// The columns: one node (in-memory manager), one node on Redis, two nodes on Redis.
const ONE: &str = "hubs";
const ONE_REDIS: &str = "hubs+redis";
const TWO: &str = "2 nodes+redis";
/// Broadcasts in flight (the generator's window): how many a run may end with unpublished.
const WINDOW: usize = 2;

/// A redis-server of the suite's own.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_server_binary() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-server"))
            .find(|p| p.is_file())
    })
}

fn start_redis(cfg: &Config, binary: &Path) -> Result<RedisServer, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a free port: {e}"))?
        .port();
    let child = pinned(cfg, SERVER_CORE, binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting redis-server: {e}"))?;
    let redis = RedisServer { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while command(port, "PING").is_err() {
        if Instant::now() > deadline {
            return Err(format!("redis-server did not answer on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(redis)
}

/// Sends one inline command and reads a simple or bulk string reply.
fn command(port: u16, line: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("{line}\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("redis closed the connection".into());
        }
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        let Some(end) = text.find("\r\n") else {
            continue;
        };
        let head = &text[..end];
        match head.as_bytes().first() {
            Some(b'+') => return Ok(head[1..].to_string()),
            Some(b'$') => {
                let len: usize = head[1..].parse().map_err(|_| format!("reply {head:?}"))?;
                if reply.len() >= end + 2 + len {
                    return Ok(text[end + 2..end + 2 + len].to_string());
                }
            }
            _ => return Err(format!("redis replied {head:?}")),
        }
    }
}

/// PUBLISH commands redis-server has executed so far.
fn publishes(port: u16) -> Result<u64, String> {
    let stats = command(port, "INFO commandstats")?;
    Ok(stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_publish:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

fn cases(cfg: &Config) -> Vec<Case> {
    let (warmup, duration, receivers) = match (cfg.smoke, cfg.quick) {
        (true, _) => ("0.1", "0.3", "20"),
        (false, true) => ("0.5", "2", "1000"),
        (false, false) => ("1", "3", "1000"),
    };
    let hub = |column: &str| Entry {
        column: column.to_string(),
        ..entry(Server::Hubs, "signalr-json", "/hub")
    };
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (steps, settle) = match (cfg.smoke, cfg.quick) {
        (true, _) => ("10,20", "0.1"),
        (false, true) => ("1000,5000", "6"),
        (false, false) => ("1000,5000,10000", "7"),
    };
    vec![
        Case {
            section: BROADCAST,
            name: format!("{receivers} receivers, 32 B"),
            workload: "fanout",
            args: words(&[
                "--conns",
                receivers,
                "--size",
                "32",
                "--window",
                &WINDOW.to_string(),
                "--warmup",
                warmup,
                "--duration",
                duration,
            ]),
            entries: vec![hub(ONE), hub(ONE_REDIS), hub(TWO)],
            keepalive: None,
            rounds: cfg.rounds,
            timeout: Duration::from_secs(300),
        },
        Case {
            section: IDLE,
            name: format!("{steps} connections"),
            workload: "idle",
            args: words(&["--steps", steps, "--settle", settle, "--ping-every", "5"]),
            entries: vec![hub(ONE), hub(ONE_REDIS)],
            keepalive: Some(5.0),
            rounds: 1,
            timeout: Duration::from_secs(300),
        },
    ]
}

/// One run: the node(s) the column asks for, the generator, Redis's PUBLISH count around it.
fn run_one(cfg: &Config, case: &Case, e: &Entry, redis: &RedisServer) -> Result<Value, String> {
    let busy_before = quiet_gate(cfg);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let on_redis = vec!["--redis".to_string(), url];
    let flags: &[String] = if e.column == ONE { &[] } else { &on_redis };
    let node = start_server_with(cfg, Server::Hubs, case.keepalive, flags)?;
    let second: Option<Running> = match e.column == TWO {
        true => Some(start_server_with(cfg, Server::Hubs, case.keepalive, flags)?),
        false => None,
    };
    let extra: Vec<String> = second
        .iter()
        .flat_map(|b| ["--addr2".to_string(), format!("127.0.0.1:{}", b.port)])
        .collect();
    let before = publishes(redis.port)?;
    let mut value = drive(cfg, case, e, &node, &extra)?;
    let after = publishes(redis.port)?;
    drop(second);
    drop(node);
    value["busy_before"] = json!(busy_before);
    value["publishes"] = json!(after - before);
    if let Some(sent) = f(&value, &["sent"]).filter(|s| *s > 0.0) {
        value["publishes_per_broadcast"] = json!((after - before) as f64 / sent);
    }
    Ok(value)
}

/// Runs the Redis cases (unless `--only` leaves them out), round by round.
pub(crate) fn run_redis(cfg: &Config, runs: &mut Vec<Run>) {
    if cfg
        .only
        .as_ref()
        .is_some_and(|o| !o.iter().any(|s| s == BROADCAST))
    {
        return;
    }
    let Some(binary) = redis_server_binary() else {
        eprintln!(
            "note: redis cases skipped (no redis-server on the PATH; apt-get install redis-server)"
        );
        return;
    };
    let cases = cases(cfg);
    let redis = match start_redis(cfg, &binary) {
        Ok(redis) => redis,
        Err(e) => {
            for case in &cases {
                runs.push(Run {
                    section: case.section,
                    case: case.name.clone(),
                    column: ONE_REDIS.into(),
                    server: Server::Hubs,
                    round: 0,
                    result: Err(e.clone()),
                });
            }
            return;
        }
    };
    let max_rounds = cases.iter().map(|c| c.rounds).max().unwrap_or(0);
    for round in 0..max_rounds {
        for case in cases.iter().filter(|c| round < c.rounds) {
            let n = case.entries.len();
            for i in 0..n {
                let e = &case.entries[(i + round) % n];
                let t = Instant::now();
                let result = run_one(cfg, case, e, &redis);
                let said = match &result {
                    Ok(v) => format!(
                        "{}{}",
                        brief(case.section, v),
                        f(v, &["publishes_per_broadcast"])
                            .map(|p| format!(", {p:.3} PUBLISH/broadcast"))
                            .unwrap_or_default()
                    ),
                    Err(e) => format!("FAILED: {e}"),
                };
                eprintln!(
                    "[round {}/{}] {} / {} / {}: {said} ({:.1} s)",
                    round + 1,
                    case.rounds,
                    case.section,
                    case.name,
                    e.column,
                    t.elapsed().as_secs_f64()
                );
                runs.push(Run {
                    section: case.section,
                    case: case.name.clone(),
                    column: e.column.clone(),
                    server: Server::Hubs,
                    round,
                    result,
                });
            }
        }
    }
}

/// A column's figure at `path` in each round.
fn per_round(case: &CaseRuns<'_>, column: &str, path: &[&str]) -> Vec<f64> {
    case.get(column)
        .map(|r| {
            r.values()
                .filter_map(|r| ok(r))
                .filter_map(|v| f(v, path))
                .collect()
        })
        .unwrap_or_default()
}

/// `combine(two nodes, one node)` of the figure at `path`, for each round both ran.
fn paired(
    case: &CaseRuns<'_>,
    path: &[&str],
    combine: impl Fn(f64, f64) -> Option<f64>,
) -> Vec<f64> {
    let Some(two) = case.get(TWO) else {
        return Vec::new();
    };
    two.iter()
        .filter_map(|(round, r)| {
            let t = f(ok(r)?, path)?;
            let o = f(ok(case.get(ONE)?.get(round)?)?, path)?;
            combine(t, o)
        })
        .collect()
}

fn med(mut v: Vec<f64>) -> Option<f64> {
    median(&mut v)
}

/// The Markdown of section (k), empty when no Redis case ran.
pub(crate) fn table(runs: &[Run]) -> String {
    let mut out = String::new();
    let dps = ["deliveries_per_s"];
    let last = ["last_delivery", "p50_us"];
    for (name, case) in &by_case(runs, BROADCAST) {
        if out.is_empty() {
            out.push_str(
                "### (k) Scale-out through Redis: broadcast over 2 nodes, deliveries/s (time to last delivery p50, ms)\n\n\
                 | case | hubs (1 node) | hubs+redis (1 node) | 2 nodes+redis | 2 nodes / 1 node | target | last delivery p50, 2 nodes − 1 node (ms), median (worst) of rounds | target | PUBLISH per broadcast, 1 node+redis; 2 nodes | target | flags |\n\
                 |---|---|---|---|---|---|---|---|---|---|---|\n",
            );
        }
        let column = |c: &str| match (
            med(per_round(case, c, &dps)),
            med(per_round(case, c, &last)),
        ) {
            (Some(d), Some(l)) => format!("{} ({:.2})", human(d), l / 1000.0),
            _ => "—".into(),
        };
        // Per round: two nodes over one, and two nodes' p50 minus one node's, each as
        // `median (worst)` (the ratios of every other table are paired by round too).
        let rounds = paired(case, &dps, |two, one| (one > 0.0).then_some(two / one));
        let worst = rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = med(rounds);
        let extras = paired(case, &last, |two, one| Some((two - one) / 1000.0));
        let worst_extra = extras.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let extra = med(extras);
        // Exactly one PUBLISH per broadcast sent, give or take those in flight at the end.
        let publish_cell = |c: &str| {
            let (p, s) = (
                per_round(case, c, &["publishes"]),
                per_round(case, c, &["sent"]),
            );
            let exact = !p.is_empty()
                && p.iter()
                    .zip(&s)
                    .all(|(p, s)| *p <= *s && *p + WINDOW as f64 >= *s);
            let text = match med(per_round(case, c, &["publishes_per_broadcast"])) {
                Some(r) => format!(
                    "{r:.3} ({} / {})",
                    human(med(p).unwrap_or(0.0)),
                    human(med(s).unwrap_or(0.0))
                ),
                None => "—".into(),
            };
            (text, exact)
        };
        let (one_p, one_ok) = publish_cell(ONE_REDIS);
        let (two_p, two_ok) = publish_cell(TWO);
        let mut notes = Vec::new();
        let all = [ONE, ONE_REDIS, TWO];
        let any = |test: &dyn Fn(&Value) -> bool| {
            all.iter().any(|c| {
                case.get(*c)
                    .is_some_and(|r| r.values().filter_map(|r| ok(r)).any(test))
            })
        };
        if any(&generator_bound) {
            notes.push("generator-bound");
        }
        if any(&|v| f(v, &["closed"]).unwrap_or(0.0) > 0.0 || f(v, &["stale"]).unwrap_or(0.0) > 0.0)
        {
            notes.push("connections lost");
        }
        let met = |m: bool| if m { "met" } else { "**missed**" };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | ≥ 0.7 {} | {} | ≤ 1 ms {} | {one_p}; {two_p} | 1 {} | {} |\n\n",
            column(ONE),
            column(ONE_REDIS),
            column(TWO),
            ratio.map_or("—".into(), |r| format!("{r:.2} ({worst:.2})")),
            ratio.map_or("—", |r| met(r >= 0.7)),
            extra.map_or("—".into(), |x| format!("{x:+.2} ({worst_extra:+.2})")),
            extra.map_or("—", |x| met(x <= 1.0)),
            met(one_ok && two_ok),
            notes.join(", "),
        ));
    }
    for (name, case) in &by_case(runs, IDLE) {
        out.push_str(
            "### (k) Scale-out through Redis: idle memory per connection (bytes; slope from the first to the last step, and RSS/conns at each step)\n\n\
             | case | hubs | hubs+redis | hubs+redis / hubs | target |\n|---|---|---|---|---|\n",
        );
        let detail = |c: &str| {
            let Some(v) = case
                .get(c)
                .and_then(|r| r.values().next())
                .and_then(|r| ok(r))
            else {
                return "—".to_string();
            };
            let steps: Vec<String> = v["points"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .map(|p| human(f(p, &["bytes_per_conn"]).unwrap_or(0.0)))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} ({})",
                human(f(v, &["slope_bytes_per_conn"]).unwrap_or(0.0)),
                steps.join(", ")
            )
        };
        let slope = |c: &str| med(per_round(case, c, &["slope_bytes_per_conn"]));
        let (ratio, verdict) = match (slope(ONE_REDIS), slope(ONE)) {
            (Some(r), Some(o)) if o > 0.0 => (
                format!("{:.3}", r / o),
                if r / o <= 1.05 { "met" } else { "**missed**" },
            ),
            _ => ("—".into(), "—"),
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {ratio} | unchanged (≤ 1.05) {verdict} |\n\n",
            detail(ONE),
            detail(ONE_REDIS)
        ));
    }
    out
}
