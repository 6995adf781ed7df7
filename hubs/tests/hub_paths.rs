#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! Served with `hubs::serve` (or through `hubs::match_path_case` under `axum::serve`), hub paths
//! match without regard to case, as in ASP.NET Core
//! (its functional tests are redirected to `/testHub` and the hub is mounted at `/testhub`).

use hubs::prelude::*;
use support::post;

mod support;

struct Test;

#[hub]
impl Test {
    pub async fn echo(&self, text: String) -> String {
        text
    }
}

#[tokio::test]
async fn hub_paths_ignore_case_and_keep_the_query() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .hub("/testhub", Test)
        .route("/Other", axum::routing::get(|| async { "other" }));
    tokio::spawn(async move { hubs::serve(listener, app).await.unwrap() });

    for path in [
        "/testhub/negotiate",
        "/testHub/negotiate",
        "/TESTHUB/Negotiate?negotiateVersion=1",
    ] {
        let response = post(address, path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
        assert!(response.contains("\"connectionId\""), "{path}: {response}");
    }
    let versioned = post(address, "/TestHub/negotiate?negotiateVersion=1").await;
    assert!(
        versioned.contains("\"negotiateVersion\":1"),
        "the query is kept: {versioned}"
    );
    // Other routes keep axum's exact matching.
    assert!(post(address, "/other").await.starts_with("HTTP/1.1 404"));
}

#[tokio::test]
async fn under_axum_serve_match_path_case_does_the_same() {
    use tower::ServiceExt as _;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .hub("/casehub", Test)
        .map_request(hubs::match_path_case::<axum::body::Body>);
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let response = post(address, "/CaseHub/negotiate").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
