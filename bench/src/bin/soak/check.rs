//! Counting what was sent and what arrived, per kind of traffic, and telling loss,
//! duplication and reordering apart.

use std::collections::BTreeSet;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The kinds of traffic, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Echo` invocations and their completions.
    Echo,
    /// Announcers' broadcasts, counted per delivery.
    Broadcast,
    /// Announcers' group sends, counted per delivery.
    Group,
    /// Items of `Counter` streams.
    Stream,
    /// `Upload` calls (each a client-to-server stream of numbers).
    Upload,
    /// `Join` and `Leave` acknowledgements.
    Membership,
}

/// Every kind, in report order.
pub(crate) const KINDS: [Kind; 6] = [
    Kind::Echo,
    Kind::Broadcast,
    Kind::Group,
    Kind::Stream,
    Kind::Upload,
    Kind::Membership,
];

impl Kind {
    /// The report's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Echo => "echo",
            Kind::Broadcast => "broadcast",
            Kind::Group => "group",
            Kind::Stream => "stream",
            Kind::Upload => "upload",
            Kind::Membership => "join/leave",
        }
    }

    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// Counts of one kind.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Tally {
    /// Messages sent (for broadcasts and group sends: sends, not deliveries).
    pub(crate) sent: u64,
    /// Messages (deliveries) that arrived.
    pub(crate) received: u64,
    /// Due and never arrived.
    pub(crate) lost: u64,
    /// Arrived more than once.
    pub(crate) duplicated: u64,
    /// Arrived after a later one of the same sequence.
    pub(crate) reordered: u64,
    /// Arrived wrong: a bad value, an error completion, a group message after the leave was
    /// acknowledged.
    pub(crate) wrong: u64,
}

impl Tally {
    /// Whether nothing went wrong.
    pub(crate) fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.reordered == 0 && self.wrong == 0
    }

    fn add(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.received += other.received;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.wrong += other.wrong;
    }
}

/// The latest number seen on one numbered sequence and the gaps before it, so a late
/// arrival counts as reordered (not lost) and a repeat as duplicated.
#[derive(Debug, Default)]
pub(crate) struct SeqTrack {
    last: Option<u64>,
    gaps: BTreeSet<u64>,
}

/// Gaps remembered per sequence; beyond this a late arrival counts as a duplicate.
const MAX_GAPS: u64 = 4096;

impl SeqTrack {
    /// The latest number seen.
    pub(crate) fn last(&self) -> Option<u64> {
        self.last
    }

    /// Notes `seq` arriving.
    pub(crate) fn observe(&mut self, seq: u64, tally: &mut Tally) {
        tally.received += 1;
        match self.last {
            None => self.last = Some(seq),
            Some(last) if seq == last + 1 => self.last = Some(seq),
            Some(last) if seq > last + 1 => {
                tally.lost += seq - last - 1;
                self.gaps.extend((last + 1..seq).take(MAX_GAPS as usize));
                self.last = Some(seq);
            }
            Some(_) => {
                if self.gaps.remove(&seq) {
                    tally.lost -= 1;
                    tally.reordered += 1;
                } else {
                    tally.duplicated += 1;
                }
            }
        }
    }
}

/// Latencies kept, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Latency {
    /// Echo round trip.
    Echo,
    /// Announcer's send to a receiver's read of a broadcast.
    Broadcast,
    /// The same for group sends.
    Group,
}

/// Every latency, in report order.
pub(crate) const LATENCIES: [(Latency, &str); 3] = [
    (Latency::Echo, "echo round trip"),
    (Latency::Broadcast, "broadcast delivery"),
    (Latency::Group, "group delivery"),
];

/// Everything one worker counted, mergeable across workers.
#[derive(Debug)]
pub(crate) struct Totals {
    /// Per kind, in [`KINDS`] order.
    pub(crate) tallies: [Tally; 6],
    /// Per [`LATENCIES`] entry, microseconds.
    pub(crate) latency: [Histogram<u64>; 3],
    /// Connections opened (replacements included).
    pub(crate) opened: u64,
    /// Connections replaced by churn.
    pub(crate) churned: u64,
    /// Connections that could not be opened.
    pub(crate) connect_failures: u64,
    /// Connections the server ended on its own (never expected).
    pub(crate) server_closes: u64,
    /// Messages that could not be read.
    pub(crate) unreadable: u64,
}

impl Default for Totals {
    fn default() -> Self {
        let histogram = || Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        Self {
            tallies: [Tally::default(); 6],
            latency: [histogram(), histogram(), histogram()],
            opened: 0,
            churned: 0,
            connect_failures: 0,
            server_closes: 0,
            unreadable: 0,
        }
    }
}

/// [`Totals`] as a worker reports it on stdout: histograms as (value, count) pairs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Report {
    tallies: Vec<Tally>,
    latency: Vec<Vec<(u64, u64)>>,
    opened: u64,
    churned: u64,
    connect_failures: u64,
    server_closes: u64,
    unreadable: u64,
}

impl Totals {
    /// The tally of `kind`.
    pub(crate) fn tally(&mut self, kind: Kind) -> &mut Tally {
        &mut self.tallies[kind.index()]
    }

    /// Records a latency of `ns` nanoseconds.
    pub(crate) fn record(&mut self, which: Latency, ns: u64) {
        let _ = self.latency[which as usize].record((ns / 1000).clamp(1, 600_000_000));
    }

    /// Whether nothing was lost, duplicated, reordered or wrong and no connection failed.
    pub(crate) fn clean(&self) -> bool {
        self.tallies.iter().all(Tally::clean)
            && self.server_closes == 0
            && self.connect_failures == 0
            && self.unreadable == 0
    }

    /// The report form.
    pub(crate) fn report(&self) -> Report {
        Report {
            tallies: self.tallies.to_vec(),
            latency: self
                .latency
                .iter()
                .map(|h| {
                    h.iter_recorded()
                        .map(|v| (v.value_iterated_to(), v.count_at_value()))
                        .collect()
                })
                .collect(),
            opened: self.opened,
            churned: self.churned,
            connect_failures: self.connect_failures,
            server_closes: self.server_closes,
            unreadable: self.unreadable,
        }
    }

    /// Adds a worker's report.
    pub(crate) fn merge(&mut self, report: &Report) {
        for (mine, theirs) in self.tallies.iter_mut().zip(&report.tallies) {
            mine.add(theirs);
        }
        for (mine, theirs) in self.latency.iter_mut().zip(&report.latency) {
            for &(value, count) in theirs {
                let _ = mine.record_n(value, count);
            }
        }
        self.opened += report.opened;
        self.churned += report.churned;
        self.connect_failures += report.connect_failures;
        self.server_closes += report.server_closes;
        self.unreadable += report.unreadable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_late_arrivals_and_repeats() {
        let mut t = Tally::default();
        let mut s = SeqTrack::default();
        for seq in [5, 6, 9, 7, 7, 10] {
            s.observe(seq, &mut t);
        }
        assert_eq!(
            (t.received, t.lost, t.reordered, t.duplicated),
            (6, 1, 1, 1)
        );
    }
}
