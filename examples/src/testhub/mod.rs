//! The server side of the official TypeScript client's functional tests
//! (`dotnet/aspnetcore`, `src/SignalR/clients/ts/FunctionalTests`), on hubs: the same hubs,
//! connection endpoint and HTTP endpoints, so that the client's own tests can run against a
//! Rust server. `cargo run --release -p examples --bin testhub` serves it.
//!
//! | path | what |
//! | --- | --- |
//! | `/testhub` | [`TestHub`], every transport |
//! | `/testhub-nowebsockets` | [`TestHub`], Server-Sent Events and Long Polling only |
//! | `/uncreatable` | [`UncreatableHub`]: every connection closes with an error |
//! | `/authorizedhub` | [`HubWithAuthorization`]: bearer tokens from `GET /generateJwtToken` |
//! | `/echo` | [`EchoConnectionHandler`]: a raw connection echoing what it receives |
//! | `/redirect` | a negotiate redirect to `{baseUrl}/testHub?numRedirects={n}` |
//! | `/echoredirect` | 307 to `/echo`, query kept |
//! | `/bad-negotiate` | 400, `Some response from server` |
//! | `GET /clientresult/{connectionId}` | the `Result` client result of that connection, or its error |
//!
//! Every hub has detailed errors on; every response to a path containing `/negotiate` sets
//! the cookies `testCookie`, `testCookie2` and an expired `expiredCookie`; any origin is
//! allowed with credentials ([`pipeline`]). Paths ignore case (`/testHub` is `/testhub`).

mod other_endpoints;
pub mod pipeline;
mod test_hub;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use hubs::prelude::*;
use hubs::{ConnectionOptions, Transport};

pub use other_endpoints::{EchoConnectionHandler, HubWithAuthorization, TokenKey, UncreatableHub};
pub use test_hub::{ComplexObject, CustomObject, TestHub};

/// The whole application.
pub fn router() -> Router {
    let key = TokenKey::random();
    let test_hub = test_hub_endpoint(Transport::ALL.to_vec());
    let without_websockets =
        test_hub_endpoint(vec![Transport::ServerSentEvents, Transport::LongPolling]);
    // .NET has one `IHubContext<TestHub>` for both endpoints; here each has its own.
    let contexts = [test_hub.context(), without_websockets.context()];
    let uncreatable = HubEndpoint::builder(UncreatableHub)
        .detailed_errors(true)
        .build();
    Router::new()
        .hub("/testhub", test_hub)
        .hub("/testhub-nowebsockets", without_websockets)
        .hub("/uncreatable", uncreatable)
        .hub("/authorizedhub", key.authorized_hub())
        .connection_handler("/echo", EchoConnectionHandler::default())
        .route(
            "/generateJwtToken",
            get(move || std::future::ready(key.generate())),
        )
        .route(
            "/clientresult/{id}",
            get(client_result).with_state(contexts),
        )
        .layer(axum::middleware::from_fn(pipeline::before_routing))
}

fn test_hub_endpoint(transports: Vec<Transport>) -> HubEndpoint<TestHub> {
    HubEndpoint::builder(TestHub)
        .detailed_errors(true)
        .connection_options(ConnectionOptions {
            transports,
            ..ConnectionOptions::default()
        })
        .build()
}

/// `GET /clientresult/{id}`: asks connection `id` for the client result `Result` (an `int`)
/// and answers its value, or the error's message.
async fn client_result(
    State(contexts): State<[HubContext<TestHub>; 2]>,
    Path(id): Path<String>,
) -> String {
    let mut answer = String::new();
    for context in &contexts {
        let result = context
            .clients()
            .client(&id)
            .invoke::<i32, _>("Result", ())
            .await;
        match result {
            Ok(value) => return value.to_string(),
            Err(error) => answer = error.message().to_owned(),
        }
        // Asked of the endpoint the connection is not on: try the other.
        if !answer.ends_with("does not exist.") {
            break;
        }
    }
    answer
}
