//! The Markdown tables of a run, one per section.

use crate::cases::{CONNECTION_ONLY, FLOOR, RAW_AGAIN};
use crate::figures::{
    by_case, cell, column_median, columns_present, cost_ratio, f, flags, human, metric_median, ok,
    peers_in, ratio_cell, ratios, table_head, verdict,
};
use crate::{GENERATOR_BOUND, NOISY, Run};

pub(crate) fn table(runs: &[Run], rounds: usize) -> String {
    let mut out = String::new();
    let mut push = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    push(format!(
        "Ratios are hubs / other, per round, as `median (worst)` over {rounds} round(s); absolute figures are medians. \
         Flags: generator-bound (the generator used ≥ {:.0}% of its core: not a ceiling), noisy (other processes used ≥ {NOISY} cores), connections lost. \
         A ratio marked † had a generator-bound run among those it compares, so it compares the servers' CPU per message, delivery or connection instead of rates (other / hubs: above 1 still means hubs does better).\n",
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
                "hubs / best peer",
                "target",
                "server CPU µs/msg: hubs, raw, fastwebsockets",
                "hubs / raw CPU per msg",
                "target",
                "hubs / fastwebsockets CPU per msg",
                "target",
                "hubs+connection / raw CPU per msg",
                "hubs+floor / raw CPU per msg",
                "flags",
            ],
        ));
        for (name, case) in &cases {
            let raw = ratios(case, "echo", "hubs", &["raw"]);
            let peers = peers_in(case);
            let peer = ratios(case, "echo", "hubs", &peers);
            let cpu = |c: &str| cell(metric_median(case, c, &["server_cpu_us_per_msg"]));
            // Issue 14: hubs' CPU per message at most the raw axum server's, and at most 1.5×
            // a raw echo on fastwebsockets (the machine's limit).
            let raw_cost = cost_ratio(case, "echo", "hubs", "raw");
            let fast_cost = cost_ratio(case, "echo", "hubs", "fastwebsockets");
            // The transport's share: hubs' connection layer alone against raw (JSON only).
            let transport_cost = cost_ratio(case, "echo", CONNECTION_ONLY, "raw");
            // The least a SignalR echo costs on the same transport (JSON only).
            let floor_cost = cost_ratio(case, "echo", FLOOR, "raw");
            push(format!(
                "| {name} | {} | {} | {} {} | ≥ 1.5 {} | {}, {}, {} | {} | ≤ 1.0 {} | {} | ≤ 1.5 {} | {} | {} | {} |",
                cols.iter()
                    .map(|c| cell(column_median(case, c, "echo")))
                    .collect::<Vec<_>>()
                    .join(" | "),
                ratio_cell(&raw),
                ratio_cell(&peer),
                peer.as_ref()
                    .map(|p| format!("vs {}", p.against))
                    .unwrap_or_default(),
                verdict(&peer, 1.5, true),
                cpu("hubs"),
                cpu("raw"),
                cpu("fastwebsockets"),
                ratio_cell(&raw_cost),
                verdict(&raw_cost, 1.0, false),
                ratio_cell(&fast_cost),
                verdict(&fast_cost, 1.5, false),
                ratio_cell(&transport_cost),
                ratio_cell(&floor_cost),
                flags(case, &["hubs", "raw", "fastwebsockets"]),
            ));
        }
        push(String::new());
    }

    // (i) authorization
    two_ways(
        &mut push,
        runs,
        "auth",
        "(i) Echo behind a hub-level #[authorize] and a method policy: server CPU µs/msg",
        "hubs+auth",
        "auth / plain",
        Some(1.05),
    );
    // (j) stateful reconnect
    two_ways(
        &mut push,
        runs,
        "stateful",
        "(j) Echo on connections with stateful reconnect: server CPU µs/msg",
        "hubs+stateful",
        "stateful / plain",
        None,
    );

    // (b) latency
    let cases = by_case(runs, "latency");
    if !cases.is_empty() {
        let cols = columns_present(&cases);
        push(table_head(
            "(b) Latency at a fixed rate (50% of the slowest contestant's peak): p50 / p99 / p99.9 µs",
            &cols,
            &[
                "hubs / raw p99",
                "target",
                "raw+again / raw p99 (control)",
                "hubs / best peer p99",
                "flags",
            ],
        ));
        for (name, case) in &cases {
            let q = |c: &str, k: &str| metric_median(case, c, &["latency", k]);
            let raw = ratios(case, "latency", "hubs", &["raw"]);
            let control = ratios(case, "latency", RAW_AGAIN, &["raw"]);
            let peer = ratios(case, "latency", "hubs", &peers_in(case));
            push(format!(
                "| {name} | {} | {} | ≤ 1.0 {} | {} | {} | {} |",
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
                verdict(&raw, 1.0, false),
                ratio_cell(&control),
                ratio_cell(&peer),
                flags(case, &["hubs", "raw", RAW_AGAIN]),
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
            &[
                "hubs / frame",
                "target",
                "hubs / raw",
                "hubs / fastwebsockets",
            ]
        } else {
            &[]
        };
        let cpu_head = format!("server CPU µs/delivery: {}", cols.join(", "));
        push(table_head(
            title,
            &cols,
            &[limits, &["hubs / best peer", "target", &cpu_head, "flags"]].concat(),
        ));
        for (name, case) in &cases {
            let last = |c: &str| metric_median(case, c, &["last_delivery", "p50_us"]);
            let peer = ratios(case, section, "hubs", &peers_in(case));
            let limits = if limit_cols {
                let frame = ratios(case, section, "hubs", &["frame"]);
                let raw = ratios(case, section, "hubs", &["raw"]);
                let fast = ratios(case, section, "hubs", &["fastwebsockets"]);
                format!(
                    " {} | ≥ 1.0 {} | {} | {} |",
                    ratio_cell(&frame),
                    verdict(&frame, 1.0, true),
                    ratio_cell(&raw),
                    ratio_cell(&fast)
                )
            } else {
                String::new()
            };
            let cpu = cols
                .iter()
                .map(|c| cell(metric_median(case, c, &["server_cpu_us_per_delivery"])))
                .collect::<Vec<_>>()
                .join(", ");
            push(format!(
                "| {name} | {} |{limits} {} {} | ≥ 1.5 {} | {cpu} | {} |",
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
                flags(case, &["hubs", "frame", "raw", "fastwebsockets"]),
            ));
        }
        push(String::new());
    }

    // (e) idle memory
    push(crate::scale::idle_table(runs));

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
        // Growth compares the two cases that differ only in how many groups exist.
        let existing: Vec<_> = cases
            .iter()
            .filter(|(name, _)| name.ends_with("groups exist"))
            .collect();
        if let [(_, few), (_, many)] = existing[..] {
            let growth = |c: &str| {
                let a = column_median(few, c, "disconnect")?;
                let b = column_median(many, c, "disconnect")?;
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

/// The table of a section whose cases run `hubs` plainly and as `column`: each one's server
/// CPU per message, their ratio, and the verdict on `target` where there is one.
fn two_ways(
    push: &mut impl FnMut(String),
    runs: &[Run],
    section: &str,
    title: &str,
    column: &str,
    ratio: &str,
    target: Option<f64>,
) {
    let cases = by_case(runs, section);
    if cases.is_empty() {
        return;
    }
    let mut extra = vec![ratio];
    if target.is_some() {
        extra.push("target");
    }
    extra.push("flags");
    push(table_head(
        title,
        &["hubs".to_string(), column.to_string()],
        &extra,
    ));
    for (name, case) in &cases {
        let overhead = ratios(case, section, column, &["hubs"]);
        let verdict = target
            .map(|t| format!(" ≤ {t} {} |", verdict(&overhead, t, false)))
            .unwrap_or_default();
        push(format!(
            "| {name} | {} | {} | {} |{verdict} {} |",
            cell(column_median(case, "hubs", section)),
            cell(column_median(case, column, section)),
            ratio_cell(&overhead),
            flags(case, &["hubs", column]),
        ));
    }
    push(String::new());
}
