//! Reading results: each section's figures, medians and ratios over rounds, flags, cells.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{ALL_SERVERS, GENERATOR_BOUND, NOISY, Run};

pub(crate) fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut at = v;
    for key in path {
        at = at.get(key)?;
    }
    at.as_f64()
}

/// The figure a section compares, and whether higher is better.
pub(crate) fn primary(section: &str, v: &Value) -> Option<f64> {
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

pub(crate) fn brief(section: &str, v: &Value) -> String {
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

pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
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
pub(crate) type CaseRuns<'a> = BTreeMap<String, BTreeMap<usize, &'a Run>>;

pub(crate) fn by_case<'a>(runs: &'a [Run], section: &str) -> Vec<(String, CaseRuns<'a>)> {
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

pub(crate) fn ok(run: &Run) -> Option<&Value> {
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
pub(crate) fn metric_median(case: &CaseRuns<'_>, column: &str, path: &[&str]) -> Option<f64> {
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

pub(crate) fn column_median(case: &CaseRuns<'_>, column: &str, section: &str) -> Option<f64> {
    median(&mut column_values(case, column, section))
}

fn any_flag(case: &CaseRuns<'_>, columns: &[&str], test: impl Fn(&Value) -> bool) -> bool {
    columns.iter().any(|c| {
        case.get(*c)
            .is_some_and(|rounds| rounds.values().any(|r| ok(r).is_some_and(&test)))
    })
}

/// Ratio of `column` to the comparator in each round; median and worst.
pub(crate) struct Ratio {
    median: f64,
    worst: f64,
    /// The peer compared with in most rounds, for "best peer".
    pub(crate) against: String,
}

pub(crate) fn ratios(
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

pub(crate) fn human(x: f64) -> String {
    match x {
        x if x >= 10_000_000.0 => format!("{:.1}M", x / 1e6),
        x if x >= 100_000.0 => format!("{:.0}k", x / 1e3),
        x if x >= 10_000.0 => format!("{:.1}k", x / 1e3),
        x if x >= 100.0 => format!("{x:.0}"),
        x => format!("{x:.2}"),
    }
}

pub(crate) fn cell(x: Option<f64>) -> String {
    x.map(human).unwrap_or_else(|| "—".into())
}

pub(crate) fn ratio_cell(r: &Option<Ratio>) -> String {
    match r {
        Some(r) => format!("{:.2} ({:.2})", r.median, r.worst),
        None => "—".into(),
    }
}

/// Whether a ratio meets `target` in the median (`>=` where higher is better, else `<=`).
pub(crate) fn verdict(r: &Option<Ratio>, target: f64, higher: bool) -> &'static str {
    match r {
        Some(r) if (higher && r.median >= target) || (!higher && r.median <= target) => "met",
        Some(_) => "**missed**",
        None => "—",
    }
}

pub(crate) fn flags(case: &CaseRuns<'_>, columns: &[&str]) -> String {
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

pub(crate) fn columns_present(cases: &[(String, CaseRuns<'_>)]) -> Vec<String> {
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

pub(crate) fn peers_in<'a>(case: &'a CaseRuns<'_>) -> Vec<&'a str> {
    case.keys()
        .map(String::as_str)
        .filter(|c| matches!(*c, "socketioxide" | "aiosignalr"))
        .collect()
}

/// A section's heading and its table's header and separator rows: `case`, a column per
/// contestant, then `extra`.
pub(crate) fn table_head(title: &str, contestants: &[String], extra: &[&str]) -> String {
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
