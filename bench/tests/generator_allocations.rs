//! The load generator's hot path allocates nothing: reading frames, finding stamps and queueing
//! and writing the next requests (and Acks, with stateful reconnect) reuse a connection's
//! buffers. A generator that allocated per
//! message would spend its core on the allocator and limit the servers it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpListener;

use bench::client::{self, Endpoint, Flavor};
use bench::wire::{self, Template, for_each_stamp, opcode, stamped_payload};

/// Counts the allocations of the thread that asks, so the fake server's thread is not counted.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Round trips the test measures, after as many to warm up.
const ROUNDS: usize = 2000;

/// A server that accepts the upgrade, then answers every client frame with a server frame of
/// the same payload, several per write now and then (as a busy server batches them).
fn echo_server(listener: TcpListener) {
    let (mut socket, _) = listener.accept().unwrap();
    let mut read = Vec::new();
    let mut chunk = [0u8; 4096];
    while !read.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).unwrap();
        read.extend_from_slice(&chunk[..n]);
    }
    read.clear();
    socket
        .write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
        .unwrap();
    loop {
        let n = match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        read.extend_from_slice(&chunk[..n]);
        let mut answer = Vec::new();
        // Client frames: 2-byte header (payloads under 126 bytes here), zero mask key.
        while read.len() >= 6 && read.len() >= 6 + usize::from(read[1] & 0x7f) {
            let len = usize::from(read[1] & 0x7f);
            answer.extend_from_slice(&[0x80 | opcode::TEXT, len as u8]);
            answer.extend_from_slice(&read[6..6 + len]);
            read.drain(..6 + len);
        }
        if socket.write_all(&answer).is_err() {
            return;
        }
    }
}

#[test]
fn reading_frames_and_sending_the_next_requests_allocates_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || echo_server(listener));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let endpoint = Endpoint {
            addr,
            path: "/echo".into(),
            flavor: Flavor::Raw { binary: false },
        };
        let mut conn = client::connect(&endpoint, None).await.unwrap();
        let mut template = Template::new(wire::client_frame(opcode::TEXT, &stamped_payload(32)));
        // A stateful-reconnect client's Acks go out beside the requests (echoed back, stampless).
        let stateful = |protocol| Flavor::SignalR {
            protocol,
            negotiate: true,
            stateful: true,
        };
        let mut stamps = 0u64;
        let mut before = 0;
        // Four calls in flight, so that reads often hold several replies.
        let mut due = 4;
        for round in 0..2 * ROUNDS {
            if round == ROUNDS {
                before = allocations();
            }
            for _ in 0..due {
                conn.queue(template.stamp(round as u64));
            }
            if round % 64 == 0 {
                for protocol in [wire::HubProtocol::Json, wire::HubProtocol::MessagePack] {
                    assert!(conn.queue_ack(stateful(protocol), round as u64));
                }
            }
            conn.flush().await.unwrap();
            due = 0;
            while due == 0 {
                assert!(conn.read().await.unwrap() > 0, "the server closed");
                conn.frames(|frame| for_each_stamp(frame.payload, |_| due += 1))
                    .unwrap();
            }
            stamps += due;
        }
        let allocated = allocations() - before;
        assert!(stamps >= 2 * ROUNDS as u64);
        assert_eq!(
            allocated, 0,
            "{allocated} allocations in {ROUNDS} round trips"
        );
    });
}
