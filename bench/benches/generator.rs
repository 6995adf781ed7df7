//! Microbenchmarks of the load generator's own work per message, which must stay far below a
//! server's (see `BENCHMARKS.md`): the kernel's TCP path dominates what the generator costs, so
//! what is measured here is the part the generator controls.
//!
//! - `generator/scan/<n>`: finding the stamps in `n` server frames read in one go (a broadcast
//!   burst), as each receiver does for every read;
//! - `generator/stamp/<n>`: stamping `n` requests into one write, as the echo loop does.
//!
//! `cargo bench -p bench --bench generator` (add `-- --quick` for a fast pass).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use bench::wire::{self, HubProtocol, Template, for_each_stamp, parse_frame, stamped_payload};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A server text frame (unmasked) of a JSON invocation carrying one stamped 32-byte string.
fn server_frame() -> Vec<u8> {
    let payload = stamped_payload(32);
    let message = format!(
        "{{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"{}\"]}}\x1e",
        String::from_utf8(payload).unwrap()
    );
    let mut frame = vec![0x81, message.len() as u8];
    frame.extend_from_slice(message.as_bytes());
    frame
}

fn scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("generator/scan");
    for n in [1usize, 64] {
        let read: Vec<u8> = std::iter::repeat_n(server_frame(), n).flatten().collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| {
                let mut data = black_box(&read[..]);
                let mut stamps = 0u64;
                while let Ok(Some((frame, used))) = parse_frame(data) {
                    for_each_stamp(frame.payload, |s| stamps = stamps.wrapping_add(s));
                    data = &data[used..];
                }
                stamps
            })
        });
    }
    group.finish();
}

fn stamp(c: &mut Criterion) {
    let mut group = c.benchmark_group("generator/stamp");
    let frame = HubProtocol::Json.invocation_frame(
        Some("1"),
        "Echo",
        &[wire::Arg::Str(&stamped_payload(32))],
    );
    let mut template = Template::new(frame);
    let mut out = Vec::with_capacity(64 * 128);
    for n in [1u64, 64] {
        group.throughput(Throughput::Elements(n));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| {
                out.clear();
                for i in 0..n {
                    out.extend_from_slice(template.stamp(black_box(i)));
                }
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scan, stamp);
criterion_main!(benches);
