//! Scale: (e) idle memory per connection at each step (up to 19,000 connections per server
//! process), and (l) projections to 100k and 1M connections per node from what a run measured:
//! idle memory per connection, the server's idle CPU, and its CPU per broadcast delivery.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Run;
use crate::figures::{by_case, cell, columns_present, human, median, metric_median, ok};

/// Issue 14: server RSS per idle WebSocket connection at every step.
const IDLE_TARGET: f64 = 4096.0;
/// The projected connection counts.
const PROJECTED: [f64; 2] = [100_000.0, 1_000_000.0];
/// The broadcast rate "what limits first" is judged at: one broadcast to every connection per
/// second.
const REFERENCE_RATE: f64 = 1.0;
/// Descriptors a server needs besides its connections.
const FD_RESERVE: f64 = 200.0;
/// The contestants projected (the WebSocket servers that run both idle and broadcast).
const PROJECTED_COLUMNS: [&str; 4] = ["hubs", "raw", "fastwebsockets", "frame"];

/// Per contestant and step (connections): RSS per connection over rounds, the most connections
/// lost by then, and the server's CPU share while they idled.
type Steps = BTreeMap<u64, (Vec<f64>, u64, Vec<f64>)>;

fn steps(v: &Value, into: &mut Steps) {
    for p in v["points"].as_array().into_iter().flatten() {
        let (Some(conns), Some(bytes)) = (p["conns"].as_u64(), p["bytes_per_conn"].as_f64()) else {
            continue;
        };
        let step = into.entry(conns).or_default();
        step.0.push(bytes);
        step.1 = step.1.max(p["closed"].as_u64().unwrap_or(0));
        if let Some(util) = p["server_idle_util"].as_f64() {
            step.2.push(util);
        }
    }
}

fn column_steps(runs: &BTreeMap<usize, &Run>) -> Steps {
    let mut out = Steps::new();
    for v in runs.values().filter_map(|r| ok(r)) {
        steps(v, &mut out);
    }
    out
}

/// (e): a row per step, a column per contestant, hubs against the target at every step.
pub(crate) fn idle_table(runs: &[Run]) -> String {
    let mut out = String::new();
    for (name, case) in by_case(runs, "idle") {
        let cols = columns_present(&[(name.clone(), case.clone())]);
        let all: BTreeMap<&str, Steps> = cols
            .iter()
            .filter_map(|c| Some((c.as_str(), column_steps(case.get(c)?))))
            .collect();
        let counts: Vec<u64> = all
            .values()
            .flat_map(|s| s.keys().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let at = |c: &str, n: u64| {
            all.get(c)
                .and_then(|s| s.get(&n))
                .and_then(|s| median(&mut s.0.clone()))
        };
        let per = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "—".into(),
        };
        let peers: Vec<&str> = cols
            .iter()
            .map(String::as_str)
            .filter(|c| matches!(*c, "socketioxide" | "aiosignalr"))
            .collect();
        let best_peer = |n: u64| {
            peers
                .iter()
                .filter_map(|p| at(p, n))
                .fold(None, |best: Option<f64>, v| {
                    Some(best.map_or(v, |b| b.min(v)))
                })
        };
        out.push_str(&format!(
            "### (e) Idle memory ({name}): server RSS per connection at each step, bytes \
             ((RSS − RSS after one warm-up connection, opened and closed) / connections; then the slope from the first to the last step, and the first step from the RSS before the warm-up)\n\n"
        ));
        let head: Vec<String> = std::iter::once("connections".to_string())
            .chain(cols.iter().cloned())
            .chain(
                [
                    "hubs ≤ 4 KiB",
                    "hubs / raw",
                    "hubs / fastwebsockets",
                    "hubs / best peer (fewest bytes)",
                ]
                .map(String::from),
            )
            .collect();
        out.push_str(&format!(
            "| {} |\n|{}\n",
            head.join(" | "),
            "---|".repeat(head.len())
        ));
        let mut worst: Option<(f64, u64)> = None;
        for &n in &counts {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| {
                    let lost = all
                        .get(c.as_str())
                        .and_then(|s| s.get(&n))
                        .map_or(0, |s| s.1);
                    match (at(c, n), lost) {
                        (Some(b), 0) => human(b),
                        (Some(b), lost) => format!("{} ({lost} lost)", human(b)),
                        (None, _) => "—".into(),
                    }
                })
                .collect();
            let hubs = at("hubs", n);
            if let Some(b) = hubs
                && worst.is_none_or(|w| b > w.0)
            {
                worst = Some((b, n));
            }
            out.push_str(&format!(
                "| {n} | {} | {} | {} | {} | {} |\n",
                cells.join(" | "),
                match hubs {
                    Some(b) if b <= IDLE_TARGET => "met".to_string(),
                    Some(_) => "**missed**".to_string(),
                    None => "—".into(),
                },
                per(hubs, at("raw", n)),
                per(hubs, at("fastwebsockets", n)),
                per(hubs, best_peer(n)),
            ));
        }
        // A row of one figure per contestant, with hubs' ratios to raw and fastwebsockets.
        let figure_row = |label: &str, figure: &dyn Fn(&str) -> Option<f64>| {
            format!(
                "| {label} | {} | | {} | {} | |\n",
                cols.iter()
                    .map(|c| cell(figure(c)))
                    .collect::<Vec<_>>()
                    .join(" | "),
                per(figure("hubs"), figure("raw")),
                per(figure("hubs"), figure("fastwebsockets")),
            )
        };
        let slope = |c: &str| metric_median(&case, c, &["slope_bytes_per_conn"]);
        out.push_str(&figure_row("slope", &slope));
        // The first step again, from the RSS before the warm-up connection: what it adds is
        // the code the first connection faults in and the process's first allocations.
        if let Some(&first) = counts.first() {
            let cold = |c: &str| {
                let mut v: Vec<f64> = case
                    .get(c)
                    .into_iter()
                    .flat_map(|runs| runs.values().filter_map(|r| ok(r)))
                    .flat_map(|v| v["points"].as_array().cloned().unwrap_or_default())
                    .filter(|p| p["conns"].as_u64() == Some(first))
                    .filter_map(|p| p["bytes_per_conn_cold"].as_f64())
                    .collect();
                median(&mut v)
            };
            let label = format!("{first}, from before the warm-up connection");
            out.push_str(&figure_row(&label, &cold));
        }
        out.push_str(&match worst {
            Some((b, n)) if b <= IDLE_TARGET => format!(
                "\nhubs ≤ 4 KiB per idle connection at every step: **met** (most: {} at {n}).\n\n",
                human(b)
            ),
            Some((b, n)) => format!(
                "\nhubs ≤ 4 KiB per idle connection at every step: **missed** (most: {} at {n}).\n\n",
                human(b)
            ),
            None => "\nhubs ≤ 4 KiB per idle connection at every step: — (no hubs run).\n\n".into(),
        });
    }
    out
}

/// What bounds one node: this machine's memory, cores and descriptor limits.
pub(crate) struct Node {
    pub(crate) ram: f64,
    pub(crate) cores: f64,
    /// Open files per process now (the suite's soft limit after raising it to the hard one).
    pub(crate) fd_limit: f64,
    /// The kernel's ceiling for any process's open files (`fs.nr_open`).
    pub(crate) nr_open: f64,
    /// Ephemeral ports per source address (`net.ipv4.ip_local_port_range`).
    pub(crate) ports: f64,
}

impl Node {
    pub(crate) fn this(fd_limit: u64) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let ram_kib = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0);
        let range: Vec<f64> = read("/proc/sys/net/ipv4/ip_local_port_range")
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        Self {
            ram: ram_kib * 1024.0,
            cores: bench::procfs::cores() as f64,
            fd_limit: fd_limit as f64,
            nr_open: read("/proc/sys/fs/nr_open")
                .trim()
                .parse()
                .unwrap_or(1_048_576.0),
            ports: match range[..] {
                [low, high] => high - low + 1.0,
                _ => 28_232.0,
            },
        }
    }
}

/// One contestant's measured inputs.
struct Inputs {
    /// The top idle step, the RSS there, and the RSS slope per connection.
    top: f64,
    rss_top: f64,
    slope: f64,
    /// The server's CPU share with `top` connections idle (keep-alives).
    idle_util: f64,
    /// Server CPU µs per broadcast delivery in the largest broadcast case.
    per_delivery: f64,
}

impl Inputs {
    fn rss(&self, n: f64) -> f64 {
        self.rss_top + self.slope * (n - self.top)
    }

    /// Cores busy with `n` idle connections and a broadcast to all of them `rate` times a
    /// second.
    fn cores(&self, n: f64, rate: f64) -> f64 {
        n * (self.idle_util / self.top + rate * self.per_delivery / 1e6)
    }

    /// The most connections each resource allows at `rate` broadcasts to everyone per second,
    /// smallest first.
    fn ceilings(&self, node: &Node, rate: f64) -> Vec<(&'static str, f64)> {
        let mut out = vec![
            (
                "memory",
                self.top + (node.ram - self.rss_top) / self.slope.max(1.0),
            ),
            ("CPU", node.cores / self.cores(1.0, rate).max(1e-12)),
            ("fds (fs.nr_open)", node.nr_open - FD_RESERVE),
        ];
        out.sort_by(|a, b| a.1.total_cmp(&b.1));
        out
    }
}

fn inputs(runs: &[Run], column: &str) -> Option<(Inputs, String)> {
    let idle = by_case(runs, "idle");
    let (_, case) = idle.first()?;
    let steps = column_steps(case.get(column)?);
    let (&top, (_, _, util)) = steps.iter().next_back()?;
    let rss_top = case
        .get(column)?
        .values()
        .filter_map(|r| ok(r))
        .filter_map(|v| {
            v["points"]
                .as_array()?
                .iter()
                .find(|p| p["conns"].as_u64() == Some(top))?["rss"]
                .as_f64()
        })
        .collect::<Vec<_>>();
    let broadcast = by_case(runs, "broadcast");
    let (name, largest) = broadcast.last()?;
    Some((
        Inputs {
            top: top as f64,
            rss_top: median(&mut rss_top.clone())?,
            slope: metric_median(case, column, &["slope_bytes_per_conn"])?,
            idle_util: median(&mut util.clone()).unwrap_or(0.0),
            per_delivery: metric_median(largest, column, &["server_cpu_us_per_delivery"])?,
        },
        name.clone(),
    ))
}

/// A count of connections or descriptors: 19000, 334k, 1.05M.
fn count(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e4 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

fn gib(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / f64::from(1u32 << 30))
}

/// (l): 100k and 1M connections per node, projected from this run's figures.
pub(crate) fn projections(runs: &[Run], node: &Node) -> String {
    let measured: Vec<(&str, Inputs, String)> = PROJECTED_COLUMNS
        .iter()
        .filter_map(|c| inputs(runs, c).map(|(i, case)| (*c, i, case)))
        .collect();
    if measured.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "### (l) Projections: 100k and 1M connections per node\n\n\
         From this run: idle RSS at the top step of (e) and the slope per connection; the \
         server's CPU share over the second half of that step's settling time (keep-alives every \
         5 s here, a third of SignalR's default rate of one per 15 s; raw, fastwebsockets and \
         frame send none); the server's CPU µs per delivery in the largest case of (c). This node: {} RAM, \
         {} cores, {} open files per process now (kernel ceiling fs.nr_open = {}), {} ephemeral \
         ports per source address. Linear: RSS(N) = RSS(top) + slope × (N − top); CPU(N, rate) = \
         N × (idle CPU per connection + rate × µs per delivery), spread over every core (the \
         suite measures one). Not counted: the kernel's socket memory (outside the server's RSS), \
         bursts of queued messages. \"Limits first\" is judged at {REFERENCE_RATE} broadcast to \
         every connection per second; each resource's ceiling on connections follows it.\n\n",
        gib(node.ram),
        node.cores,
        node.fd_limit,
        node.nr_open,
        node.ports
    );
    out.push_str("| contestant | top idle step | RSS there | RSS slope per connection | idle CPU there (cores) | CPU µs per delivery (case) |\n|---|---|---|---|---|---|\n");
    for (c, i, case) in &measured {
        out.push_str(&format!(
            "| {c} | {} | {} | {} B | {:.3} | {:.2} ({case}) |\n",
            i.top,
            gib(i.rss_top),
            human(i.slope),
            i.idle_util,
            i.per_delivery
        ));
    }
    out.push_str(&format!(
        "\n| contestant | connections | RSS (share of RAM) | idle CPU (cores) | CPU per broadcast to all (s) | broadcasts/s to all: 1 core; {} cores | cores at {REFERENCE_RATE} broadcast/s | fds: needed; limit now | limits first (ceilings on connections at {REFERENCE_RATE}/s) |\n|---|---|---|---|---|---|---|---|---|\n",
        node.cores
    ));
    for (c, i, _) in &measured {
        let ceilings = i.ceilings(node, REFERENCE_RATE);
        for n in PROJECTED {
            let rss = i.rss(n);
            let per_broadcast = n * i.per_delivery / 1e6;
            let idle = i.cores(n, 0.0);
            // The broadcast rate the cores left after keep-alives sustain.
            let rate = |cores: f64| ((cores - idle) / per_broadcast).max(0.0);
            let fds = n + FD_RESERVE;
            let fits: Vec<String> = ceilings
                .iter()
                .map(|(what, max)| {
                    let mark = if *max < n { " **exceeded**" } else { "" };
                    format!("{what} ≤ {}{mark}", count(*max))
                })
                .collect();
            out.push_str(&format!(
                "| {c} | {} | {} ({:.0}%) | {:.2} | {:.2} | {:.2}; {:.2} | {:.2} | {}; {}{} | {} |\n",
                count(n),
                gib(rss),
                rss / node.ram * 100.0,
                idle,
                per_broadcast,
                rate(1.0),
                rate(node.cores),
                i.cores(n, REFERENCE_RATE),
                count(fds),
                count(node.fd_limit),
                if fds > node.fd_limit {
                    " (raise `ulimit -n`)"
                } else {
                    ""
                },
                fits.join("; "),
            ));
        }
    }
    out.push_str(&format!(
        "\nPorts bound the load generator, not the server: one source address reaches one server \
         address and port at most {} times, so {} connections need {} source addresses (or \
         server ports), 1M need {}.\n\n",
        node.ports,
        count(PROJECTED[0]),
        (PROJECTED[0] / node.ports).ceil(),
        (PROJECTED[1] / node.ports).ceil()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_follow_memory_cpu_and_descriptors() {
        let node = Node {
            ram: 16.0 * f64::from(1u32 << 30),
            cores: 2.0,
            fd_limit: 20_000.0,
            nr_open: 1_048_576.0,
            ports: 28_232.0,
        };
        let i = Inputs {
            top: 19_000.0,
            rss_top: 19_000.0 * 4096.0,
            slope: 4096.0,
            idle_util: 0.019,
            per_delivery: 5.0,
        };
        // 1M connections: 4 KiB each.
        assert!((i.rss(1e6) - 4096.0 * 1e6).abs() < 1.0);
        // Per connection: 1 µs/s of keep-alives and 5 µs per broadcast: 2 cores hold 333k.
        let ceilings = i.ceilings(&node, 1.0);
        assert_eq!(ceilings[0].0, "CPU");
        assert!((ceilings[0].1 - 2.0 / 6e-6).abs() < 1.0);
        assert_eq!(ceilings[1].0, "fds (fs.nr_open)");
        assert_eq!(ceilings[2].0, "memory");
    }
}
