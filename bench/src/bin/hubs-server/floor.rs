//! The least work a SignalR JSON echo can do, on hubs' connection layer: the yardstick for the
//! hub's own per-message cost (BENCHMARKS.md, "Issue 14, sixteenth pass").
//!
//! Not a hub and not for clients: it answers the JSON handshake, then every Invocation that
//! has an id with a Completion whose result is the first argument, and skips every other
//! message. What it keeps of a method call is what no hub can skip: the argument decoded
//! into an owned `String`, a boxed future polled once, the result written as JSON, the
//! Completion framed. It skips what the hub does besides: checking the message is valid
//! JSON, finding the method, the checks before a call, timers, metrics.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use hubs::connection::{ConnectionHandler, Outgoing, TransportConnection};
use memchr::memmem;

/// The JSON echo at its floor; see the module's docs.
pub(crate) struct Floor;

const SEPARATOR: u8 = 0x1e;

/// The bytes after `key` up to (not including) `end`, if `key` is there.
fn after<'a>(record: &'a [u8], key: &[u8], end: u8) -> Option<&'a [u8]> {
    let rest = &record[memmem::find(record, key)? + key.len()..];
    Some(&rest[..memchr::memchr(end, rest)?])
}

/// The Completion of one record, if it is an Invocation with an id and a string argument.
fn answer(record: &[u8], out: &mut Vec<u8>) {
    if after(record, b"\"type\":", b',').is_none_or(|kind| kind != b"1") {
        return;
    }
    let (Some(id), Some(argument)) = (
        after(record, b"\"invocationId\":\"", b'"'),
        after(record, b"\"arguments\":[", b']'),
    ) else {
        return;
    };
    let Ok(text) = serde_json::from_slice::<String>(argument) else {
        return;
    };
    // The method, as a hub calls one: a boxed future, polled once.
    let mut method: BoxFuture<'static, String> = Box::pin(async move { text });
    let Poll::Ready(result) = method
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        return;
    };
    out.extend_from_slice(b"{\"type\":3,\"invocationId\":\"");
    out.extend_from_slice(id);
    out.extend_from_slice(b"\",\"result\":");
    serde_json::to_writer(&mut *out, &result).expect("writing JSON to memory");
    out.extend_from_slice(b"}\x1e");
}

impl ConnectionHandler for Floor {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let TransportConnection {
                mut inbound,
                outbound,
                ..
            } = connection;
            // The handshake: JSON only, whole in one chunk (as the generator sends it).
            let Some(handshake) = inbound.next().await else {
                return;
            };
            let reply: &'static [u8] = match memmem::find(&handshake, b"\"protocol\":\"json\"") {
                Some(_) => b"{}\x1e",
                None => b"{\"error\":\"Only the json protocol is served here.\"}\x1e",
            };
            let refused = reply.len() > 3;
            let _ = outbound
                .send(Outgoing::Control(Bytes::from_static(reply)))
                .await;
            if refused {
                return;
            }
            // Records never span chunks here: the generator sends each in one frame.
            while let Some(chunk) = inbound.next().await {
                let mut out = Vec::with_capacity(chunk.len() + 32);
                for record in chunk.split(|&b| b == SEPARATOR) {
                    answer(record, &mut out);
                }
                if !out.is_empty() && outbound.send(Outgoing::Frame(out.into())).await.is_err() {
                    return;
                }
            }
        })
    }
}
