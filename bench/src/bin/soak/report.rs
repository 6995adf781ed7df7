//! The server's memory over time, what it holds once every client is gone, and the report.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bench::client::{self, Endpoint, Flavor};
use bench::procfs;
use bench::wire::{self, HubProtocol, opcode};

use crate::check::{KINDS, LATENCIES, Totals};
use crate::plan::{Plan, instant_at, now_ns};

/// Seconds between samples of the server.
const SAMPLE_SECS: u64 = 10;

/// One look at the server process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Seconds since connecting started.
    pub(crate) at_secs: f64,
    /// Resident memory, bytes.
    pub(crate) rss: u64,
    /// Open file descriptors.
    pub(crate) fds: usize,
}

/// Samples the server every 10 s until every worker has checked and closed.
pub(crate) fn sample_until(pid: u32, plan: &Plan) -> Vec<Sample> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a Tokio runtime");
    let mut samples = Vec::new();
    runtime.block_on(async {
        let mut at = plan.start_ns;
        while at <= plan.check_ns {
            tokio::time::sleep_until(instant_at(at)).await;
            let sample = Sample {
                at_secs: (now_ns() - plan.start_ns) as f64 / 1e9,
                rss: procfs::rss_bytes(pid).unwrap_or(0),
                fds: procfs::open_fds(pid).unwrap_or(0),
            };
            eprintln!(
                "soak: t={:>5.0} s  server RSS {:>7.1} MiB  fds {}",
                sample.at_secs,
                sample.rss as f64 / 1048576.0,
                sample.fds
            );
            samples.push(sample);
            at += SAMPLE_SECS * 1_000_000_000;
        }
    });
    samples
}

/// The server once the workers are done.
#[derive(Debug, Default)]
pub(crate) struct After {
    /// Connections the hub counts as live, asked over one new connection (so 1 is none left).
    pub(crate) live: Option<i64>,
    /// Seconds until `live` reached 1.
    pub(crate) settled_secs: f64,
    /// Open file descriptors then (the asking connection included).
    pub(crate) fds: usize,
    /// Resident memory then.
    pub(crate) rss: u64,
}

/// Asks the hub how many connections it still has, until it says only the asker (30 s at
/// most).
pub(crate) fn server_after(pid: u32, port: u16) -> After {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let begun = now_ns();
    let mut after = After::default();
    for _ in 0..30 {
        after.live = runtime.block_on(ask_live(port));
        if after.live == Some(1) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    after.settled_secs = (now_ns() - begun) as f64 / 1e9;
    after.fds = procfs::open_fds(pid).unwrap_or(0);
    after.rss = procfs::rss_bytes(pid).unwrap_or(0);
    after
}

async fn ask_live(port: u16) -> Option<i64> {
    let endpoint = Endpoint {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        path: crate::link::HUB_PATH.to_string(),
        flavor: Flavor::SignalR {
            protocol: HubProtocol::Json,
            negotiate: false,
            stateful: false,
        },
    };
    let mut conn = client::connect(&endpoint, None).await.ok()?;
    let call = br#"{"type":1,"invocationId":"1","target":"Live","arguments":[]}"#;
    let mut record = call.to_vec();
    record.push(0x1e);
    let answer = conn
        .call(&wire::client_frame(opcode::TEXT, &record))
        .await
        .ok()?;
    let _ = conn
        .send(&wire::client_frame(opcode::CLOSE, &[0x03, 0xe8]))
        .await;
    let text = std::str::from_utf8(&answer).ok()?.trim_end_matches('\x1e');
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("result")?.as_i64()
}

/// Everything the report shows.
pub(crate) struct Run<'a> {
    /// How the soak was started.
    pub(crate) command: &'a str,
    /// Its plan.
    pub(crate) plan: &'a Plan,
    /// What the workers counted.
    pub(crate) totals: &'a Totals,
    /// The server over time.
    pub(crate) samples: &'a [Sample],
    /// The server at the end.
    pub(crate) after: &'a After,
    /// Workers that reported nothing.
    pub(crate) missing_workers: usize,
}

/// The report, as Markdown.
pub(crate) fn render(run: &Run<'_>) -> String {
    let mut s = String::new();
    let p = run.plan;
    let t = run.totals;
    let lp = (0..p.connections).filter(|&c| p.is_long_polling(c)).count();
    let _ = writeln!(s, "command: `{}`\n", run.command);
    let _ = writeln!(
        s,
        "{} connections ({} WebSockets, {lp} Long Polling) in {} workers; {:.0} s ramp, \
         {:.1} min steady; {} groups; {} broadcasts/s, {} group sends/s; an action per \
         connection every {:.0} s; {:.0}% churn per minute\n",
        p.connections,
        p.connections - lp,
        p.workers,
        (p.steady_ns - p.start_ns) as f64 / 1e9,
        (p.stop_ns - p.steady_ns) as f64 / 60e9,
        p.groups,
        p.broadcasts_per_sec,
        p.group_sends_per_sec,
        p.echo_every_secs / 3.0,
        p.churn_per_minute * 100.0
    );
    let _ = writeln!(
        s,
        "| kind | sent | received | lost | duplicated | reordered | wrong |\n|---|---|---|---|---|---|---|"
    );
    for (kind, tally) in KINDS.iter().zip(&t.tallies) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            kind.name(),
            tally.sent,
            tally.received,
            tally.lost,
            tally.duplicated,
            tally.reordered,
            tally.wrong
        );
    }
    let _ = writeln!(
        s,
        "\nconnections opened {}, replaced by churn {}, failed to open {}, ended by the server \
         {}; unreadable messages {}; workers without a report {}\n",
        t.opened, t.churned, t.connect_failures, t.server_closes, t.unreadable, run.missing_workers
    );
    let _ = writeln!(
        s,
        "| latency | count | p50 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|"
    );
    for ((_, name), h) in LATENCIES.iter().zip(&t.latency) {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let _ = writeln!(
            s,
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            h.len(),
            ms(0.5),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0
        );
    }
    let _ = writeln!(
        s,
        "\nserver RSS and descriptors, every {SAMPLE_SECS} s from the start of the ramp:\n"
    );
    let _ = writeln!(s, "| t (s) | RSS (MiB) | fds |\n|---|---|---|");
    for sample in run.samples {
        let _ = writeln!(
            s,
            "| {:.0} | {:.1} | {} |",
            sample.at_secs,
            sample.rss as f64 / 1048576.0,
            sample.fds
        );
    }
    let a = run.after;
    let _ = writeln!(
        s,
        "\nafter the run: the hub counts {} live connection(s) (1 = only the one asking), \
         reached in {:.1} s; server fds {}, RSS {:.1} MiB\n",
        a.live.map_or("?".to_string(), |l| l.to_string()),
        a.settled_secs,
        a.fds,
        a.rss as f64 / 1048576.0
    );
    let verdict = if t.clean() && run.missing_workers == 0 && a.live == Some(1) {
        "PASS: nothing lost, duplicated, reordered or wrong; every connection freed"
    } else {
        "FAIL"
    };
    let _ = writeln!(s, "{verdict}");
    s
}
