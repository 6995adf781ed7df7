#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! JSON property names through the whole stack, byte for byte: a hub's struct fields go out
//! camelCase by default and as declared with `#[hub(json_property_names = "as_declared")]`,
//! in results, stream items, sends to the caller and sends from a `HubContext`; what clients
//! send binds in any letter case in both.

use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use hubs::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

#[derive(Clone, Serialize, Deserialize, ts_rs::TS)]
struct Profile {
    display_name: String,
    home_town: Option<HomeTown>,
}

#[derive(Clone, Serialize, Deserialize, ts_rs::TS)]
struct HomeTown {
    postal_code: String,
}

macro_rules! profile_hub {
    ($hub:ident $(, $names:literal)?) => {
        struct $hub;

        #[hub$((json_property_names = $names))?]
        impl $hub {
            pub async fn echo(&self, ctx: &Context, profile: Profile) -> Result<Profile, HubError> {
                ctx.clients().caller().send("Sent", (&profile,)).await?;
                Ok(profile)
            }

            pub async fn items(&self, profile: Profile) -> impl Stream<Item = Profile> + Send + 'static {
                futures_util::stream::iter([profile])
            }
        }
    };
}

profile_hub!(CamelHub);
profile_hub!(DeclaredHub, "as_declared");

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("ws://{address}")
}

/// The next text frame that is not a ping, as sent.
async fn next_text(socket: &mut Socket) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            Some(Ok(Message::Text(text))) if text.as_str() != "{\"type\":6}\u{1e}" => {
                return text.to_string();
            }
            Some(Ok(Message::Text(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn connect(url: &str) -> Socket {
    let (mut socket, _) = connect_async(url).await.expect("connects");
    let handshake = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
    socket.send(Message::text(handshake)).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "{}\u{1e}");
    socket
}

async fn send(socket: &mut Socket, message: &str) {
    socket
        .send(Message::text(format!("{message}\u{1e}")))
        .await
        .unwrap();
}

const PASCAL: &str = r#"{"DisplayName":"ann","HomeTown":{"PostalCode":"75001"}}"#;
const CAMEL: &str = r#"{"displayName":"ann","homeTown":{"postalCode":"75001"}}"#;
const DECLARED: &str = r#"{"display_name":"ann","home_town":{"postal_code":"75001"}}"#;

/// Sends `profile` to `Echo` and `Items` and checks every frame carries `expected`.
async fn round_trip(socket: &mut Socket, profile: &str, expected: &str) {
    let echo =
        format!(r#"{{"type":1,"invocationId":"1","target":"Echo","arguments":[{profile}]}}"#);
    send(socket, &echo).await;
    assert_eq!(
        next_text(socket).await,
        format!("{{\"type\":1,\"target\":\"Sent\",\"arguments\":[{expected}]}}\u{1e}")
    );
    assert_eq!(
        next_text(socket).await,
        format!("{{\"type\":3,\"invocationId\":\"1\",\"result\":{expected}}}\u{1e}")
    );
    let items =
        format!(r#"{{"type":4,"invocationId":"2","target":"Items","arguments":[{profile}]}}"#);
    send(socket, &items).await;
    assert_eq!(
        next_text(socket).await,
        format!("{{\"type\":2,\"invocationId\":\"2\",\"item\":{expected}}}\u{1e}")
    );
    assert_eq!(
        next_text(socket).await,
        "{\"type\":3,\"invocationId\":\"2\"}\u{1e}"
    );
}

#[tokio::test]
async fn camel_case_by_default_and_as_declared_on_request_reading_any_case() {
    let camel = HubEndpoint::new(CamelHub);
    let declared = HubEndpoint::new(DeclaredHub);
    let (camel_context, declared_context) = (camel.context(), declared.context());
    let url = start(
        axum::Router::new()
            .hub("/camel", camel)
            .hub("/declared", declared),
    )
    .await;

    let mut socket = connect(&format!("{url}/camel")).await;
    for sent in [PASCAL, CAMEL, DECLARED] {
        round_trip(&mut socket, sent, CAMEL).await;
    }
    let profile: Profile = serde_json::from_str(DECLARED).unwrap();
    camel_context
        .clients()
        .all()
        .send("Pushed", (&profile,))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut socket).await,
        format!("{{\"type\":1,\"target\":\"Pushed\",\"arguments\":[{CAMEL}]}}\u{1e}")
    );

    let mut socket = connect(&format!("{url}/declared")).await;
    for sent in [PASCAL, CAMEL, DECLARED] {
        round_trip(&mut socket, sent, DECLARED).await;
    }
    declared_context
        .clients()
        .all()
        .send("Pushed", (&profile,))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut socket).await,
        format!("{{\"type\":1,\"target\":\"Pushed\",\"arguments\":[{DECLARED}]}}\u{1e}")
    );
}
