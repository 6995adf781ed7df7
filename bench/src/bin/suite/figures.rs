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
        "auth" | "stateful" => f(v, &["server_cpu_us_per_msg"]),
        "latency" => f(v, &["latency", "p99_us"]),
        "broadcast" | "groups" | "redis" => f(v, &["deliveries_per_s"]),
        "idle" | "redis-idle" => f(v, &["slope_bytes_per_conn"]),
        "ramp" => f(v, &["conns_per_s"]),
        "slow" => f(v, &["with_slow", "p99_us"]),
        "disconnect" => f(v, &["cpu_us_per_disconnect"]),
        _ => None,
    }
}

fn higher_is_better(section: &str) -> bool {
    matches!(section, "echo" | "broadcast" | "groups" | "ramp" | "redis")
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
        "echo" | "auth" | "stateful" => format!(
            "{:.0} msg/s, {:.1} µs CPU/msg (generator {:.1}), p99 {:.0} µs",
            f(v, &["msg_per_s"]).unwrap_or(0.0),
            f(v, &["server_cpu_us_per_msg"]).unwrap_or(0.0),
            f(v, &["gen_cpu_us_per_msg"]).unwrap_or(0.0),
            f(v, &["latency", "p99_us"]).unwrap_or(0.0)
        ),
        "latency" => format!(
            "{:.0} msg/s, p50 {:.0} / p99 {:.0} / p99.9 {:.0} µs",
            f(v, &["msg_per_s"]).unwrap_or(0.0),
            f(v, &["latency", "p50_us"]).unwrap_or(0.0),
            f(v, &["latency", "p99_us"]).unwrap_or(0.0),
            f(v, &["latency", "p999_us"]).unwrap_or(0.0)
        ),
        "broadcast" | "groups" | "redis" => format!(
            "{:.0} deliveries/s, {:.2} µs CPU/delivery (generator {:.2}), last delivery p50 {:.0} µs",
            f(v, &["deliveries_per_s"]).unwrap_or(0.0),
            f(v, &["server_cpu_us_per_delivery"]).unwrap_or(0.0),
            f(v, &["gen_cpu_us_per_delivery"]).unwrap_or(0.0),
            f(v, &["last_delivery", "p50_us"]).unwrap_or(0.0)
        ),
        "idle" | "redis-idle" => format!(
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
    /// What was compared.
    pub(crate) basis: Basis,
}

/// The servers' CPU per unit of work (µs per message, delivery or connection), in the sections
/// whose own figure is a rate.
pub(crate) fn server_cpu(section: &str, v: &Value) -> Option<f64> {
    match section {
        "echo" => f(v, &["server_cpu_us_per_msg"]),
        "broadcast" | "groups" => f(v, &["server_cpu_us_per_delivery"]),
        "ramp" => f(v, &["server_cpu_us_per_conn"]),
        _ => None,
    }
}

/// Whether a run's generator used its core nearly whole: the rate it measured is then the
/// generator's ceiling, not the server's.
pub(crate) fn generator_bound(v: &Value) -> bool {
    f(v, &["gen_util"]).unwrap_or(0.0) >= GENERATOR_BOUND
}

/// What a ratio compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Basis {
    /// The section's own figure ([`primary`]).
    Primary,
    /// The servers' CPU per unit of work ([`server_cpu`]), used where a rate was limited by
    /// the generator; as units per CPU-second, so that higher is better as with rates.
    ServerCpu,
}

/// The figure of `v` a ratio on `basis` compares.
fn figure(section: &str, basis: Basis, v: &Value) -> Option<f64> {
    match basis {
        Basis::Primary => primary(section, v),
        Basis::ServerCpu => server_cpu(section, v)
            .filter(|us| *us > 0.0)
            .map(|us| 1e6 / us),
    }
}

/// Ratio of `numerator` to the best of `denominator` in each round, median and worst. Where any
/// of their runs was generator-bound and the section has a CPU figure, the ratio compares the
/// servers' CPU per unit of work (denominator's / numerator's), which the generator does not
/// limit, instead of rates.
pub(crate) fn ratios(
    case: &CaseRuns<'_>,
    section: &str,
    numerator: &str,
    denominator: &[&str],
) -> Option<Ratio> {
    let rounds = case.get(numerator)?;
    let compared: Vec<&str> = std::iter::once(numerator)
        .chain(denominator.iter().copied())
        .collect();
    let basis = if server_cpu_known(case, section, &compared)
        && any_flag(case, &compared, generator_bound)
    {
        Basis::ServerCpu
    } else {
        Basis::Primary
    };
    let higher = basis == Basis::ServerCpu || higher_is_better(section);
    let mut values = Vec::new();
    let mut picks: BTreeMap<String, usize> = BTreeMap::new();
    for (round, run) in rounds {
        let Some(top) = ok(run).and_then(|v| figure(section, basis, v)) else {
            continue;
        };
        // The best of the comparators in the same round.
        let best = denominator
            .iter()
            .filter_map(|d| {
                let v = ok(case.get(*d)?.get(round)?).and_then(|v| figure(section, basis, v))?;
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
        basis,
    })
}

/// Ratio of `numerator`'s server CPU per unit of work to `denominator`'s, per round: median and
/// worst (the highest). Lower is better; the targets of issue 14 compare costs this way
/// ("hubs' CPU per message ≤ 1.5× fastwebsockets'"), whether or not the generator was the limit.
pub(crate) fn cost_ratio(
    case: &CaseRuns<'_>,
    section: &str,
    numerator: &str,
    denominator: &str,
) -> Option<Ratio> {
    let cost = |column: &str, round: &usize| {
        ok(case.get(column)?.get(round)?)
            .and_then(|v| server_cpu(section, v))
            .filter(|us| *us > 0.0)
    };
    let mut values: Vec<f64> = case
        .get(numerator)?
        .keys()
        .filter_map(|round| Some(cost(numerator, round)? / cost(denominator, round)?))
        .collect();
    let worst = values.iter().copied().fold(0.0, f64::max);
    Some(Ratio {
        median: median(&mut values)?,
        worst,
        against: denominator.to_string(),
        basis: Basis::Primary,
    })
}

/// Whether every successful run of `columns` reports the servers' CPU per unit of work.
fn server_cpu_known(case: &CaseRuns<'_>, section: &str, columns: &[&str]) -> bool {
    columns.iter().all(|c| {
        case.get(*c).is_some_and(|rounds| {
            rounds
                .values()
                .filter_map(|r| ok(r))
                .all(|v| server_cpu(section, v).is_some())
        })
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

/// `median (worst)`, marked `†` where the ratio compares the servers' CPU ([`Basis`]).
pub(crate) fn ratio_cell(r: &Option<Ratio>) -> String {
    match r {
        Some(r) => {
            let mark = if r.basis == Basis::ServerCpu {
                " †"
            } else {
                ""
            };
            format!("{:.2} ({:.2}){mark}", r.median, r.worst)
        }
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
    if any_flag(case, columns, generator_bound) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Server;

    /// Echo runs of hubs and raw in one round: rate, server CPU per message, generator's share.
    fn echo_runs(hubs: (f64, f64, f64), raw: (f64, f64, f64)) -> Vec<Run> {
        [("hubs", Server::Hubs, hubs), ("raw", Server::Raw, raw)]
            .into_iter()
            .map(|(column, server, (rate, cpu, generator))| Run {
                section: "echo",
                case: "100 conns".into(),
                column: column.into(),
                server,
                round: 0,
                result: Ok(json!({
                    "msg_per_s": rate, "server_cpu_us_per_msg": cpu, "gen_util": generator,
                })),
            })
            .collect()
    }

    fn hubs_over_raw(runs: &[Run]) -> Ratio {
        let cases = by_case(runs, "echo");
        ratios(&cases[0].1, "echo", "hubs", &["raw"]).expect("a ratio")
    }

    #[test]
    fn rates_are_compared_while_the_generator_has_room() {
        let ratio = hubs_over_raw(&echo_runs((50_000.0, 18.0, 0.7), (80_000.0, 11.0, 0.8)));
        assert_eq!(ratio.basis, Basis::Primary);
        assert!((ratio.median - 0.625).abs() < 1e-9);
        assert_eq!(ratio_cell(&Some(ratio)), "0.62 (0.62)");
    }

    #[test]
    fn server_cpu_is_compared_where_the_generator_limited_a_run() {
        // Raw was held to 80k msg/s by a saturated generator: its rate is no ceiling, but its
        // CPU per message still says what each server costs (11 / 18 µs).
        let ratio = hubs_over_raw(&echo_runs((50_000.0, 18.0, 0.7), (80_000.0, 11.0, 0.95)));
        assert_eq!(ratio.basis, Basis::ServerCpu);
        assert!((ratio.median - 11.0 / 18.0).abs() < 1e-9);
        assert_eq!(ratio_cell(&Some(ratio)), "0.61 (0.61) †");
    }

    #[test]
    fn rates_stay_when_a_run_reports_no_server_cpu() {
        let mut runs = echo_runs((50_000.0, 18.0, 0.95), (80_000.0, 11.0, 0.95));
        runs[1].result = Ok(json!({"msg_per_s": 80_000.0, "gen_util": 0.95}));
        assert_eq!(hubs_over_raw(&runs).basis, Basis::Primary);
    }
}
