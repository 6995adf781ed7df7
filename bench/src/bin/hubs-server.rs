//! Contestant `hubs`: the benchmark hub at `/hub`, default options except the keep-alive
//! interval (`--keepalive`); its echo behind authorization at `/hub-auth` (a bearer token in
//! `access_token`).
//!
//! Methods: `Echo(s) -> s`; `Broadcast(s)`: everyone gets `Recv(s)`; `JoinGroup(g)`;
//! `JoinGroups(prefix, n)`: joins `prefix0` .. `prefix{n-1}`; `SendToGroup(g, s)`: group `g`
//! gets `Recv(s)`.
//!
//! `/echo` answers every text message as it came, on hubs' connection layer alone (a
//! `ConnectionHandler`, no hub protocol): the generator's `raw` flavour measures the
//! transport without the hub's work. `/floor` answers the generator's JSON Echo calls with a
//! SignalR echo in as little code as it takes (`floor.rs`): the yardstick for the hub's own
//! cost.
//!
//! `--redis redis://127.0.0.1:<port>` puts `/hub` on the Redis lifetime manager (feature
//! `redis`, on by default), so several of these processes behave as one hub. It serves with
//! `hubs::serve`, the server hubs recommends; `--axum-serve` serves with `axum::serve` instead
//! (WebSockets then go through hyper's upgraded connection).

use bench::server::{self, ServerArgs};
use hubs::auth::JwtBearer;
use hubs::prelude::*;

/// The benchmark hub.
pub struct BenchHub;

#[hub]
impl BenchHub {
    /// Answers its argument.
    pub async fn echo(&self, s: String) -> String {
        s
    }

    /// Sends `Recv(s)` to every connection.
    pub async fn broadcast(&self, ctx: &Context, s: String) -> Result<(), HubError> {
        ctx.clients().all().send("Recv", (s,)).await?;
        Ok(())
    }

    /// Adds the caller to group `g`.
    pub async fn join_group(&self, ctx: &Context, g: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), &g).await?;
        Ok(())
    }

    /// Adds the caller to `n` groups named `prefix0` .. `prefix{n-1}`.
    pub async fn join_groups(&self, ctx: &Context, prefix: String, n: u32) -> Result<(), HubError> {
        for i in 0..n {
            ctx.groups()
                .add(ctx.connection_id(), &format!("{prefix}{i}"))
                .await?;
        }
        Ok(())
    }

    /// Sends `Recv(s)` to group `g`.
    pub async fn send_to_group(&self, ctx: &Context, g: String, s: String) -> Result<(), HubError> {
        ctx.clients().group(&g).send("Recv", (s,)).await?;
        Ok(())
    }
}

/// The echo of the connection-endpoint tests: hubs' connection layer answering each message
/// as it came, in text frames here (the generator's `raw` flavour sends text).
#[path = "../../../hubs/tests/support/echo.rs"]
mod connection_echo;
#[path = "hubs-server/floor.rs"]
mod floor;

/// The benchmark hub's echo behind authorization: a hub-level `#[authorize]` and a method
/// policy, for the cost of authorizing every call.
pub struct AuthorizedBenchHub;

#[hub]
#[authorize]
impl AuthorizedBenchHub {
    /// Answers its argument, for callers the `Bench` policy admits.
    #[authorize(policy = "Bench")]
    pub async fn echo(&self, s: String) -> String {
        s
    }
}

/// `builder` on the Redis lifetime manager when `--redis URL` is given.
#[cfg(feature = "redis")]
fn scale_out(builder: hubs::HubEndpointBuilder<BenchHub>) -> hubs::HubEndpointBuilder<BenchHub> {
    use hubs::redis::{RedisLifetimeManager, RedisOptions};
    match bench::args::Args::from_env().str("redis") {
        Some(url) => builder.lifetime_manager(
            RedisLifetimeManager::new(RedisOptions::new(url))
                .unwrap_or_else(|e| panic!("--redis {url}: {e}")),
        ),
        None => builder,
    }
}

/// Without the `redis` feature, `--redis` is refused.
#[cfg(not(feature = "redis"))]
fn scale_out(builder: hubs::HubEndpointBuilder<BenchHub>) -> hubs::HubEndpointBuilder<BenchHub> {
    if bench::args::Args::from_env().has("redis") {
        eprintln!("--redis: this hubs-server was built without the `redis` feature of bench");
        std::process::exit(2);
    }
    builder
}

fn main() {
    let args = ServerArgs::from_env();
    server::run(async move {
        let endpoint = scale_out(HubEndpoint::builder(BenchHub))
            .configure(|o| {
                if let Some(keepalive) = args.keepalive {
                    o.keep_alive_interval = keepalive;
                }
            })
            // Offered only to a client that asks (`--flavor signalr-json+stateful`).
            .configure_connections(|c| c.allow_stateful_reconnects = true)
            .build();
        let authorized = HubEndpoint::builder(AuthorizedBenchHub)
            .authenticate(
                JwtBearer::hmac(server::AUTH_KEY)
                    .issuer(server::AUTH_ISSUER)
                    .audience(server::AUTH_ISSUER),
            )
            .policy("Bench", |call| call.user().name() == "bench")
            .build();
        let app = axum::Router::new()
            .hub("/hub", endpoint)
            .hub("/hub-auth", authorized)
            .connection_handler("/echo", connection_echo::Echo { binary: false })
            .connection_handler("/floor", floor::Floor);
        let listener = server::listen(args.port).await;
        // `hubs::serve` hands a WebSocket its `TcpStream`; under `axum::serve` it goes
        // through hyper's upgraded connection.
        if bench::args::Args::from_env().has("axum-serve") {
            server::serve_axum(listener, app).await;
        } else {
            hubs::serve(listener, app).await.expect("the server runs");
        }
    });
}
