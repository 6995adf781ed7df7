//! A router served on loopback and a raw WebSocket to its `/hub` that has done the JSON
//! handshake, for tests that speak the wire protocol themselves.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Serves `router` with `hubs::serve` on a free port and connects to its `/hub`.
pub(crate) async fn serve_and_connect(router: axum::Router) -> Socket {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { hubs::serve(listener, router).await });

    let (mut socket, _) = connect_async(format!("ws://{address}/hub")).await.unwrap();
    socket
        .send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap().into_text().unwrap(),
        "{}\u{1e}"
    );
    socket
}
