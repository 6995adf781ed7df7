//! The cases of the suite: which workloads, with which flags, against which contestants.

use std::time::Duration;

use crate::figures::{by_case, column_median, human};
use crate::run::auth_token;
use crate::{Case, Config, Entry, Run, Server, entry};

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The column of hubs' connection layer alone (`hubs-server`'s `/echo`).
pub(crate) const CONNECTION_ONLY: &str = "hubs+connection";

/// The column of a SignalR JSON echo in as little code as it takes, on hubs' connection layer
/// (`hubs-server`'s `/floor`): how low the hub's own cost could go.
pub(crate) const FLOOR: &str = "hubs+floor";

/// The latency row's control: `raw` measured a second time in the same rounds. Its p99 over
/// raw's is what the row reads for a server against itself, the width of the machine's noise.
pub(crate) const RAW_AGAIN: &str = "raw+again";

/// The idle memory columns of hubs' connections over Server-Sent Events and Long Polling.
const IDLE_SSE: &str = "hubs+sse";
const IDLE_LONG_POLLING: &str = "hubs+longpolling";

fn echo_entries(json: bool, peers: &[Server]) -> Vec<Entry> {
    let (signalr, raw) = match json {
        true => ("signalr-json", "raw"),
        false => ("signalr-msgpack", "raw-binary"),
    };
    let mut entries = vec![
        entry(Server::Hubs, signalr, "/hub"),
        entry(Server::Raw, raw, "/echo"),
        entry(Server::FastWs, raw, "/echo"),
    ];
    if json {
        // hubs' connection layer alone, answering text as it came: what the transport costs
        // without the hub's work.
        entries.push(Entry {
            column: CONNECTION_ONLY.to_string(),
            ..entry(Server::Hubs, raw, "/echo")
        });
        entries.push(Entry {
            column: FLOOR.to_string(),
            ..entry(Server::Hubs, signalr, "/floor")
        });
    }
    if json && peers.contains(&Server::SocketIo) {
        entries.push(entry(Server::SocketIo, "socketio", "/"));
    }
    if peers.contains(&Server::AioSignalR) {
        entries.push(entry(Server::AioSignalR, signalr, "/hub"));
    }
    entries
}

/// Calls each connection keeps in flight in the pipelined echo cases.
const PIPELINED: usize = 8;

/// The cases of the suite in this mode, in run order (the latency cases are added once the echo
/// peaks are known).
pub(crate) fn cases(cfg: &Config, peers: &[Server]) -> Vec<Case> {
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
    let echo = |json: bool, c: usize, size: usize, in_flight: usize| {
        let protocol = if json { "JSON" } else { "MessagePack" };
        let mut args = words(&["--conns", &c.to_string(), "--size", &size.to_string()]);
        let mut name = format!("{c} conns, {size} B, {protocol}");
        if in_flight > 1 {
            args.extend(words(&["--depth", &in_flight.to_string()]));
            name = format!("{name}, {in_flight} in flight");
        }
        Case {
            section: "echo",
            name,
            workload: "echo",
            args: timing(args),
            entries: echo_entries(json, peers),
            keepalive: None,
            rounds,
            timeout: Duration::from_secs(120),
        }
    };
    for &json in &[true, false] {
        for &c in conns {
            for &size in sizes {
                out.push(echo(json, c, size, 1));
            }
        }
        // Clients that keep several calls in flight (code that does not await each call):
        // what arrives in one read, and what its replies cost.
        out.push(echo(json, if cfg.smoke { 4 } else { 100 }, 32, PIPELINED));
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
    out.extend(echo_two_ways(
        "auth",
        auth_conns,
        rounds,
        &timing,
        |flavor| Entry {
            column: "hubs+auth".into(),
            ..entry(Server::Hubs, flavor, with_token)
        },
    ));
    // (j) the cost of stateful reconnect: the same echo on a connection that negotiated it
    // (its own pump between socket and hub, and the replay log).
    let stateful_conns: &[usize] = if cfg.smoke { &[4] } else { &[100] };
    out.extend(echo_two_ways(
        "stateful",
        stateful_conns,
        rounds,
        &timing,
        |flavor| Entry {
            column: "hubs+stateful".into(),
            ..entry(Server::Hubs, &format!("{flavor}+stateful"), "/hub")
        },
    ));

    // (c) broadcast to everyone.
    let mut fan = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        entry(Server::Frame, "raw", "/broadcast"),
        entry(Server::Raw, "raw", "/broadcast"),
        entry(Server::FastWs, "raw", "/broadcast"),
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

    // (e) idle memory, after keep-alives (every 5 s) have flowed, up to 19,000 connections
    // per server process (the fd limit here is 20,000).
    let mut idle_entries = vec![
        entry(Server::Hubs, "signalr-json", "/hub"),
        // The transports over plain HTTP requests: an SSE stream, a Long Polling poll waiting.
        Entry {
            column: IDLE_SSE.to_string(),
            ..entry(Server::Hubs, "signalr-json+sse", "/hub")
        },
        Entry {
            column: IDLE_LONG_POLLING.to_string(),
            ..entry(Server::Hubs, "signalr-json+longpolling", "/hub")
        },
        entry(Server::Raw, "raw", "/echo"),
        entry(Server::FastWs, "raw", "/echo"),
        entry(Server::Frame, "raw", "/broadcast"),
    ];
    idle_entries.extend(grouped.iter().filter(|e| e.server.is_peer()).cloned());
    let (steps, settle): (&[u64], &str) = match (cfg.smoke, cfg.quick) {
        (true, _) => (&[10, 20], "0.1"),
        (false, true) => (&[1000, 19000], "6"),
        (false, false) => (&[1000, 5000, 10000, 19000], "7"),
    };
    let steps = idle_steps(steps, cfg.fd_limit);
    out.push(Case {
        section: "idle",
        name: format!("{steps} connections"),
        workload: "idle",
        args: words(&["--steps", &steps, "--settle", settle, "--ping-every", "5"]),
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

    // (h) disconnect cost with few and many groups held by others, and with groups of its
    // own that each disconnect empties (no holders).
    let (few, many, holders) = match cfg.smoke {
        true => ("20", "200", "4"),
        false => ("2000", "50000", "100"),
    };
    let leaving = match (cfg.smoke, cfg.quick) {
        (true, _) => "10",
        (false, true) => "500",
        (false, false) => "1000",
    };
    let shapes = [
        (format!("{few} groups exist"), few, holders),
        (format!("{many} groups exist"), many, holders),
        ("each alone in its groups".to_owned(), "0", "0"),
    ];
    for (name, groups, holders) in shapes {
        out.push(Case {
            section: "disconnect",
            name,
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

/// The idle steps a server and the generator can both hold: each needs a descriptor per
/// connection and a few of its own ([`FD_RESERVE`]); a step above `fd_limit` is left out with
/// a note rather than failing the run.
fn idle_steps(wanted: &[u64], fd_limit: u64) -> String {
    let fit: Vec<String> = wanted
        .iter()
        .filter(|&&n| n + FD_RESERVE <= fd_limit)
        .map(u64::to_string)
        .collect();
    if fit.len() < wanted.len() {
        eprintln!(
            "note: idle steps above {} left out: the open-file limit is {fd_limit} (raise `ulimit -n`)",
            fd_limit.saturating_sub(FD_RESERVE)
        );
    }
    if fit.is_empty() {
        return "10".into();
    }
    fit.join(",")
}

/// Descriptors a process needs besides its connections (listener, epoll, pipes, logs, files).
const FD_RESERVE: u64 = 200;

/// (b): open loop at half the slowest contestant's closed-loop peak (100 connections, 32 B,
/// JSON), the same rate for everyone.
pub(crate) fn latency_cases(cfg: &Config, runs: &[Run], peers: &[Server]) -> Vec<Case> {
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
    let mut entries = echo_entries(true, peers);
    entries.push(Entry {
        column: RAW_AGAIN.to_string(),
        ..entry(Server::Raw, "raw", "/echo")
    });
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
        entries,
        keepalive: None,
        rounds: cfg.rounds,
        timeout: Duration::from_secs(120),
    }]
}

/// Echo cases of 32 B, JSON and MessagePack, each run on the `hubs` contestant plainly and as
/// `other` makes the entry (given the plain flavor): what that difference costs, per message.
fn echo_two_ways(
    section: &'static str,
    conns: &[usize],
    rounds: usize,
    timing: &dyn Fn(Vec<String>) -> Vec<String>,
    other: impl Fn(&str) -> Entry,
) -> Vec<Case> {
    let mut out = Vec::new();
    for (flavor, protocol) in [("signalr-json", "JSON"), ("signalr-msgpack", "MessagePack")] {
        for &c in conns {
            out.push(Case {
                section,
                name: format!("{c} conns, 32 B, {protocol}"),
                workload: "echo",
                args: timing(words(&["--conns", &c.to_string(), "--size", "32"])),
                entries: vec![entry(Server::Hubs, flavor, "/hub"), other(flavor)],
                keepalive: None,
                rounds,
                timeout: Duration::from_secs(120),
            });
        }
    }
    out
}
