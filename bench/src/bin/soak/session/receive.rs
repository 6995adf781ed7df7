//! What a soak connection does with what it receives: the checks described in the parent
//! module.

use std::collections::HashMap;

use serde_json::json;

use super::{Call, ITEMS, Incoming, Membership, Session};
use crate::check::{Kind, Latency};
use crate::plan::{Numbered, now_ns};

impl Session {
    /// Handles every whole record in `buf`.
    pub(super) fn take(&mut self, buf: &mut Vec<u8>) {
        self.carry.append(buf);
        let mut records = std::mem::take(&mut self.carry);
        let mut start = 0;
        while let Some(end) = memchr::memchr(0x1e, &records[start..]) {
            self.handle(&records[start..start + end]);
            start += end + 1;
        }
        records.drain(..start);
        self.carry = records;
    }

    pub(super) fn handle(&mut self, record: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Incoming<'_>>(record) else {
            self.shared.totals.borrow_mut().unreadable += 1;
            return;
        };
        let now = now_ns();
        match message.kind {
            Some(1) => {
                let Some(numbered) = message.arguments.first().and_then(|a| Numbered::decode(a))
                else {
                    self.shared.totals.borrow_mut().unreadable += 1;
                    return;
                };
                match message.target {
                    Some("B") => self.on_broadcast(&numbered, now),
                    _ => self.on_group(&numbered, now),
                }
            }
            Some(2) => {
                let id = message
                    .invocation_id
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                let mut totals = self.shared.totals.borrow_mut();
                let tally = totals.tally(Kind::Stream);
                match self.streams.get_mut(&id) {
                    Some(next) if message.item == Some(*next) => {
                        tally.received += 1;
                        *next += 1;
                    }
                    Some(next) if message.item.is_some_and(|i| i > *next) => {
                        tally.received += 1;
                        tally.reordered += 1;
                    }
                    _ => tally.duplicated += 1,
                }
            }
            Some(3) => self.on_completion(&message, now),
            _ => {} // the handshake answer, pings; a Close is followed by the end of the link
        }
    }

    pub(super) fn on_broadcast(&mut self, n: &Numbered<'_>, now: u64) {
        let ready = self.ready_ns;
        let window = self.broadcasts.entry(n.sender.to_string()).or_default();
        let mut totals = self.shared.totals.borrow_mut();
        totals.record(Latency::Broadcast, now.saturating_sub(n.sent_ns));
        let tally = totals.tally(Kind::Broadcast);
        if window.track.last().is_none() && ready.is_some_and(|r| n.seq > 1 && n.prev_ns > r) {
            tally.lost += 1; // its predecessor was sent after we were ready
        }
        window.track.observe(n.seq, tally);
        window.ended |= n.last;
    }

    pub(super) fn on_group(&mut self, n: &Numbered<'_>, now: u64) {
        let mut totals = self.shared.totals.borrow_mut();
        totals.record(Latency::Group, now.saturating_sub(n.sent_ns));
        let tally = totals.tally(Kind::Group);
        match self.membership.as_mut().filter(|m| m.group == n.stream) {
            Some(member) => {
                let joined = member.joined_ns;
                let window = member.windows.entry(n.sender.to_string()).or_default();
                if window.track.last().is_none()
                    && joined.is_some_and(|j| n.seq > 1 && n.prev_ns > j)
                {
                    tally.lost += 1;
                }
                window.track.observe(n.seq, tally);
                window.ended |= n.last;
            }
            None => {
                tally.received += 1;
                if self.joining.as_deref() == Some(n.stream) {
                    return; // the join took effect before its acknowledgement came
                }
                match self.left.get(n.stream) {
                    Some(&left_ns) if n.sent_ns <= left_ns => {}
                    _ => tally.wrong += 1, // sent after the leave was acknowledged
                }
            }
        }
    }

    pub(super) fn on_completion(&mut self, message: &Incoming<'_>, now: u64) {
        let id: u64 = message
            .invocation_id
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        if let Some(next) = self.streams.remove(&id) {
            let mut totals = self.shared.totals.borrow_mut();
            let tally = totals.tally(Kind::Stream);
            tally.lost += ITEMS.saturating_sub(next);
            tally.wrong += u64::from(message.error.is_some());
            return;
        }
        let position = self.pending.iter().position(|(p, _, _)| *p == id);
        let mut totals = self.shared.totals.borrow_mut();
        let Some(position) = position else {
            totals.tally(Kind::Echo).duplicated += 1; // no such call outstanding
            return;
        };
        let Some((_, call, sent_ns)) = self.pending.remove(position) else {
            return;
        };
        let (kind, good) = match &call {
            Call::Hello => (Kind::Echo, message.result == Some(json!("hello"))),
            Call::Echo => (Kind::Echo, message.result == Some(json!(format!("e{id}")))),
            Call::Upload => (Kind::Upload, message.result == Some(json!(ITEMS))),
            Call::Join(_) | Call::Leave(_) => (Kind::Membership, message.error.is_none()),
        };
        if matches!(call, Call::Echo) {
            totals.record(Latency::Echo, now.saturating_sub(sent_ns));
        }
        let tally = totals.tally(kind);
        tally.received += 1;
        tally.reordered += u64::from(position > 0);
        tally.wrong += u64::from(!good);
        drop(totals);
        match call {
            Call::Hello => self.ready_ns = Some(now),
            Call::Join(group) => {
                self.joining = None;
                self.left.remove(&group);
                self.membership = Some(Membership {
                    group,
                    joined_ns: Some(now),
                    leaving: false,
                    windows: HashMap::new(),
                });
            }
            Call::Leave(group) => {
                self.membership = None;
                self.left.insert(group, now);
            }
            Call::Echo | Call::Upload => {}
        }
    }

    /// Calls and streams still unanswered count as lost.
    pub(super) fn count_outstanding(&mut self) {
        let mut totals = self.shared.totals.borrow_mut();
        for (_, call, _) in self.pending.drain(..) {
            let kind = match call {
                Call::Hello | Call::Echo => Kind::Echo,
                Call::Upload => Kind::Upload,
                Call::Join(_) | Call::Leave(_) => Kind::Membership,
            };
            totals.tally(kind).lost += 1;
        }
        for (_, next) in self.streams.drain() {
            totals.tally(Kind::Stream).lost += ITEMS.saturating_sub(next);
        }
    }

    /// At the end: nothing outstanding, and the last message of every announcer's broadcast
    /// and of the current group's streams arrived.
    pub(super) fn final_check(&mut self, final_ns: u64) {
        self.count_outstanding();
        let announcers: Vec<String> = (0..self.shared.plan.workers)
            .map(|a| format!("a{a}"))
            .collect();
        let mut totals = self.shared.totals.borrow_mut();
        if self.ready_ns.is_some_and(|r| r < final_ns) {
            for a in &announcers {
                if !self.broadcasts.get(a).is_some_and(|w| w.ended) {
                    totals.tally(Kind::Broadcast).lost += 1;
                }
            }
        }
        if let Some(member) = &self.membership
            && member.joined_ns.is_some_and(|j| j < final_ns)
            && !member.leaving
        {
            for a in &announcers {
                if !member.windows.get(a).is_some_and(|w| w.ended) {
                    totals.tally(Kind::Group).lost += 1;
                }
            }
        }
    }
}
