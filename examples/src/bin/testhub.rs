//! The server the official TypeScript client's functional tests run against
//! (`dotnet/aspnetcore`, `src/SignalR/clients/ts/FunctionalTests`), on hubs; see
//! `examples::testhub` for what it serves. Listens on 127.0.0.1 and the port in `PORT` (5000).

#[tokio::main]
async fn main() {
    examples::init_tracing();
    examples::serve(examples::testhub::router()).await;
}
