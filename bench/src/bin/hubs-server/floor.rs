//! A SignalR JSON echo in as little code as it takes, on hubs' connection layer: the
//! yardstick for the hub's own per-message cost (BENCHMARKS.md, "Issue 14, sixteenth pass").
//!
//! Not a hub and not for clients: it answers the JSON handshake, then every Invocation that
//! has an id and one string argument with a Completion whose result is that argument, and
//! skips every other message. What it keeps of a method call is what no hub can skip: the
//! argument decoded into an owned `String`, a boxed future polled once, the result written as
//! JSON, the Completion framed (into a frame of its own: one allocation the hub avoids). It
//! skips what the hub does besides: checking the message is valid JSON, finding the method,
//! the checks before a call, timers, metrics.

use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use hubs::connection::{ConnectionHandler, Outgoing, TransportConnection};
use memchr::memmem;

/// The JSON echo at its floor; see the module's docs.
pub(crate) struct Floor;

const SEPARATOR: u8 = 0x1e;

/// A key's searcher, built once: building one costs more than searching a small message.
type Key = LazyLock<memmem::Finder<'static>>;

static TYPE: Key = LazyLock::new(|| memmem::Finder::new("\"type\":"));
static INVOCATION_ID: Key = LazyLock::new(|| memmem::Finder::new("\"invocationId\":\""));
static ARGUMENTS: Key = LazyLock::new(|| memmem::Finder::new("\"arguments\":["));

/// The bytes after `key` up to (not including) `end`, if `key` is there.
fn after<'a>(record: &'a [u8], key: &Key, end: u8) -> Option<&'a [u8]> {
    let at = key.find(record)? + key.needle().len();
    let rest = &record[at..];
    Some(&rest[..memchr::memchr(end, rest)?])
}

/// The Completion of one record, if it is an Invocation with an id and one string argument.
fn answer(record: &[u8], out: &mut Vec<u8>) {
    if after(record, &TYPE, b',').is_none_or(|kind| kind != b"1") {
        return;
    }
    let (Some(id), Some(argument)) = (
        after(record, &INVOCATION_ID, b'"'),
        after(record, &ARGUMENTS, b']'),
    ) else {
        return;
    };
    // A string without escapes is its bytes between the quotes, as the hub reads one.
    let plain = argument
        .strip_prefix(b"\"")
        .and_then(|inner| inner.strip_suffix(b"\""))
        .filter(|inner| !inner.contains(&b'\\'))
        .and_then(|inner| std::str::from_utf8(inner).ok());
    let text = match plain {
        Some(text) => String::from(text),
        None => match serde_json::from_slice::<String>(argument) {
            Ok(text) => text,
            Err(_) => return,
        },
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
            let json = memmem::find(&handshake, b"\"protocol\":\"json\"").is_some();
            let reply: &'static [u8] = match json {
                true => b"{}\x1e",
                false => b"{\"error\":\"Only the json protocol is served here.\"}\x1e",
            };
            let _ = outbound
                .send(Outgoing::Control(Bytes::from_static(reply)))
                .await;
            if !json {
                return;
            }
            // Records never span chunks here: the generator sends each in one frame.
            let mut out = Vec::new();
            while let Some(chunk) = inbound.next().await {
                out.clear();
                for record in chunk.split(|&b| b == SEPARATOR) {
                    answer(record, &mut out);
                }
                if out.is_empty() {
                    continue;
                }
                // One allocation per answer, the frame's.
                let frame = Outgoing::Frame(Bytes::copy_from_slice(&out));
                if outbound.send(frame).await.is_err() {
                    return;
                }
            }
        })
    }
}
