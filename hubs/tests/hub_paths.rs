#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! Served with `hubs::serve` (or through `hubs::match_path_case` under `axum::serve`), hub paths
//! match without regard to case, as in ASP.NET Core
//! (its functional tests are redirected to `/testHub` and the hub is mounted at `/testhub`).

use hubs::prelude::*;

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

    let post = |path: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response)
            .await
            .unwrap();
        response
    };
    for path in [
        "/testhub/negotiate",
        "/testHub/negotiate",
        "/TESTHUB/Negotiate?negotiateVersion=1",
    ] {
        let response = post(path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
        assert!(response.contains("\"connectionId\""), "{path}: {response}");
    }
    let versioned = post("/TestHub/negotiate?negotiateVersion=1").await;
    assert!(
        versioned.contains("\"negotiateVersion\":1"),
        "the query is kept: {versioned}"
    );
    // Other routes keep axum's exact matching.
    assert!(post("/other").await.starts_with("HTTP/1.1 404"));
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

    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = "POST /CaseHub/negotiate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response)
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
