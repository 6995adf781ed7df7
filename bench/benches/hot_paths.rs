//! Microbenchmarks of the hot paths of `hubs-runtime`, through its public API:
//!
//! - `parse/<protocol>/<message>`: reading each client message type (and, for invocations,
//!   decoding the argument into a `String` as a hub method would);
//! - `write/<protocol>/<message>`: writing each server message type;
//! - `broadcast/<n>`: serializing one message once and queueing it for `n` in-memory
//!   connections (then draining their queues, as their writers would);
//! - `groups/add_remove`: one connection joining and leaving a group among 10 000
//!   connections and 1 000 groups.
//!
//! `cargo bench -p bench --bench hot_paths` (add `-- --quick` for a fast pass).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt;
use hubs_runtime::connection::{QueueLimits, QueueReceiver, SendQueue};
use hubs_runtime::lifetime::{
    HubConnection, HubLifetimeManager, InMemoryLifetimeManager, SerializedMessage, Target,
};
use hubs_runtime::protocol::{
    CompletionOutcome, HubMessage, Protocol, SequenceMessage, parse_handshake,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

const LIMIT: Option<usize> = Some(32 * 1024);

fn payload(size: usize) -> String {
    "x".repeat(size)
}

/// A MessagePack hub message: varint length, then the array.
fn msgpack<T: Serialize>(message: &T) -> Vec<u8> {
    let body = rmp_serde::to_vec(message).expect("encodes");
    let mut out = Vec::new();
    bench::wire::varint(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

type Headers = std::collections::HashMap<String, String>;

/// Client messages of every type, in both protocols.
fn client_messages() -> Vec<(Protocol, &'static str, Vec<u8>)> {
    let small = payload(32);
    let large = payload(1024);
    let json = |s: String| (s + "\x1e").into_bytes();
    let h = Headers::new;
    let no_streams: Vec<String> = Vec::new();
    vec![
        (
            Protocol::Json,
            "invocation_32B",
            json(format!(
                r#"{{"type":1,"invocationId":"1","target":"Echo","arguments":["{small}"]}}"#
            )),
        ),
        (
            Protocol::Json,
            "invocation_1KiB",
            json(format!(
                r#"{{"type":1,"invocationId":"1","target":"Echo","arguments":["{large}"]}}"#
            )),
        ),
        (
            Protocol::Json,
            "stream_invocation",
            json(format!(
                r#"{{"type":4,"invocationId":"2","target":"Counter","arguments":[10,"{small}"]}}"#
            )),
        ),
        (
            Protocol::Json,
            "stream_item",
            json(format!(
                r#"{{"type":2,"invocationId":"3","item":"{small}"}}"#
            )),
        ),
        (
            Protocol::Json,
            "completion_result",
            json(format!(
                r#"{{"type":3,"invocationId":"s1","result":"{small}"}}"#
            )),
        ),
        (
            Protocol::Json,
            "completion_error",
            json(r#"{"type":3,"invocationId":"s1","error":"nope"}"#.into()),
        ),
        (
            Protocol::Json,
            "cancel_invocation",
            json(r#"{"type":5,"invocationId":"2"}"#.into()),
        ),
        (Protocol::Json, "ping", json(r#"{"type":6}"#.into())),
        (
            Protocol::Json,
            "close",
            json(r#"{"type":7,"error":"bye","allowReconnect":true}"#.into()),
        ),
        (
            Protocol::Json,
            "ack",
            json(r#"{"type":8,"sequenceId":1234}"#.into()),
        ),
        (
            Protocol::Json,
            "sequence",
            json(r#"{"type":9,"sequenceId":1234}"#.into()),
        ),
        (
            Protocol::MessagePack,
            "invocation_32B",
            msgpack(&(1, h(), "1", "Echo", (&small,), &no_streams)),
        ),
        (
            Protocol::MessagePack,
            "invocation_1KiB",
            msgpack(&(1, h(), "1", "Echo", (&large,), &no_streams)),
        ),
        (
            Protocol::MessagePack,
            "stream_invocation",
            msgpack(&(4, h(), "2", "Counter", (10, &small), &no_streams)),
        ),
        (
            Protocol::MessagePack,
            "stream_item",
            msgpack(&(2, h(), "3", &small)),
        ),
        (
            Protocol::MessagePack,
            "completion_result",
            msgpack(&(3, h(), "s1", 3, &small)),
        ),
        (
            Protocol::MessagePack,
            "completion_error",
            msgpack(&(3, h(), "s1", 1, "nope")),
        ),
        (
            Protocol::MessagePack,
            "cancel_invocation",
            msgpack(&(5, h(), "2")),
        ),
        (Protocol::MessagePack, "ping", msgpack(&(6,))),
        (Protocol::MessagePack, "close", msgpack(&(7, "bye", true))),
        (Protocol::MessagePack, "ack", msgpack(&(8, 1234))),
        (Protocol::MessagePack, "sequence", msgpack(&(9, 1234))),
    ]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (protocol, name, bytes) in client_messages() {
        // Every input must be a whole, valid message of its type.
        let (message, used) = protocol
            .parse(&bytes, LIMIT)
            .expect("valid")
            .expect("whole");
        assert_eq!(used, bytes.len(), "{} {name}", protocol.name());
        assert!(
            !matches!(message, HubMessage::Ignored),
            "{} {name}",
            protocol.name()
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{}/{name}", protocol.name()), |b| {
            b.iter(|| {
                let parsed = protocol.parse(black_box(&bytes), LIMIT).unwrap().unwrap();
                // An invocation's argument is decoded as the hub method would.
                if let (HubMessage::Invocation(invocation), _) = &parsed {
                    black_box(invocation.arguments.decode::<String>(0).unwrap());
                }
                black_box(parsed);
            })
        });
    }
    let handshake = b"{\"protocol\":\"messagepack\",\"version\":1}\x1e";
    group.bench_function("handshake", |b| {
        b.iter(|| black_box(parse_handshake(black_box(handshake), LIMIT).unwrap()))
    });
    group.finish();
}

fn write(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    let small = payload(32);
    let large = payload(1024);
    for &protocol in Protocol::ALL {
        let name = protocol.name();
        let encoded = protocol.encode_value(&small).unwrap();
        for (size, argument) in [("32B", &small), ("1KiB", &large)] {
            group.bench_function(format!("{name}/invocation_{size}"), |b| {
                b.iter(|| {
                    black_box(
                        protocol
                            .write_invocation(None, "Recv", &(black_box(argument),))
                            .unwrap(),
                    )
                })
            });
        }
        group.bench_function(format!("{name}/invocation_with_id"), |b| {
            b.iter(|| {
                black_box(
                    protocol
                        .write_invocation(Some("s1"), "Ask", &(black_box(&small),))
                        .unwrap(),
                )
            })
        });
        group.bench_function(format!("{name}/completion_result"), |b| {
            b.iter(|| {
                // As a hub method's return value: encoded, then framed.
                let value = protocol.encode_value(black_box(&small)).unwrap();
                black_box(protocol.write_completion("1", CompletionOutcome::Result(&value)))
            })
        });
        group.bench_function(format!("{name}/completion_error"), |b| {
            b.iter(|| {
                black_box(protocol.write_completion(
                    "1",
                    CompletionOutcome::error(black_box("An unexpected error occurred.")),
                ))
            })
        });
        group.bench_function(format!("{name}/completion_empty"), |b| {
            b.iter(|| {
                black_box(protocol.write_completion(black_box("1"), CompletionOutcome::Empty))
            })
        });
        group.bench_function(format!("{name}/stream_item"), |b| {
            b.iter(|| black_box(protocol.write_stream_item("2", black_box(&encoded))))
        });
        group.bench_function(format!("{name}/ping"), |b| {
            b.iter(|| black_box(protocol.write_ping()))
        });
        group.bench_function(format!("{name}/close"), |b| {
            b.iter(|| black_box(protocol.write_close(Some(black_box("Server shut down.")), true)))
        });
        group.bench_function(format!("{name}/ack"), |b| {
            b.iter(|| {
                black_box(protocol.write_sequence_message(SequenceMessage::Ack, black_box(1234)))
            })
        });
        group.bench_function(format!("{name}/sequence"), |b| {
            b.iter(|| {
                black_box(
                    protocol.write_sequence_message(SequenceMessage::Sequence, black_box(1234)),
                )
            })
        });
    }
    group.finish();
}

/// `n` connections registered with a fresh manager, and their send queues.
fn connections(n: usize, max_bytes: usize) -> (InMemoryLifetimeManager, Vec<QueueReceiver>) {
    let manager = InMemoryLifetimeManager::new();
    let mut queues = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = SendQueue::new(QueueLimits {
            buffer: max_bytes,
            max_buffer: max_bytes,
            drain_timeout: Duration::from_secs(3600),
        });
        let protocol = if i % 2 == 0 {
            Protocol::Json
        } else {
            Protocol::MessagePack
        };
        let connection = HubConnection::new(
            format!("c{i}").into(),
            protocol,
            None,
            tx,
            CancellationToken::new(),
        );
        manager
            .on_connected(Arc::new(connection))
            .now_or_never()
            .expect("the in-memory manager is synchronous");
        queues.push(rx);
    }
    (manager, queues)
}

fn broadcast(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast");
    let text = payload(32);
    for n in [1usize, 100, 10_000] {
        let (manager, mut queues) = connections(n, 64 * 1024);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let message = SerializedMessage::invocation(
                    manager.protocols(),
                    "Recv",
                    &(black_box(&text),),
                )
                .unwrap();
                manager
                    .send(&Target::All, &message)
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                for queue in &mut queues {
                    black_box(queue.try_recv().ok());
                }
            })
        });
    }
    group.finish();
}

fn groups(c: &mut Criterion) {
    let mut group = c.benchmark_group("groups");
    let (manager, mut queues) = connections(10_000, 64 * 1024);
    for i in 0..10_000 {
        let name = format!("g{}", i % 1000);
        manager
            .add_to_group(&format!("c{i}"), &name)
            .now_or_never()
            .unwrap()
            .unwrap();
    }
    // A group created and dropped by the add, and one that has other members.
    for (name, group_name) in [("add_remove", "fresh"), ("add_remove_existing_group", "g7")] {
        group.bench_function(name, |b| {
            b.iter(|| {
                manager
                    .add_to_group(black_box("c42"), black_box(group_name))
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                manager
                    .remove_from_group(black_box("c42"), black_box(group_name))
                    .now_or_never()
                    .unwrap()
                    .unwrap();
            })
        });
    }
    group.bench_function("send_to_group_of_10", |b| {
        let message = SerializedMessage::invocation(manager.protocols(), "Recv", &("x",)).unwrap();
        let target = Target::Group("g7".into());
        b.iter(|| {
            manager
                .send(black_box(&target), &message)
                .now_or_never()
                .unwrap()
                .unwrap();
            // The members of g7: c7, c1007, ..., c9007.
            for i in (7..10_000).step_by(1000) {
                black_box(queues[i].try_recv().ok());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, parse, write, broadcast, groups);
criterion_main!(benches);
