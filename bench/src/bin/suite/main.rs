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
//! Flags: `--rounds N`, `--only echo,latency,auth,stateful,broadcast,groups,idle,ramp,slow,disconnect,redis`
//! (`redis`: broadcast over two nodes sharing a redis-server the suite starts, and idle memory on
//! the Redis manager; skipped with a note without redis-server on the PATH),
//! `--python PATH` (a Python with aiosignalr; default `target/bench-venv/bin/python`),
//! `--no-pin`, `--quiet-wait SECONDS` (how long to wait for other load to go away before each
//! run), `--hubs-bin PATH` and `--hubs-args "..."` (another build of, or extra flags for, the
//! hubs contestant: to measure a runtime change against the same limits in one run). The suite builds nothing: it runs the contestant binaries next to its own executable.
//! Raw results go to `target/bench/results-<time>.json`, the tables also to
//! `target/bench/table-<time>.md`.

mod cases;
mod figures;
mod redis;
mod run;
mod scale;
mod tables;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench::args::Args;
use serde_json::{Value, json};

use figures::{f, primary};
use run::run_cases;
use tables::table;

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
    FastWs,
    Frame,
    SocketIo,
    AioSignalR,
}

impl Server {
    fn label(self) -> &'static str {
        match self {
            Server::Hubs => "hubs",
            Server::Raw => "raw",
            Server::FastWs => "fastwebsockets",
            Server::Frame => "frame",
            Server::SocketIo => "socketioxide",
            Server::AioSignalR => "aiosignalr",
        }
    }

    fn binary(self) -> Option<&'static str> {
        match self {
            Server::Hubs => Some("hubs-server"),
            Server::Raw => Some("raw-server"),
            Server::FastWs => Some("fastws-server"),
            Server::Frame => Some("frame-server"),
            Server::SocketIo => Some("sio-server"),
            Server::AioSignalR => None,
        }
    }

    fn is_peer(self) -> bool {
        matches!(self, Server::SocketIo | Server::AioSignalR)
    }
}

const ALL_SERVERS: [Server; 6] = [
    Server::Hubs,
    Server::Raw,
    Server::FastWs,
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
    /// Open files every process may have (the suite raises its soft limit to the hard one;
    /// its children inherit it): the idle steps stay below it.
    fd_limit: u64,
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
                    "idle" | redis::IDLE => v["points"].as_array().is_some_and(|p| !p.is_empty()),
                    // The in-memory node publishes nothing; the Redis ones must.
                    redis::BROADCAST => {
                        value > 0.0
                            && (r.column == "hubs" || f(v, &["publishes"]).unwrap_or(0.0) > 0.0)
                    }
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
        "fastws-server",
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
        fd_limit: bench::procfs::raise_fd_limit(),
    };
    let _ = std::fs::create_dir_all(repo.join("target/bench"));
    let started = Instant::now();
    let all = cases::cases(&cfg, &peers);
    let mut runs = Vec::new();
    // Echo first: its peaks set the rate of the latency cases.
    let (echo, rest): (Vec<Case>, Vec<Case>) = all.into_iter().partition(|c| c.section == "echo");
    run_cases(&cfg, &echo, &mut runs);
    let wants_latency = cfg
        .only
        .as_ref()
        .is_none_or(|o| o.iter().any(|s| s == "latency"));
    if wants_latency {
        let latency = cases::latency_cases(&cfg, &runs, &peers);
        run_cases(&cfg, &latency, &mut runs);
    }
    run_cases(&cfg, &rest, &mut runs);
    redis::run_redis(&cfg, &mut runs);

    let table = format!(
        "{}\n{}{}{}",
        machine(&cfg, started.elapsed()),
        table(&runs, cfg.rounds),
        redis::table(&runs),
        scale::projections(&runs, &scale::Node::this(cfg.fd_limit)),
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
