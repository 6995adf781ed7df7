//! Contestant `raw`: axum's WebSockets (tungstenite, the stack `hubs` used before it had its
//! own) on the same runtime as `hubs`, and nothing on top.
//!
//! `/echo`: every message comes back as it came. `/broadcast`: every message goes to every
//! connection (the sender too), one shared buffer, through a per-connection queue and writer
//! task that batches writes like `hubs` does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;
use bench::server::{self, ServerArgs, WS_MAX_MESSAGE, WS_READ_BUFFER, WS_WRITE_BUFFER};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

/// Messages one connection may have queued, as `hubs`' default send queue.
const QUEUE: usize = 1024;
/// Most frames written before one flush, as in `hubs`.
const MAX_FRAMES_PER_FLUSH: usize = 64;

#[derive(Default)]
struct Registry {
    next: AtomicU64,
    sockets: Mutex<HashMap<u64, mpsc::Sender<Message>>>,
}

/// `--write-buffer`, for experiments.
static WRITE_BUFFER: AtomicUsize = AtomicUsize::new(WS_WRITE_BUFFER);

fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER.load(Ordering::Relaxed))
        .max_message_size(WS_MAX_MESSAGE)
}

async fn echo(ws: WebSocketUpgrade) -> Response {
    configure(ws).on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    if socket.send(message).await.is_err() {
                        return;
                    }
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    })
}

async fn broadcast(State(registry): State<Arc<Registry>>, ws: WebSocketUpgrade) -> Response {
    configure(ws).on_upgrade(move |socket| async move {
        let id = registry.next.fetch_add(1, Ordering::Relaxed);
        let (sender, mut queue) = mpsc::channel::<Message>(QUEUE);
        registry.sockets.lock().unwrap().insert(id, sender);
        let (mut sink, mut stream) = socket.split();
        let writer = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if sink.feed(message).await.is_err() {
                    return;
                }
                let mut written = 1;
                while written < MAX_FRAMES_PER_FLUSH {
                    let Ok(message) = queue.try_recv() else { break };
                    if sink.feed(message).await.is_err() {
                        return;
                    }
                    written += 1;
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        });
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    let sockets = registry.sockets.lock().unwrap();
                    for socket in sockets.values() {
                        // A full queue drops the message for that socket; the benchmark keeps
                        // queues far from full.
                        let _ = socket.try_send(message.clone());
                    }
                }
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
        registry.sockets.lock().unwrap().remove(&id);
        writer.abort();
    })
}

fn main() {
    let args = ServerArgs::from_env();
    WRITE_BUFFER.store(args.write_buffer, Ordering::Relaxed);
    server::run(async move {
        let app = Router::new()
            .route("/echo", any(echo))
            .route("/broadcast", any(broadcast))
            .with_state(Arc::new(Registry::default()));
        let listener = server::listen(args.port).await;
        server::serve_axum(listener, app).await;
    });
}
