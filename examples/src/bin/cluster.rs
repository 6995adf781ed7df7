//! A node of the multi-node tests: `REDIS_URL=redis://127.0.0.1:6379 PORT=5001 cargo run -p
//! examples --bin cluster`. [`ClusterHub`] at `/hubs/cluster`; the `user` query parameter names
//! a connection's user; without `REDIS_URL` it is a single node.

use examples::cluster::ClusterHub;
use hubs::prelude::*;

#[tokio::main]
async fn main() {
    examples::init_tracing();
    let node =
        std::env::var("NODE_NAME").unwrap_or_else(|_| examples::address().port().to_string());
    let builder = HubEndpoint::builder(ClusterHub { node })
        .authenticate(examples::user_from_query())
        // Tests read why a cross-node call failed.
        .detailed_errors(true)
        // `Ask` awaits another connection's answer inside a hub method.
        .configure(|o| o.maximum_parallel_invocations_per_client = 4);
    let endpoint = examples::scale_out::join(builder).build();
    let app = axum::Router::new().hub("/hubs/cluster", endpoint);
    examples::serve(app).await;
}
