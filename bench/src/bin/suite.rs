//! The benchmark suite: every workload against every contestant, interleaved over rounds, then
//! tables of ratios (hubs / raw limit, hubs / best peer) with the absolute figures beside them.
//!
//! ```text
//! cargo build --release -p bench
//! cargo run --release -p bench --bin suite            # the full suite (about 30 minutes)
//! cargo run --release -p bench --bin suite -- --quick # fewer cases, one round
//! cargo run -p bench --bin suite -- --smoke           # checks the tools work (CI; no timings)
//! ```
//!
//! Flags: `--rounds N`, `--only echo,latency,auth,broadcast,groups,idle,ramp,slow,disconnect`,
//! `--python PATH` (a Python with aiosignalr; default `target/bench-venv/bin/python`),
//! `--no-pin`, `--quiet-wait SECONDS` (how long to wait for other load to go away before each
//! run), `--hubs-bin PATH` and `--hubs-args "..."` (another build of, or extra flags for, the
//! hubs contestant: to measure a runtime change against the same limits in one run). The suite builds nothing: it runs the contestant binaries next to its own executable.
//! Raw results go to `target/bench/results-<time>.json`, the tables also to
//! `target/bench/table-<time>.md`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench::args::Args;
use bench::procfs::SystemSample;
use serde_json::{Value, json};

/// The server core and the generator core.
const SERVER_CORE: &str = "0";
const GENERATOR_CORE: &str = "1";
/// A generator using this share of its core or more limits the run: not a ceiling.
const GENERATOR_BOUND: f64 = 0.90;
/// Other processes using this many cores during a run make it noisy.
const NOISY: f64 = 0.30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Hubs,
    Raw,
    Frame,
    SocketIo,
    AioSignalR,
}

impl Server {
    fn label(self) -> &'static str {
        match self {
            Server::Hubs => "hubs",
            Server::Raw => "raw",
            Server::Frame => "frame",
            Server::SocketIo => "socketioxide",
            Server::AioSignalR => "aiosignalr",
        }
    }

    fn binary(self) -> Option<&'static str> {
        match self {
            Server::Hubs => Some("hubs-server"),
            Server::Raw => Some("raw-server"),
            Server::Frame => Some("frame-server"),
            Server::SocketIo => Some("sio-server"),
            Server::AioSignalR => None,
        }
    }

    fn is_peer(self) -> bool {
        matches!(self, Server::SocketIo | Server::AioSignalR)
    }
}

const ALL_SERVERS: [Server; 5] = [
    Server::Hubs,
    Server::Raw,
    Server::Frame,
    Server::SocketIo,
    Server::AioSignalR,
];

/// One contestant in one case: a server and how the generator speaks to it.
#[derive(Debug, Clone)]
struct Entry {
    server: Server,
    /// A column name when one server appears twice in a case (negotiate or not).
    column: String,
    flavor: String,
    path: &'static str,
}

fn entry(server: Server, flavor: &str, path: &'static str) -> Entry {
    Entry {
        server,
        column: server.label().to_string(),
        flavor: flavor.to_string(),
        path,
    }
}

/// One row of a table: a workload with fixed parameters, run against each entry.
#[derive(Debug, Clone)]
struct Case {
    section: &'static str,
    name: String,
    workload: &'static str,
    args: Vec<String>,
    entries: Vec<Entry>,
    keepalive: Option<f64>,
    rounds: usize,
    timeout: Duration,
}

struct Config {
    smoke: bool,
    quick: bool,
    rounds: usize,
    only: Option<Vec<String>>,
    bin_dir: PathBuf,
    repo: PathBuf,
    python: Option<PathBuf>,
    pin: bool,
    quiet_wait: Duration,
    /// `--hubs-bin`: another build of the hubs contestant (to measure a runtime change).
    hubs_bin: Option<PathBuf>,
    /// `--hubs-args`: extra flags for the hubs contestant (`--write-buffer 16384`).
    hubs_args: Vec<String>,
}

/// What one run produced.
#[derive(Debug, Clone)]
struct Run {
    section: &'static str,
    case: String,
    column: String,
    server: Server,
    round: usize,
    result: Result<Value, String>,
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn echo_entries(json: bool, peers: &[Server]) -> Vec<Entry> {
    let (signalr, raw) = match json {
        true => ("signalr-json", "raw"),
        false => ("signalr-msgpack", "raw-binary"),
    };
    let mut entries = vec![
        entry(Server::Hubs, signalr, "/hub"),
        entry(Server::Raw, raw, "/echo"),
    ];
    if json && peers.contains(&Server::SocketIo) {
        entries.push(entry(Server::SocketIo, "socketio", "/"));
    }
    if peers.contains(&Server::AioSignalR) {
        entries.push(entry(Server::AioSignalR, signalr, "/hub"));
    }
    entries
}

/// The cases of the suite in this mode, in run order (the latency cases are added once the echo
/// peaks are known).
fn cases(cfg: &Config, peers: &[Server]) -> Vec<Case> {
    let (warmup, duration) = match (cfg.smoke, cfg.quick) {
        (true, _) => ("0.1", "0.3"),
        (false, true) => ("0.5", "2"),
        (false, false) => ("1", "3"),
    };
    let timing = |mut extra: Vec<String>| {
        extra.extend(words(&["--warmup", warmup, "--duration", duration]));
        extra
    };
    let rounds = cfg.rounds;
    let mut out = Vec::new();

    // (a) echo, closed loop.
    let (conns, sizes): (&[usize], &[usize]) = match (cfg.smoke, cfg.quick) {
        (true, _) => (&[4], &[32]),
        (false, true) => (&[1, 100], &[32, 1024]),
        (false, false) => (&[1, 100, 1000], &[32, 1024]),
    };
    for &json in &[true, false] {
        for &c in conns {
            for &size in sizes {
                out.push(Case {
                    section: "echo",
                    name: format!(
                        "{} conns, {} B, {}",
                        c,
                        size,
                        if json { "JSON" } else { "MessagePack" }
                    ),
                    workload: "echo",
                    args: timing(words(&[
                        "--conns",
                        &c.to_string(),
                        "--size",
                        &size.to_string(),
                    ])),
                    entries: echo_entries(json, peers),
                    keepalive: None,
                    rounds,
                    timeout: Duration::from_secs(120),
                });
            }
        }
    }

    // (i) the cost of authorization: the same echo behind a hub-level #[authorize] and a
    // method policy, with a bearer token.
    let with_token: &'static str =
        Box::leak(format!("/hub-auth?access_token={}", auth_token()).into_boxed_str());
    let auth_conns: &[usize] = match (cfg.smoke, cfg.quick) {
        (true, _) => &[4],
        (false, true) => &[100],
        (false, false) => &[1, 100],
    };
    for &json in &[true, false] {
        let flavor = if json {
            "signalr-json"
        } else {
            "signalr-msgpack"
        };
        for &c in auth_conns {
            out.push(Case {
                section: "auth",
                name: format!(
                    "{c} conns, 32 B, {}",
                    if json { "JSON" } else { "MessagePack" }
                ),
                workload: "echo",
                args: timing(words(&["--conns", &c.to_string(), "--size", "32"])),
                entries: vec![
                    entry(Server::Hubs, flavor, "/hub"),
                    Entry {
                        column: "hubs+auth".into(),
                        ..entry(Server::Hubs, flavor, with_token)
                    },
                ],
                keepalive: None,
                rounds,
                timeout: Duration::from_secs(120),
            });
        }
    }

    // (c) broadcast to everyone.
    let mut fan = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        entry(Server::Frame, "raw", "/broadcast"),
        entry(Server::Raw, "raw", "/broadcast"),
    ];
    fan.extend(peers.iter().map(|&p| match p {
        Server::SocketIo => entry(p, "socketio", "/"),
        _ => entry(p, "signalr-json", "/hub"),
    }));
    let fan_sizes: &[usize] = match (cfg.smoke, cfg.quick) {
        (true, _) => &[20],
        (false, true) => &[1000, 5000],
        (false, false) => &[1000, 5000, 10000],
    };
    for &n in fan_sizes {
        out.push(Case {
            section: "broadcast",
            name: format!("{n} receivers, 32 B"),
            workload: "fanout",
            args: timing(words(&[
                "--conns",
                &n.to_string(),
                "--size",
                "32",
                "--window",
                "2",
            ])),
            entries: fan.clone(),
            keepalive: None,
            rounds,
            timeout: Duration::from_secs(300),
        });
    }

    // (d) groups.
    let grouped: Vec<Entry> = fan
        .iter()
        .filter(|e| matches!(e.server, Server::Hubs) || e.server.is_peer())
        .cloned()
        .collect();
    let group_cases: &[(&str, usize, usize, usize)] = match cfg.smoke {
        true => &[("small", 20, 5, 8)],
        false => &[("small", 1000, 10, 200), ("large", 1000, 250, 8)],
    };
    for &(kind, n, size, window) in group_cases {
        out.push(Case {
            section: "groups",
            name: format!("{} groups of {size} ({kind}), 32 B", n / size),
            workload: "fanout",
            args: timing(words(&[
                "--conns",
                &n.to_string(),
                "--group-size",
                &size.to_string(),
                "--window",
                &window.to_string(),
                "--size",
                "32",
            ])),
            entries: grouped.clone(),
            keepalive: None,
            rounds,
            timeout: Duration::from_secs(300),
        });
    }

    // (e) idle memory, after keep-alives (every 5 s) have flowed.
    let mut idle_entries = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        entry(Server::Raw, "raw", "/echo"),
        entry(Server::Frame, "raw", "/broadcast"),
    ];
    idle_entries.extend(grouped.iter().filter(|e| e.server.is_peer()).cloned());
    let (steps, settle) = match (cfg.smoke, cfg.quick) {
        (true, _) => ("10,20", "0.1"),
        (false, true) => ("1000,5000", "6"),
        (false, false) => ("1000,5000,10000", "7"),
    };
    out.push(Case {
        section: "idle",
        name: format!("{steps} connections"),
        workload: "idle",
        args: words(&["--steps", steps, "--settle", settle, "--ping-every", "5"]),
        entries: idle_entries.clone(),
        keepalive: Some(5.0),
        rounds: 1,
        timeout: Duration::from_secs(300),
    });

    // (f) connection ramp, with and without negotiate.
    let mut ramp_entries = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        Entry {
            column: "hubs+negotiate".into(),
            ..entry(Server::Hubs, "signalr-json+negotiate", "/hub")
        },
        entry(Server::Raw, "raw", "/echo"),
    ];
    for e in grouped.iter().filter(|e| e.server.is_peer()) {
        ramp_entries.push(e.clone());
        if e.server == Server::AioSignalR {
            ramp_entries.push(Entry {
                column: "aiosignalr+negotiate".into(),
                ..entry(Server::AioSignalR, "signalr-json+negotiate", "/hub")
            });
        }
    }
    let ramp_conns = match (cfg.smoke, cfg.quick) {
        (true, _) => "20",
        (false, true) => "1000",
        (false, false) => "2000",
    };
    out.push(Case {
        section: "ramp",
        name: format!("{ramp_conns} connections, 32 at a time"),
        workload: "ramp",
        args: words(&["--conns", ramp_conns, "--concurrency", "32"]),
        entries: ramp_entries,
        keepalive: None,
        rounds,
        timeout: Duration::from_secs(120),
    });

    // (g) one slow consumer among 1k receivers.
    let mut slow_entries = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        entry(Server::Raw, "raw", "/broadcast"),
    ];
    slow_entries.extend(grouped.iter().filter(|e| e.server.is_peer()).cloned());
    // Enough data for the slow receiver's backlog to outgrow kernel buffers and a server's
    // queue (hubs: 1024 messages) within the slow period.
    let slow_args = match (cfg.smoke, cfg.quick) {
        (true, _) => words(&[
            "--conns",
            "10",
            "--rate",
            "40",
            "--baseline",
            "0.2",
            "--slow-for",
            "0.5",
            "--warmup",
            "0.1",
            "--drain",
            "0.2",
        ]),
        (false, true) => words(&[
            "--conns",
            "1000",
            "--rate",
            "40",
            "--baseline",
            "3",
            "--slow-for",
            "25",
        ]),
        (false, false) => words(&[
            "--conns",
            "1000",
            "--rate",
            "40",
            "--baseline",
            "5",
            "--slow-for",
            "40",
        ]),
    };
    let mut slow_args = slow_args;
    slow_args.extend(words(&["--size", "16384"]));
    let slow_name = format!(
        "{} receivers + 1 that stops reading (4 KiB receive buffer), {} broadcasts/s of 16 KiB",
        slow_args[1], slow_args[3]
    );
    out.push(Case {
        section: "slow",
        name: slow_name,
        workload: "slow",
        args: slow_args,
        entries: slow_entries,
        keepalive: None,
        rounds: if cfg.smoke || cfg.quick {
            1
        } else {
            rounds.min(2)
        },
        timeout: Duration::from_secs(180),
    });

    // (h) disconnect cost with few and many groups.
    let group_counts: &[&str] = match cfg.smoke {
        true => &["20", "200"],
        false => &["2000", "50000"],
    };
    let leaving = match (cfg.smoke, cfg.quick) {
        (true, _) => "10",
        (false, true) => "500",
        (false, false) => "1000",
    };
    let holders = if cfg.smoke { "4" } else { "100" };
    for &groups in group_counts {
        out.push(Case {
            section: "disconnect",
            name: format!("{groups} groups exist"),
            workload: "disconnect",
            args: words(&[
                "--groups",
                groups,
                "--holders",
                holders,
                "--conns",
                leaving,
                "--per-conn",
                "5",
                "--idle-window",
                if cfg.smoke { "0.2" } else { "1" },
            ]),
            entries: grouped.clone(),
            keepalive: None,
            rounds: if cfg.quick || cfg.smoke {
                1
            } else {
                rounds.min(2)
            },
            timeout: Duration::from_secs(300),
        });
    }

    match &cfg.only {
        Some(only) => out
            .into_iter()
            .filter(|c| only.iter().any(|o| o == c.section))
            .collect(),
        None => out,
    }
}

// ---- running ------------------------------------------------------------------------------

fn pinned(cfg: &Config, core: &str, program: &Path) -> Command {
    if cfg.pin {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(core).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A contestant server, started for one run.
struct Running {
    child: Child,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(cfg: &Config, server: Server, keepalive: Option<f64>) -> Result<Running, String> {
    let mut cmd = match server.binary() {
        Some(_) if server == Server::Hubs && cfg.hubs_bin.is_some() => pinned(
            cfg,
            SERVER_CORE,
            cfg.hubs_bin.as_deref().unwrap_or(Path::new("")),
        ),
        Some(binary) => pinned(cfg, SERVER_CORE, &cfg.bin_dir.join(binary)),
        None => {
            let python = cfg.python.as_ref().ok_or("no Python with aiosignalr")?;
            let mut cmd = pinned(cfg, SERVER_CORE, python);
            cmd.arg(cfg.repo.join("bench/py/aiosignalr_server.py"));
            cmd
        }
    };
    cmd.args(["--port", "0"]);
    if let Some(k) = keepalive {
        cmd.args(["--keepalive", &k.to_string()]);
    }
    if server == Server::Hubs {
        cmd.args(&cfg.hubs_args);
    }
    let log = std::fs::File::create(
        cfg.repo
            .join(format!("target/bench/{}.log", server.label())),
    )
    .map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.label()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Keep reading so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let mut running = Running { child, port: 0 };
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| format!("{} did not announce its port", server.label()))?;
    running.port = line
        .strip_prefix("listening ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("{}: unexpected first line {line:?}", server.label()))?;
    Ok(running)
}

/// Waits until other processes leave the machine nearly idle (or `quiet_wait` passes).
fn quiet_gate(cfg: &Config) -> f64 {
    if cfg.quiet_wait.is_zero() {
        return 0.0;
    }
    let deadline = Instant::now() + cfg.quiet_wait;
    loop {
        let before = SystemSample::take();
        std::thread::sleep(Duration::from_millis(300));
        let busy = SystemSample::take().busy_cores_since(&before);
        if busy < 0.2 || Instant::now() >= deadline {
            return busy;
        }
        std::thread::sleep(Duration::from_millis(700));
    }
}

fn run_one(cfg: &Config, case: &Case, e: &Entry) -> Result<Value, String> {
    let busy_before = quiet_gate(cfg);
    let server = start_server(cfg, e.server, case.keepalive)?;
    let pid = server.child.id();
    let mut cmd = pinned(cfg, GENERATOR_CORE, &cfg.bin_dir.join("loadgen"));
    cmd.arg(case.workload)
        .args(["--addr", &format!("127.0.0.1:{}", server.port)])
        .args(["--flavor", &e.flavor, "--path", e.path])
        .args(["--server-pid", &pid.to_string()])
        .args(&case.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("starting loadgen: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > case.timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("loadgen timed out after {:?}", case.timeout));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    drop(server);
    if !status.success() {
        return Err(format!("loadgen failed ({status}): {}", stderr.trim()));
    }
    let line = stdout.lines().last().unwrap_or("");
    let mut value: Value =
        serde_json::from_str(line).map_err(|e| format!("loadgen printed {line:?}: {e}"))?;
    value["busy_before"] = json!(busy_before);
    Ok(value)
}

/// Runs `cases` round by round, rotating the order of contestants each round.
fn run_cases(cfg: &Config, cases: &[Case], runs: &mut Vec<Run>) {
    let max_rounds = cases.iter().map(|c| c.rounds).max().unwrap_or(0);
    for round in 0..max_rounds {
        for case in cases.iter().filter(|c| round < c.rounds) {
            let n = case.entries.len();
            for i in 0..n {
                let e = &case.entries[(i + round) % n];
                let t = Instant::now();
                let result = run_one(cfg, case, e);
                let brief = match &result {
                    Ok(v) => brief(case.section, v),
                    Err(e) => format!("FAILED: {e}"),
                };
                eprintln!(
                    "[round {}/{}] {} / {} / {}: {brief} ({:.1} s)",
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
                    server: e.server,
                    round,
                    result,
                });
            }
        }
    }
}

/// A bearer token for the authorized hub of the `hubs` contestant, valid for a day.
fn auth_token() -> String {
    let expires = SystemTime::now() + Duration::from_secs(86_400);
    let claims = json!({
        "sub": "bench",
        "name": "bench",
        "iss": bench::server::AUTH_ISSUER,
        "aud": bench::server::AUTH_ISSUER,
        "exp": expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    });
    let key = jsonwebtoken::EncodingKey::from_secret(bench::server::AUTH_KEY)
        .expect("the benchmark key is not empty");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)
        .expect("the benchmark token signs")
}

// ---- metrics ------------------------------------------------------------------------------

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut at = v;
    for key in path {
        at = at.get(key)?;
    }
    at.as_f64()
}

/// The figure a section compares, and whether higher is better.
fn primary(section: &str, v: &Value) -> Option<f64> {
    match section {
        "echo" => f(v, &["msg_per_s"]),
        "auth" => f(v, &["server_cpu_us_per_msg"]),
        "latency" => f(v, &["latency", "p99_us"]),
        "broadcast" | "groups" => f(v, &["deliveries_per_s"]),
        "idle" => f(v, &["slope_bytes_per_conn"]),
        "ramp" => f(v, &["conns_per_s"]),
        "slow" => f(v, &["with_slow", "p99_us"]),
        "disconnect" => f(v, &["cpu_us_per_disconnect"]),
        _ => None,
    }
}

fn higher_is_better(section: &str) -> bool {
    matches!(section, "echo" | "broadcast" | "groups" | "ramp")
}

fn brief(section: &str, v: &Value) -> String {
    let generator = f(v, &["gen_util"])
        .map(|g| format!(", gen {:.0}%", g * 100.0))
        .unwrap_or_default();
    let srv = f(v, &["server_util"])
        .map(|g| format!(", server {:.0}%", g * 100.0))
        .unwrap_or_default();
    let other = f(v, &["other_cores"])
        .map(|o| format!(", other {o:.2} cores"))
        .unwrap_or_default();
    let main = match section {
        "echo" | "auth" => format!(
            "{:.0} msg/s, {:.1} µs CPU/msg, p99 {:.0} µs",
            f(v, &["msg_per_s"]).unwrap_or(0.0),
            f(v, &["server_cpu_us_per_msg"]).unwrap_or(0.0),
            f(v, &["latency", "p99_us"]).unwrap_or(0.0)
        ),
        "latency" => format!(
            "{:.0} msg/s, p50 {:.0} / p99 {:.0} / p99.9 {:.0} µs",
            f(v, &["msg_per_s"]).unwrap_or(0.0),
            f(v, &["latency", "p50_us"]).unwrap_or(0.0),
            f(v, &["latency", "p99_us"]).unwrap_or(0.0),
            f(v, &["latency", "p999_us"]).unwrap_or(0.0)
        ),
        "broadcast" | "groups" => format!(
            "{:.0} deliveries/s, last delivery p50 {:.0} µs",
            f(v, &["deliveries_per_s"]).unwrap_or(0.0),
            f(v, &["last_delivery", "p50_us"]).unwrap_or(0.0)
        ),
        "idle" => format!(
            "{:.0} B/conn",
            f(v, &["slope_bytes_per_conn"]).unwrap_or(0.0)
        ),
        "ramp" => format!("{:.0} conns/s", f(v, &["conns_per_s"]).unwrap_or(0.0)),
        "slow" => format!(
            "p99 {:.0} -> {:.0} µs, RSS max {:.1} -> {:.1} MiB, slow one closed: {}",
            f(v, &["baseline", "p99_us"]).unwrap_or(0.0),
            f(v, &["with_slow", "p99_us"]).unwrap_or(0.0),
            f(v, &["rss_max_first_half"]).unwrap_or(0.0) / 1048576.0,
            f(v, &["rss_max_second_half"]).unwrap_or(0.0) / 1048576.0,
            v["slow_disconnected"]
        ),
        "disconnect" => format!(
            "{:.1} µs CPU/disconnect",
            f(v, &["cpu_us_per_disconnect"]).unwrap_or(0.0)
        ),
        _ => String::new(),
    };
    format!("{main}{generator}{srv}{other}")
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The runs of one case, by column then round.
type CaseRuns<'a> = BTreeMap<String, BTreeMap<usize, &'a Run>>;

fn by_case<'a>(runs: &'a [Run], section: &str) -> Vec<(String, CaseRuns<'a>)> {
    let mut order: Vec<String> = Vec::new();
    let mut map: BTreeMap<String, CaseRuns<'a>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.section == section) {
        if !order.contains(&run.case) {
            order.push(run.case.clone());
        }
        map.entry(run.case.clone())
            .or_default()
            .entry(run.column.clone())
            .or_default()
            .insert(run.round, run);
    }
    order
        .into_iter()
        .map(|c| {
            let runs = map.remove(&c).unwrap_or_default();
            (c, runs)
        })
        .collect()
}

fn ok(run: &Run) -> Option<&Value> {
    run.result.as_ref().ok()
}

fn column_values(case: &CaseRuns<'_>, column: &str, section: &str) -> Vec<f64> {
    case.get(column)
        .map(|rounds| {
            rounds
                .values()
                .filter_map(|r| ok(r).and_then(|v| primary(section, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The median over rounds of the figure at `path` in `column`'s results.
fn metric_median(case: &CaseRuns<'_>, column: &str, path: &[&str]) -> Option<f64> {
    let mut values: Vec<f64> = case
        .get(column)
        .map(|rounds| {
            rounds
                .values()
                .filter_map(|r| ok(r).and_then(|v| f(v, path)))
                .collect()
        })
        .unwrap_or_default();
    median(&mut values)
}

fn column_median(case: &CaseRuns<'_>, column: &str, section: &str) -> Option<f64> {
    median(&mut column_values(case, column, section))
}

fn any_flag(case: &CaseRuns<'_>, columns: &[&str], test: impl Fn(&Value) -> bool) -> bool {
    columns.iter().any(|c| {
        case.get(*c)
            .is_some_and(|rounds| rounds.values().any(|r| ok(r).is_some_and(&test)))
    })
}

/// Ratio of `column` to the comparator in each round; median and worst.
struct Ratio {
    median: f64,
    worst: f64,
    /// The peer compared with in most rounds, for "best peer".
    against: String,
}

fn ratios(
    case: &CaseRuns<'_>,
    section: &str,
    numerator: &str,
    denominator: &[&str],
) -> Option<Ratio> {
    let rounds = case.get(numerator)?;
    let higher = higher_is_better(section);
    let mut values = Vec::new();
    let mut picks: BTreeMap<String, usize> = BTreeMap::new();
    for (round, run) in rounds {
        let Some(top) = ok(run).and_then(|v| primary(section, v)) else {
            continue;
        };
        // The best of the comparators in the same round.
        let best = denominator
            .iter()
            .filter_map(|d| {
                let v = ok(case.get(*d)?.get(round)?).and_then(|v| primary(section, v))?;
                Some((*d, v))
            })
            .reduce(|a, b| if (b.1 > a.1) == higher { b } else { a });
        if let Some((name, bottom)) = best
            && bottom > 0.0
        {
            values.push(top / bottom);
            *picks.entry(name.to_string()).or_default() += 1;
        }
    }
    let worst = if higher {
        values.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        values.iter().copied().fold(0.0, f64::max)
    };
    Some(Ratio {
        median: median(&mut values)?,
        worst,
        against: picks
            .into_iter()
            .max_by_key(|p| p.1)
            .map(|p| p.0)
            .unwrap_or_default(),
    })
}

// ---- tables -------------------------------------------------------------------------------

fn human(x: f64) -> String {
    match x {
        x if x >= 10_000_000.0 => format!("{:.1}M", x / 1e6),
        x if x >= 100_000.0 => format!("{:.0}k", x / 1e3),
        x if x >= 10_000.0 => format!("{:.1}k", x / 1e3),
        x if x >= 100.0 => format!("{x:.0}"),
        x => format!("{x:.2}"),
    }
}

fn cell(x: Option<f64>) -> String {
    x.map(human).unwrap_or_else(|| "—".into())
}

fn ratio_cell(r: &Option<Ratio>) -> String {
    match r {
        Some(r) => format!("{:.2} ({:.2})", r.median, r.worst),
        None => "—".into(),
    }
}

/// Whether a ratio meets `target` in the median (`>=` where higher is better, else `<=`).
fn verdict(r: &Option<Ratio>, target: f64, higher: bool) -> &'static str {
    match r {
        Some(r) if (higher && r.median >= target) || (!higher && r.median <= target) => "met",
        Some(_) => "**missed**",
        None => "—",
    }
}

fn flags(case: &CaseRuns<'_>, columns: &[&str]) -> String {
    let mut notes = Vec::new();
    if any_flag(case, columns, |v| {
        f(v, &["gen_util"]).unwrap_or(0.0) >= GENERATOR_BOUND
    }) {
        notes.push("generator-bound");
    }
    if any_flag(case, columns, |v| {
        f(v, &["other_cores"]).unwrap_or(0.0) >= NOISY
    }) {
        notes.push("noisy");
    }
    if any_flag(case, columns, |v| {
        f(v, &["closed"]).unwrap_or(0.0) > 0.0 || f(v, &["stale"]).unwrap_or(0.0) > 0.0
    }) {
        notes.push("connections lost");
    }
    notes.join(", ")
}

fn columns_present(cases: &[(String, CaseRuns<'_>)]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for label in ALL_SERVERS.iter().map(|s| s.label()) {
        for (_, case) in cases {
            for c in case.keys() {
                let base = c.split('+').next().unwrap_or(c);
                if base == label && !cols.contains(c) {
                    cols.push(c.clone());
                }
            }
        }
    }
    cols
}

fn peers_in<'a>(case: &'a CaseRuns<'_>) -> Vec<&'a str> {
    case.keys()
        .map(String::as_str)
        .filter(|c| matches!(*c, "socketioxide" | "aiosignalr"))
        .collect()
}

/// A section's heading and its table's header and separator rows: `case`, a column per
/// contestant, then `extra`.
fn table_head(title: &str, contestants: &[String], extra: &[&str]) -> String {
    let names: Vec<&str> = std::iter::once("case")
        .chain(contestants.iter().map(String::as_str))
        .chain(extra.iter().copied())
        .collect();
    format!(
        "### {title}\n\n| {} |\n|{}",
        names.join(" | "),
        "---|".repeat(names.len())
    )
}

fn table(runs: &[Run], rounds: usize) -> String {
    let mut out = String::new();
    let mut push = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    push(format!(
        "Ratios are hubs / other, per round, as `median (worst)` over {rounds} round(s); absolute figures are medians. \
         Flags: generator-bound (the generator used ≥ {:.0}% of its core: not a ceiling), noisy (other processes used ≥ {NOISY} cores), connections lost.\n",
        GENERATOR_BOUND * 100.0
    ));

    // (a) echo
    let cases = by_case(runs, "echo");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(a) Echo RPC, closed loop: messages/s",
            &cols,
            &[
                "hubs / raw",
                "target",
                "hubs / best peer",
                "target",
                "server CPU µs/msg hubs, raw (raw / hubs)",
                "flags",
            ],
        ));
        for (name, case) in &cases {
            let target = if name.contains("JSON") { 0.80 } else { 0.85 };
            let raw = ratios(case, "echo", "hubs", &["raw"]);
            let peers = peers_in(case);
            let peer = ratios(case, "echo", "hubs", &peers);
            let cpu = |c: &str| metric_median(case, c, &["server_cpu_us_per_msg"]);
            push(format!(
                "| {name} | {} | {} | ≥ {target} {} | {} {} | ≥ 1.5 {} | {}, {} | {} |",
                cols.iter()
                    .map(|c| cell(column_median(case, c, "echo")))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&raw),
                verdict(&raw, target, true),
                ratio_cell(&peer),
                peer.as_ref()
                    .map(|p| format!("vs {}", p.against))
                    .unwrap_or_default(),
                verdict(&peer, 1.5, true),
                cell(cpu("hubs")),
                match (cpu("hubs"), cpu("raw")) {
                    (Some(h), Some(r)) if h > 0.0 => format!("{} ({:.2})", cell(Some(r)), r / h),
                    (_, r) => cell(r),
                },
                flags(case, &["hubs", "raw"]),
            ));
        }
        push(String::new());
    }

    // (i) authorization
    let cases = by_case(runs, "auth");
    if !cases.is_empty() {
        push(table_head(
            "(i) Echo behind a hub-level #[authorize] and a method policy: server CPU µs/msg",
            &["hubs".to_string(), "hubs+auth".to_string()],
            &["auth / plain", "target", "flags"],
        ));
        for (name, case) in &cases {
            let overhead = ratios(case, "auth", "hubs+auth", &["hubs"]);
            push(format!(
                "| {name} | {} | {} | {} | ≤ 1.05 {} | {} |",
                cell(column_median(case, "hubs", "auth")),
                cell(column_median(case, "hubs+auth", "auth")),
                ratio_cell(&overhead),
                verdict(&overhead, 1.05, false),
                flags(case, &["hubs", "hubs+auth"]),
            ));
        }
        push(String::new());
    }

    // (b) latency
    let cases = by_case(runs, "latency");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(b) Latency at a fixed rate (50% of the slowest contestant's peak): p50 / p99 / p99.9 µs",
            &cols,
            &["hubs / raw p99", "target", "hubs / best peer p99", "flags"],
        ));
        for (name, case) in &cases {
            let q = |c: &str, k: &str| metric_median(case, c, &["latency", k]);
            let raw = ratios(case, "latency", "hubs", &["raw"]);
            let peer = ratios(case, "latency", "hubs", &peers_in(case));
            push(format!(
                "| {name} | {} | {} | ≤ 1.5 {} | {} | {} |",
                cols.iter()
                    .map(|c| format!(
                        "{} / {} / {}",
                        cell(q(c, "p50_us")),
                        cell(q(c, "p99_us")),
                        cell(q(c, "p999_us"))
                    ))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&raw),
                verdict(&raw, 1.5, false),
                ratio_cell(&peer),
                flags(case, &["hubs", "raw"]),
            ));
        }
        push(String::new());
    }

    // (c), (d) fan-out
    for (section, title) in [
        (
            "broadcast",
            "(c) Broadcast fan-out: deliveries/s (time to last delivery p50, ms)",
        ),
        (
            "groups",
            "(d) Groups: deliveries/s (time to last delivery p50, ms)",
        ),
    ] {
        let cases = by_case(runs, section);
        if cases.is_empty() {
            continue;
        }
        let cols = columns_present(&cases);
        let limit_cols = section == "broadcast";
        let limits: &[&str] = if limit_cols {
            &["hubs / frame", "target", "hubs / raw"]
        } else {
            &[]
        };
        push(table_head(
            title,
            &cols,
            &[limits, &["hubs / best peer", "target", "flags"]].concat(),
        ));
        for (name, case) in &cases {
            let last = |c: &str| metric_median(case, c, &["last_delivery", "p50_us"]);
            let peer = ratios(case, section, "hubs", &peers_in(case));
            let limits = if limit_cols {
                let frame = ratios(case, section, "hubs", &["frame"]);
                let raw = ratios(case, section, "hubs", &["raw"]);
                format!(
                    " {} | ≥ 0.90 {} | {} |",
                    ratio_cell(&frame),
                    verdict(&frame, 0.90, true),
                    ratio_cell(&raw)
                )
            } else {
                String::new()
            };
            push(format!(
                "| {name} | {} |{limits} {} {} | ≥ 1.5 {} | {} |",
                cols.iter()
                    .map(|c| format!(
                        "{} ({})",
                        cell(column_median(case, c, section)),
                        cell(last(c).map(|us| us / 1000.0))
                    ))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&peer),
                peer.as_ref()
                    .map(|p| format!("vs {}", p.against))
                    .unwrap_or_default(),
                verdict(&peer, 1.5, true),
                flags(case, &["hubs", "frame", "raw"]),
            ));
        }
        push(String::new());
    }

    // (e) idle memory
    let cases = by_case(runs, "idle");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(e) Idle memory: server RSS per connection (bytes; slope from the first to the last step, and RSS/conns at each step)",
            &cols,
            &[
                "hubs / raw",
                "hubs ≤ 8 KiB at the top step",
                "hubs / best peer",
            ],
        ));
        for (name, case) in &cases {
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
                            .map(|p| human(p["bytes_per_conn"].as_f64().unwrap_or(0.0)))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{} ({})",
                    human(f(v, &["slope_bytes_per_conn"]).unwrap_or(0.0)),
                    steps.join(", ")
                )
            };
            let raw = ratios(case, "idle", "hubs", &["raw"]);
            let peer = ratios(case, "idle", "hubs", &peers_in(case));
            let hubs = column_median(case, "hubs", "idle");
            push(format!(
                "| {name} | {} | {} | {} | {} |",
                cols.iter()
                    .map(|c| detail(c))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&raw),
                match hubs {
                    Some(b) if b <= 8192.0 => format!("met ({})", human(b)),
                    Some(b) => format!("**missed** ({})", human(b)),
                    None => "—".into(),
                },
                ratio_cell(&peer),
            ));
        }
        push(String::new());
    }

    // (f) ramp
    let cases = by_case(runs, "ramp");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(f) Connection ramp: connections/s (server CPU µs per connection)",
            &cols,
            &[
                "hubs / raw",
                "hubs / best peer",
                "hubs+negotiate / hubs",
                "flags",
            ],
        ));
        for (name, case) in &cases {
            let cpu = |c: &str| metric_median(case, c, &["server_cpu_us_per_conn"]);
            let peers: Vec<&str> = case
                .keys()
                .map(String::as_str)
                .filter(|c| c.starts_with("socketioxide") || *c == "aiosignalr")
                .collect();
            push(format!(
                "| {name} | {} | {} | {} | {} | {} |",
                cols.iter()
                    .map(|c| format!(
                        "{} ({})",
                        cell(column_median(case, c, "ramp")),
                        cell(cpu(c))
                    ))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&ratios(case, "ramp", "hubs", &["raw"])),
                ratio_cell(&ratios(case, "ramp", "hubs", &peers)),
                ratio_cell(&ratios(case, "ramp", "hubs+negotiate", &["hubs"])),
                flags(case, &["hubs", "raw"]),
            ));
        }
        push(String::new());
    }

    // (g) slow consumer
    let cases = by_case(runs, "slow");
    if !cases.is_empty() {
        push("### (g) One slow consumer\n".into());
        for (name, case) in &cases {
            push(format!("{name}.\n"));
            push("| server | others' p99 before → with the slow one (µs) | deliveries/s before → with (expected) | RSS MiB: before, max 1st half, max 2nd half of the slow period | slow one disconnected | memory plateaus | p99 holds (≤ 1.5×) |".into());
            push("|---|---|---|---|---|---|---|".into());
            for (column, rounds) in case {
                for (round, run) in rounds {
                    // One row per round: a slow consumer's effect is an event, not an average.
                    let column = if rounds.len() > 1 {
                        format!("{column} (round {})", round + 1)
                    } else {
                        column.clone()
                    };
                    let Some(v) = ok(run) else {
                        push(format!("| {column} | failed | | | | | |"));
                        continue;
                    };
                    let mib = |k: &str| f(v, &[k]).unwrap_or(0.0) / 1048576.0;
                    let before = f(v, &["baseline", "p99_us"]).unwrap_or(0.0);
                    let during = f(v, &["with_slow", "p99_us"]).unwrap_or(0.0);
                    let first = mib("rss_max_first_half");
                    let second = mib("rss_max_second_half");
                    // A plateau: the second half grew less than 5% (or 2 MiB) over the first.
                    let plateau = second <= first * 1.05 || second - first <= 2.0;
                    push(format!(
                        "| {column} | {} → {} | {} → {} ({}) | {:.1}, {:.1}, {:.1} | {} | {} | {} |",
                        human(before),
                        human(during),
                        human(f(v, &["baseline_deliveries_per_s"]).unwrap_or(0.0)),
                        human(f(v, &["with_slow_deliveries_per_s"]).unwrap_or(0.0)),
                        human(f(v, &["expected_deliveries_per_s"]).unwrap_or(0.0)),
                        mib("rss_before"),
                        first,
                        second,
                        v["slow_disconnected"],
                        if plateau { "yes" } else { "**no**" },
                        if during <= before * 1.5 {
                            "yes"
                        } else {
                            "**no**"
                        },
                    ));
                }
            }
            push(String::new());
        }
    }

    // (h) disconnect
    let cases = by_case(runs, "disconnect");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(h) Disconnect cost: server CPU µs per disconnect (5 groups each)",
            &cols,
            &["hubs / best peer"],
        ));
        for (name, case) in &cases {
            push(format!(
                "| {name} | {} | {} |",
                cols.iter()
                    .map(|c| cell(column_median(case, c, "disconnect")))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&ratios(case, "disconnect", "hubs", &peers_in(case))),
            ));
        }
        if cases.len() == 2 {
            let growth = |c: &str| {
                let a = column_median(&cases[0].1, c, "disconnect")?;
                let b = column_median(&cases[1].1, c, "disconnect")?;
                Some(b / a)
            };
            push(format!(
                "| growth, last / first (flat ≈ 1; target for hubs: flat) | {} | |",
                cols.iter()
                    .map(|c| match growth(c) {
                        Some(g) if c == "hubs" && g <= 1.5 => format!("{g:.2} (met)"),
                        Some(g) if c == "hubs" => format!("{g:.2} (**missed**)"),
                        Some(g) => format!("{g:.2}"),
                        None => "—".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        push(String::new());
    }

    // Failures
    let failed: Vec<&Run> = runs.iter().filter(|r| r.result.is_err()).collect();
    if !failed.is_empty() {
        push("### Failed runs\n".into());
        for r in failed {
            push(format!(
                "- {} / {} / {} (round {}): {}",
                r.section,
                r.case,
                r.column,
                r.round + 1,
                r.result.as_ref().err().map(String::as_str).unwrap_or("")
            ));
        }
        push(String::new());
    }
    out
}

// ---- main ---------------------------------------------------------------------------------

fn find_python(repo: &Path, args: &Args) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = [
        args.str("python").map(PathBuf::from),
        std::env::var_os("BENCH_PYTHON").map(PathBuf::from),
        Some(repo.join("target/bench-venv/bin/python")),
    ]
    .into_iter()
    .flatten()
    .collect();
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosignalr"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn smoke_check(runs: &[Run]) -> Vec<String> {
    let mut problems = Vec::new();
    for r in runs {
        match &r.result {
            Err(e) => problems.push(format!("{} / {} / {}: {e}", r.section, r.case, r.column)),
            Ok(v) => {
                let value = primary(r.section, v).unwrap_or(0.0);
                let works = match r.section {
                    "idle" => v["points"].as_array().is_some_and(|p| !p.is_empty()),
                    "slow" => f(v, &["baseline_deliveries_per_s"]).unwrap_or(0.0) > 0.0,
                    "disconnect" => f(v, &["disconnects"]).unwrap_or(0.0) > 0.0,
                    _ => value > 0.0,
                };
                let lost = f(v, &["closed"]).unwrap_or(0.0) > 0.0 && r.section != "slow";
                if !works || lost {
                    problems.push(format!(
                        "{} / {} / {}: implausible result {v}",
                        r.section, r.case, r.column
                    ));
                }
            }
        }
    }
    problems
}

fn main() {
    let args = Args::from_env();
    let smoke = args.has("smoke");
    let quick = args.has("quick");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let repo = repo.canonicalize().unwrap_or(repo);
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| repo.join("target/release"));
    let missing: Vec<&str> = [
        "loadgen",
        "hubs-server",
        "raw-server",
        "frame-server",
        "sio-server",
    ]
    .into_iter()
    .filter(|b| !bin_dir.join(b).exists())
    .collect();
    if !missing.is_empty() {
        eprintln!(
            "missing {} in {}: build them first with `cargo build --release -p bench` (or `cargo build -p bench` for --smoke)",
            missing.join(", "),
            bin_dir.display()
        );
        std::process::exit(2);
    }
    let pin = !args.has("no-pin")
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !pin {
        eprintln!("note: not pinning processes to cores (taskset missing or --no-pin)");
    }
    let python = find_python(&repo, &args);
    let mut peers = vec![Server::SocketIo];
    match &python {
        Some(p) => {
            eprintln!("aiosignalr: {}", p.display());
            peers.push(Server::AioSignalR);
        }
        None => eprintln!(
            "note: aiosignalr skipped (no Python with it; python3 -m venv target/bench-venv && target/bench-venv/bin/pip install -r bench/py/requirements.txt)"
        ),
    }
    let cfg = Config {
        smoke,
        quick,
        rounds: args.get("rounds", if smoke || quick { 1 } else { 3 }),
        only: args
            .str("only")
            .map(|s| s.split(',').map(String::from).collect()),
        bin_dir,
        repo: repo.clone(),
        python,
        pin,
        quiet_wait: Duration::from_secs_f64(args.get(
            "quiet-wait",
            if smoke {
                0.0
            } else if quick {
                10.0
            } else {
                60.0
            },
        )),
        hubs_bin: args.str("hubs-bin").map(PathBuf::from),
        hubs_args: args
            .str("hubs-args")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
    };
    let _ = std::fs::create_dir_all(repo.join("target/bench"));
    let started = Instant::now();
    let all = cases(&cfg, &peers);
    let mut runs = Vec::new();
    // Echo first: its peaks set the rate of the latency cases.
    let (echo, rest): (Vec<Case>, Vec<Case>) = all.into_iter().partition(|c| c.section == "echo");
    run_cases(&cfg, &echo, &mut runs);
    let wants_latency = cfg
        .only
        .as_ref()
        .is_none_or(|o| o.iter().any(|s| s == "latency"));
    if wants_latency {
        let latency = latency_cases(&cfg, &runs, &peers);
        run_cases(&cfg, &latency, &mut runs);
    }
    run_cases(&cfg, &rest, &mut runs);

    let table = format!(
        "{}\n{}",
        machine(&cfg, started.elapsed()),
        table(&runs, cfg.rounds)
    );
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let raw: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "section": r.section, "case": r.case, "column": r.column, "server": r.server.label(),
                "round": r.round, "result": match &r.result { Ok(v) => v.clone(), Err(e) => json!({"error": e}) },
            })
        })
        .collect();
    if !smoke {
        let _ = std::fs::write(
            repo.join(format!("target/bench/results-{stamp}.json")),
            serde_json::to_string_pretty(&raw).unwrap_or_default(),
        );
        let _ = std::fs::write(repo.join(format!("target/bench/table-{stamp}.md")), &table);
    }
    println!("{table}");
    eprintln!("suite finished in {:.0} s", started.elapsed().as_secs_f64());
    if smoke {
        let problems = smoke_check(&runs);
        if problems.is_empty() {
            eprintln!("smoke: {} runs, all tools work", runs.len());
        } else {
            for p in &problems {
                eprintln!("smoke: {p}");
            }
            std::process::exit(1);
        }
    }
}

/// Where and when the suite ran.
fn machine(cfg: &Config, took: Duration) -> String {
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kib| kib.parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1048576.0))
        .unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!(
        "Run of `suite{}` finished {} after {:.0} min; {} cores ({cpu}), {memory} RAM; {}; {}.\n",
        if cfg.smoke {
            " --smoke"
        } else if cfg.quick {
            " --quick"
        } else {
            ""
        },
        output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        took.as_secs_f64() / 60.0,
        bench::procfs::cores(),
        output("uname", &["-srm"]),
        if cfg.pin {
            "servers pinned to core 0 and the generator to core 1 (taskset)"
        } else {
            "not pinned"
        },
    )
}

/// (b): open loop at half the slowest contestant's closed-loop peak (100 connections, 32 B,
/// JSON), the same rate for everyone.
fn latency_cases(cfg: &Config, runs: &[Run], peers: &[Server]) -> Vec<Case> {
    let conns = if cfg.smoke { 4 } else { 100 };
    let wanted = format!("{conns} conns, 32 B, JSON");
    let echo = by_case(runs, "echo");
    let Some((_, case)) = echo.iter().find(|(name, _)| *name == wanted) else {
        return Vec::new();
    };
    let slowest = case
        .keys()
        .filter_map(|c| column_median(case, c, "echo"))
        .fold(f64::INFINITY, f64::min);
    if !slowest.is_finite() || slowest <= 0.0 {
        return Vec::new();
    }
    let rate = (slowest * 0.5).max(10.0);
    let (warmup, duration) = match (cfg.smoke, cfg.quick) {
        (true, _) => ("0.1", "0.3"),
        (false, true) => ("1", "3"),
        (false, false) => ("1", "5"),
    };
    vec![Case {
        section: "latency",
        name: format!("{conns} conns, 32 B, JSON, {} msg/s", human(rate)),
        workload: "echo",
        args: words(&[
            "--conns",
            &conns.to_string(),
            "--size",
            "32",
            "--rate",
            &format!("{rate:.0}"),
            "--warmup",
            warmup,
            "--duration",
            duration,
        ]),
        entries: echo_entries(true, peers),
        keepalive: None,
        rounds: cfg.rounds,
        timeout: Duration::from_secs(120),
    }]
}
