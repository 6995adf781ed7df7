//! The benchmark suite of `hubs`: contestant servers, a load generator and the runner that puts
//! them side by side. See `BENCHMARKS.md` at the repository root for the command and results.
//!
//! - [`wire`]: frames and messages as the generator sends and reads them, pre-encoded;
//! - [`client`]: connecting a generator connection (WebSocket, SignalR, Socket.IO);
//! - [`http`]: plain HTTP/1.1: the negotiate request, and SignalR over SSE and Long Polling;
//! - [`procfs`]: CPU time and memory of a process, from `/proc`;
//! - [`args`]: the few command-line flags every binary takes;
//! - [`server`]: what every contestant server shares (runtime, listener, port line).

pub mod args;
pub mod client;
pub mod http;
pub mod procfs;
pub mod server;
pub mod wire;
