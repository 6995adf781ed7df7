//! What several integration tests share.

use std::net::SocketAddr;

/// Sends `POST {path}` with an empty body to `address` over a new connection and returns the
/// whole response (status line, headers, body) as text.
pub(crate) async fn post(address: SocketAddr, path: &str) -> String {
    request(address, "POST", path, "").await
}

/// Sends `{method} {path}` with `body` to `address` over a new connection and returns the
/// whole response as text.
pub(crate) async fn request(address: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let length = body.len();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response)
        .await
        .unwrap();
    response
}
