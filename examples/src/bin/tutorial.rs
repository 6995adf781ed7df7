//! The tutorial example: `cargo run --release -p examples --bin tutorial`, then
//!
//! - `/hubs/news`: `POST /api/news` with `{"title": .., "url": ..}` pushes `ReceiveNews(item)` to
//!   every reader, `POST /api/news/{topic}` only to those who called `Follow(topic)`;
//! - `/hubs/rooms`: `SendToAll`, `EnterRoom`, `LeaveRoom`, `SendToRoom`;
//! - `/hubs/streams`: `Counter(count, delayMs)` streams numbers, `UploadLines(stream)` joins an
//!   upload.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use examples::tutorial::{NewsClient, NewsHub, NewsItem, RoomsHub, StreamsHub};
use hubs::Timestamp;
use hubs::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Publish {
    title: String,
    url: Option<String>,
}

impl Publish {
    fn item(self) -> NewsItem {
        NewsItem {
            title: self.title,
            url: self.url,
            published_at: Timestamp::now(),
        }
    }
}

/// `POST /api/news`: every reader.
async fn publish(State(news): State<HubContext<NewsHub>>, Json(body): Json<Publish>) -> StatusCode {
    match news.clients().all().receive_news(&body.item()).await {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `POST /api/news/{topic}`: the topic's followers.
async fn publish_to_topic(
    State(news): State<HubContext<NewsHub>>,
    Path(topic): Path<String>,
    Json(body): Json<Publish>,
) -> StatusCode {
    match news.clients().group(topic).receive_news(&body.item()).await {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[tokio::main]
async fn main() {
    examples::init_tracing();
    let news = HubEndpoint::new(NewsHub);
    let app = Router::new()
        .route("/api/news", post(publish))
        .route("/api/news/{topic}", post(publish_to_topic))
        .with_state(news.context())
        .hub("/hubs/news", news)
        .hub("/hubs/rooms", RoomsHub)
        .hub("/hubs/streams", StreamsHub);
    examples::serve(app).await;
}
