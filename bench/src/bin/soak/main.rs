//! The soak test: thousands of SignalR connections (WebSockets and Long Polling) with mixed
//! traffic for minutes, every message numbered and checked. See `RELIABILITY.md`.
//!
//! `soak [--connections 19000] [--minutes 10] [--workers N] [--long-polling 0.05]
//! [--groups 100] [--broadcasts-per-sec 1] [--group-sends-per-sec 20] [--echo-every 30]
//! [--churn 0.05] [--ramp-secs S] [--out FILE] [--skip echo,stream,upload,move]
//! [--drop-every N] [--repeat-every N]` starts
//! `soak-server` (next to this binary; the last two make it skip or double every Nth
//! broadcast or group send, to see the checks catch it),
//! runs the workers (this binary with `--worker`), samples the server's memory and file
//! descriptors every 10 s, checks that the server let go of every connection, prints the
//! totals and writes them to `--out`. Exits 1 when anything was lost, duplicated, reordered
//! or wrong, or a connection failed.

mod check;
mod link;
mod plan;
mod report;
mod session;
mod worker;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bench::args::Args;

use crate::check::{Report, Totals};
use crate::plan::{Plan, now_ns};

/// Connections per worker process, well under the 20,000 descriptors a process may open.
const PER_WORKER: usize = 4_800;

fn main() {
    let args = Args::from_env();
    if let Some(worker) = args.str("worker") {
        let plan: Plan = serde_json::from_str(args.str("plan").unwrap_or_default())
            .unwrap_or_else(|e| panic!("--plan: {e}"));
        let totals = worker::run(plan, worker.parse().expect("--worker: a number"));
        println!(
            "RESULT {}",
            serde_json::to_string(&totals.report()).unwrap_or_default()
        );
        return;
    }
    std::process::exit(orchestrate(&args));
}

fn orchestrate(args: &Args) -> i32 {
    let connections: usize = args.get("connections", 19_000);
    let minutes: f64 = args.get("minutes", 10.0);
    let workers: usize = args.get("workers", connections.div_ceil(PER_WORKER).max(1));
    let share: f64 = args.get("long-polling", 0.05);
    let ramp_secs: f64 = args.get("ramp-secs", (connections as f64 / 300.0).max(5.0));
    let out = args.get("out", "target/soak/soak-report.md".to_string());
    // Deliberate server faults, to see the checks catch them.
    let mut faults = Vec::new();
    for fault in ["drop-every", "repeat-every"] {
        if let Some(n) = args.str(fault) {
            faults.extend([format!("--{fault}"), n.to_string()]);
        }
    }
    let (mut server, port) = start_server(&faults);
    let start_ns = now_ns() + 1_000_000_000;
    let steady_ns = start_ns + (ramp_secs * 1e9) as u64;
    let stop_ns = steady_ns + (minutes * 60e9) as u64;
    let plan = Plan {
        port,
        workers,
        connections,
        long_polling_every: if share > 0.0 {
            (1.0 / share).round() as usize
        } else {
            0
        },
        groups: args.get("groups", 100),
        broadcasts_per_sec: args.get("broadcasts-per-sec", 1.0),
        group_sends_per_sec: args.get("group-sends-per-sec", 20.0),
        echo_every_secs: args.get("echo-every", 30.0),
        churn_per_minute: args.get("churn", 0.05),
        skip: args
            .str("skip")
            .unwrap_or("")
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        start_ns,
        steady_ns,
        stop_ns,
        final_ns: stop_ns + 5_000_000_000,
        check_ns: stop_ns + 15_000_000_000,
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    eprintln!(
        "soak: {connections} connections ({} long polling) in {workers} workers, {ramp_secs:.0} s \
         ramp, {minutes} min steady, server pid {}",
        (0..connections)
            .filter(|&s| plan.is_long_polling(s))
            .count(),
        server.id()
    );
    let plan_json = serde_json::to_string(&plan).expect("a plan serializes");
    let exe = std::env::current_exe().expect("this binary's path");
    let children: Vec<Child> = (0..workers)
        .map(|w| {
            Command::new(&exe)
                .args(["--worker", &w.to_string(), "--plan", &plan_json])
                .stdout(Stdio::piped())
                .spawn()
                .expect("a worker starts")
        })
        .collect();
    let samples = report::sample_until(server.id(), &plan);
    let mut totals = Totals::default();
    let mut missing = 0;
    for mut child in children {
        let stdout = child.stdout.take().expect("piped stdout");
        let result = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("RESULT ").map(str::to_string));
        let _ = child.wait();
        match result.and_then(|r| serde_json::from_str::<Report>(&r).ok()) {
            Some(report) => totals.merge(&report),
            None => missing += 1,
        }
    }
    let after = report::server_after(server.id(), port);
    let _ = server.kill();
    let _ = server.wait();
    let text = report::render(&report::Run {
        command: &command,
        plan: &plan,
        totals: &totals,
        samples: &samples,
        after: &after,
        missing_workers: missing,
    });
    print!("{text}");
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::File::create(&out).and_then(|mut f| f.write_all(text.as_bytes())) {
        Ok(()) => eprintln!("soak: report written to {out}"),
        Err(e) => eprintln!("soak: cannot write {out}: {e}"),
    }
    let freed = after.live == Some(1);
    if totals.clean() && missing == 0 && freed {
        0
    } else {
        1
    }
}

/// Starts `soak-server` from this binary's directory on a free port.
fn start_server(extra: &[String]) -> (Child, u16) {
    let exe = std::env::current_exe().expect("this binary's path");
    let server = exe.with_file_name("soak-server");
    let mut child = Command::new(&server)
        .args(["--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let _ = reader.read_line(&mut line);
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("soak-server said {line:?}"));
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    std::thread::sleep(Duration::from_millis(100));
    (child, port)
}
