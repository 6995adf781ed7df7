//! Running one case: contestant servers pinned to their core, the generator on the other.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench::procfs::SystemSample;
use serde_json::{Value, json};

use crate::figures::brief;
use crate::{Case, Config, Entry, GENERATOR_CORE, Run, SERVER_CORE, Server};

pub(crate) fn pinned(cfg: &Config, core: &str, program: &Path) -> Command {
    if cfg.pin {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(core).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A contestant server, started for one run.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(cfg: &Config, server: Server, keepalive: Option<f64>) -> Result<Running, String> {
    start_server_with(cfg, server, keepalive, &[])
}

/// Starts a contestant with `extra` flags (`--redis URL`).
pub(crate) fn start_server_with(
    cfg: &Config,
    server: Server,
    keepalive: Option<f64>,
    extra: &[String],
) -> Result<Running, String> {
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
    cmd.args(extra);
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
pub(crate) fn quiet_gate(cfg: &Config) -> f64 {
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
    let mut value = drive(cfg, case, e, &server, &[])?;
    drop(server);
    value["busy_before"] = json!(busy_before);
    Ok(value)
}

/// Runs the generator on `case` against `server` (with `extra` generator flags) and reads its
/// result.
pub(crate) fn drive(
    cfg: &Config,
    case: &Case,
    e: &Entry,
    server: &Running,
    extra: &[String],
) -> Result<Value, String> {
    let pid = server.child.id();
    let mut cmd = pinned(cfg, GENERATOR_CORE, &cfg.bin_dir.join("loadgen"));
    cmd.arg(case.workload)
        .args(["--addr", &format!("127.0.0.1:{}", server.port)])
        .args(["--flavor", &e.flavor, "--path", e.path])
        .args(["--server-pid", &pid.to_string()])
        .args(&case.args)
        .args(extra)
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
    if !status.success() {
        return Err(format!("loadgen failed ({status}): {}", stderr.trim()));
    }
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("loadgen printed {line:?}: {e}"))
}

/// Runs `cases` round by round, rotating the order of contestants each round.
pub(crate) fn run_cases(cfg: &Config, cases: &[Case], runs: &mut Vec<Run>) {
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
pub(crate) fn auth_token() -> String {
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
