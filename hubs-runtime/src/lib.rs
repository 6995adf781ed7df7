//! The runtime of `hubs`: everything between a socket and a hub method, in layers that each do
//! one job, lower never importing upper:
//!
//! - [`auth`]: who a request comes from (request parts in, a principal out); it knows no
//!   connections, so the connection layer asks it about every request;
//! - [`connection`]: negotiate and the transports, a duplex byte stream per connection;
//! - [`protocol`]: the handshake and the hub protocols, bytes <-> hub messages;
//! - [`lifetime`]: connections, groups and users, and delivery of serialized messages;
//! - [`clients`]: the send targets hub code uses;
//! - [`hub`]: dispatching messages to hub methods and hooks. An invocation goes: lookup by
//!   wire name, authorization (`#[authorize]` rules and policies), argument binding, filters
//!   in registration order, the method, its Completion;
//! - [`axum`](HubRouterExt): mounting hubs and connection handlers on a router, and [`serve`]
//!   to run it.
//!
//! Applications use it through the `hubs` crate.
//!
//! Small helpers an echo runs on every message are `#[inline]`: the dispatcher that calls
//! them is generic over the hub, so it is compiled in the application's crate, where a
//! plain function of this crate could not be inlined (BENCHMARKS.md, fifteenth pass).

pub mod auth;
pub mod clients;
pub mod connection;
#[cfg(feature = "typescript")]
pub mod describe;
pub mod hub;
pub mod lifetime;
pub mod protocol;

mod axum;
mod binary;
mod coarse_clock;
mod endpoint;
mod error;
mod guid;
mod options;
mod prefetch;
mod rare;
mod serve;
mod telemetry;
mod timestamp;
mod utf8;

pub use crate::axum::{HubRouterExt, match_path_case};
pub use auth::UserIdProvider;
pub use binary::Binary;
pub use clients::{
    CallerClients, ClientProxy, ClientResultTarget, ClientTarget, Groups, HubClients,
    IntoArguments, Presence, SingleClientProxy,
};
pub use connection::{ConnectionEndpoint, ConnectionHandler, ConnectionOptions, RequestInfo};
pub use endpoint::{HubContext, HubEndpoint, HubEndpointBuilder};
pub use guid::Guid;
pub use hub::UploadStream;
pub use hub::{Context, Hub, HubError};
pub use lifetime::SendError;
pub use options::HubOptions;
pub use protocol::{JsonPropertyNames, Protocol};
pub use serve::{DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, Serve, serve};
pub use timestamp::{Timestamp, TimestampParseError};
