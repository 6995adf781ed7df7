//! A raw WebSocket client that speaks the JSON hub protocol message by message: it splits
//! frames into messages, skips the server's Pings unless asked, and invokes by id.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// One connection; messages read past the one asked for wait in `pending`.
pub(crate) struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: Vec<Value>,
}

impl Client {
    /// Opens the WebSocket at `url`, without the hub handshake.
    pub(crate) async fn open(url: &str) -> Client {
        let (socket, _) = connect_async(url).await.expect("websocket connects");
        Client {
            socket,
            pending: Vec::new(),
        }
    }

    /// Opens the WebSocket at `url` and completes the JSON hub handshake.
    pub(crate) async fn connect(url: &str) -> Client {
        let mut client = Client::open(url).await;
        client
            .send_text("{\"protocol\":\"json\",\"version\":1}\u{1e}")
            .await;
        assert_eq!(client.next().await, json!({}));
        client
    }

    /// Sends `text` as one text frame.
    pub(crate) async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The next message, skipping server pings unless `pings` is set.
    pub(crate) async fn next_message(&mut self, pings: bool) -> Option<Value> {
        loop {
            if !self.pending.is_empty() {
                let message = self.pending.remove(0);
                if !pings && message["type"] == 6 {
                    continue;
                }
                return Some(message);
            }
            let frame = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a message within 5 s");
            let text = match frame {
                Some(Ok(Message::Text(text))) => text.to_string(),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            };
            assert!(
                text.ends_with('\u{1e}'),
                "every frame ends with a whole message: {text:?}"
            );
            for part in text.split_terminator('\u{1e}') {
                self.pending.push(serde_json::from_str(part).unwrap());
            }
        }
    }

    /// Every message, pings included, that arrives within `window`.
    pub(crate) async fn messages_within(&mut self, window: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + window;
        let mut messages = Vec::new();
        while let Ok(Some(message)) =
            tokio::time::timeout_at(deadline, self.next_message(true)).await
        {
            messages.push(message);
        }
        messages
    }

    /// The next message that is not a Ping; the connection must still be open.
    pub(crate) async fn next(&mut self) -> Value {
        self.next_message(false).await.expect("connection open")
    }

    /// Invokes `target` with `arguments` under `id`, and returns the next message.
    pub(crate) async fn invoke(&mut self, id: &str, target: &str, arguments: Value) -> Value {
        let message =
            json!({"type": 1, "invocationId": id, "target": target, "arguments": arguments});
        self.send_text(&format!("{message}\u{1e}")).await;
        self.next().await
    }
}
