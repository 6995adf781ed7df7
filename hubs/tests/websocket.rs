#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! The whole stack in one process: a real axum server on loopback and a raw WebSocket client
//! that speaks the JSON hub protocol byte by byte.

use std::time::Duration;

use hubs::prelude::*;
use serde_json::{Value, json};

#[path = "support/json_client.rs"]
mod json_client;

use json_client::Client;

struct TestHub;

/// What the test hub calls on clients.
#[hub_client]
trait Listener {
    async fn heard(&self, text: &str);
    #[method(name = "heardTwice")]
    async fn heard_twice(&self, first: String, second: &String);
}

#[derive(Debug)]
struct Broken;
impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it broke")
    }
}
impl std::error::Error for Broken {}

#[hub]
impl TestHub {
    pub async fn echo(&self, text: String) -> String {
        text
    }
    pub async fn add(&self, a: i32, b: i32) -> i32 {
        a + b
    }
    pub async fn nothing(&self) {}
    pub async fn refuse(&self) -> Result<(), HubError> {
        Err(HubError::new("not allowed"))
    }
    pub async fn fail(&self) -> Result<u8, Broken> {
        Err(Broken)
    }
    pub async fn explode(&self) -> u8 {
        panic!("kaboom")
    }
    pub async fn leave(&self, ctx: &Context) {
        ctx.abort();
    }
    pub async fn shout(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        let loud = text.to_uppercase();
        ctx.clients().caller().heard(&loud).await?;
        ctx.clients().caller().heard_twice(text, &loud).await?;
        Ok(())
    }
}

struct RejectingHub;

#[hub]
impl RejectingHub {
    pub async fn echo(&self, text: String) -> String {
        text
    }
    async fn on_connected(&self) -> Result<(), HubError> {
        Err(HubError::new("go away"))
    }
}

async fn start(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("ws://{address}")
}

async fn server(options: HubOptions) -> String {
    let detailed = HubEndpoint::builder(TestHub)
        .options(HubOptions {
            enable_detailed_errors: true,
            ..options.clone()
        })
        .build();
    let app = axum::Router::new()
        .hub(
            "/hub",
            HubEndpoint::builder(TestHub).options(options).build(),
        )
        .hub("/detailed", detailed)
        .hub("/rejecting", RejectingHub);
    start(app).await
}

/// The Close a client gets when it timed out.
fn timed_out() -> Value {
    json!({"type": 7, "error": "Connection closed with an error.", "allowReconnect": true})
}

fn error_of(completion: &Value) -> &str {
    completion["error"]
        .as_str()
        .unwrap_or_else(|| panic!("an error completion: {completion}"))
}

#[tokio::test]
async fn results_and_void_completions() {
    let url = server(HubOptions::default()).await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    assert_eq!(
        c.invoke("1", "Echo", json!(["hi"])).await,
        json!({"type": 3, "invocationId": "1", "result": "hi"})
    );
    assert_eq!(c.invoke("2", "add", json!([2, 3])).await["result"], 5);
    assert_eq!(
        c.invoke("3", "NOTHING", json!([])).await,
        json!({"type": 3, "invocationId": "3", "result": null})
    );
}

#[tokio::test]
async fn messages_may_be_batched_or_split_across_frames() {
    let url = server(HubOptions::default()).await;
    let mut c = Client::open(&format!("{url}/hub")).await;
    // Handshake and a first invocation in one frame.
    c.send_text("{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[\"a\"]}\u{1e}")
        .await;
    assert_eq!(c.next().await, json!({}));
    assert_eq!(c.next().await["result"], "a");
    // One invocation over three frames.
    for part in [
        "{\"type\":1,\"invoca",
        "tionId\":\"2\",\"target\":\"Echo\",\"argu",
        "ments\":[\"b\"]}\u{1e}",
    ] {
        c.send_text(part).await;
    }
    assert_eq!(c.next().await["result"], "b");
    // Two invocations in one frame, keys in any order, unknown keys and headers ignored.
    c.send_text("{\"arguments\":[\"c\"],\"target\":\"Echo\",\"x\":[1],\"invocationId\":\"3\",\"type\":1}\u{1e}{\"type\":1,\"headers\":{\"k\":\"v\"},\"invocationId\":\"4\",\"target\":\"Echo\",\"arguments\":[\"d\"]}\u{1e}")
        .await;
    assert_eq!(c.next().await["result"], "c");
    assert_eq!(c.next().await["result"], "d");
}

#[tokio::test]
async fn fire_and_forget_gets_no_completion() {
    let url = server(HubOptions::default()).await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    c.send_text("{\"type\":1,\"target\":\"Shout\",\"arguments\":[\"hey\"]}\u{1e}")
        .await;
    c.send_text("{\"type\":1,\"target\":\"Refuse\",\"arguments\":[]}\u{1e}")
        .await;
    assert_eq!(
        c.next().await,
        json!({"type": 1, "target": "Heard", "arguments": ["HEY"]})
    );
    assert_eq!(
        c.next().await,
        json!({"type": 1, "target": "heardTwice", "arguments": ["hey", "HEY"]})
    );
    // The next thing is the echo's completion: nothing came for the two calls without an id.
    assert_eq!(
        c.invoke("9", "Echo", json!(["x"])).await["invocationId"],
        "9"
    );
}

#[tokio::test]
async fn errors_use_aspnet_wording_and_the_connection_survives() {
    let url = server(HubOptions::default()).await;
    for (path, detailed) in [("hub", false), ("detailed", true)] {
        let mut c = Client::connect(&format!("{url}/{path}")).await;
        let detail = |text: &str| {
            if detailed {
                format!(" {text}")
            } else {
                String::new()
            }
        };
        let cases = [
            (
                "Missing",
                json!([]),
                "Failed to invoke 'Missing' due to an error on the server. HubException: Method does not exist.".to_string(),
            ),
            (
                "Add",
                json!([1]),
                format!(
                    "Failed to invoke 'Add' due to an error on the server.{}",
                    detail("InvalidDataException: Invocation provides 1 argument(s) but target expects 2.")
                ),
            ),
            (
                "add",
                json!(["one", 2]),
                format!(
                    "Failed to invoke 'add' due to an error on the server.{}",
                    detail("InvalidDataException: Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.")
                ),
            ),
            (
                "Refuse",
                json!([]),
                "An unexpected error occurred invoking 'Refuse' on the server. HubException: not allowed".to_string(),
            ),
            (
                "Fail",
                json!([]),
                format!(
                    "An unexpected error occurred invoking 'Fail' on the server.{}",
                    detail("Broken: it broke")
                ),
            ),
            (
                "Explode",
                json!([]),
                format!(
                    "An unexpected error occurred invoking 'Explode' on the server.{}",
                    detail("Panic: kaboom")
                ),
            ),
        ];
        for (i, (target, arguments, expected)) in cases.into_iter().enumerate() {
            let completion = c.invoke(&i.to_string(), target, arguments).await;
            assert_eq!(error_of(&completion), expected, "{path} {target}");
            assert!(
                completion.get("result").is_none(),
                "never both result and error"
            );
            assert_eq!(
                c.invoke("ok", "Echo", json!(["still here"])).await["result"],
                "still here"
            );
        }
        // Streaming invocation of a plain method.
        c.send_text(
            "{\"type\":4,\"invocationId\":\"s\",\"target\":\"Echo\",\"arguments\":[\"x\"]}\u{1e}",
        )
        .await;
        assert_eq!(
            error_of(&c.next().await),
            "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation."
        );
    }
}

#[tokio::test]
async fn handshake_errors_are_reported_then_the_socket_closes() {
    let url = server(HubOptions::default()).await;
    for (request, expected) in [
        (
            "{\"protocol\":\"foo\",\"version\":1}",
            "The protocol 'foo' is not supported.",
        ),
        (
            "{\"protocol\":\"json\",\"version\":99}",
            "The server does not support version 99 of the 'json' protocol.",
        ),
        (
            "{\"protocol\":",
            "An unexpected error occurred during connection handshake.",
        ),
    ] {
        let mut c = Client::open(&format!("{url}/hub")).await;
        c.send_text(&format!("{request}\u{1e}")).await;
        assert_eq!(c.next().await, json!({ "error": expected }));
        assert_eq!(c.next_message(true).await, None, "closed after the error");
    }
}

#[tokio::test]
async fn a_silent_client_fails_the_handshake_timeout() {
    let url = server(HubOptions {
        handshake_timeout: Duration::from_millis(200),
        ..HubOptions::default()
    })
    .await;
    let mut c = Client::open(&format!("{url}/hub")).await;
    assert_eq!(c.next().await, json!({"error": "Handshake was canceled."}));
    assert_eq!(c.next_message(true).await, None);
}

#[tokio::test]
async fn malformed_and_oversized_messages_close_only_their_connection() {
    let url = server(HubOptions {
        maximum_receive_message_size: Some(1000),
        ..HubOptions::default()
    })
    .await;
    let mut bystander = Client::connect(&format!("{url}/hub")).await;
    let closed =
        json!({"type": 7, "error": "Connection closed with an error.", "allowReconnect": true});

    let mut bad = Client::connect(&format!("{url}/hub")).await;
    bad.send_text("{not json}\u{1e}").await;
    assert_eq!(bad.next().await, closed);
    assert_eq!(bad.next_message(true).await, None);

    let mut big = Client::connect(&format!("{url}/hub")).await;
    let under = "x".repeat(900);
    assert_eq!(
        big.invoke("1", "Echo", json!([under])).await["result"],
        under
    );
    big.send_text(&format!(
        "{{\"type\":1,\"target\":\"Echo\",\"arguments\":[\"{}\"]}}\u{1e}",
        "x".repeat(1200)
    ))
    .await;
    assert_eq!(big.next().await, closed);
    assert_eq!(big.next_message(true).await, None);

    // A message that never ends is refused as soon as it passes the limit.
    let mut endless = Client::connect(&format!("{url}/hub")).await;
    endless.send_text(&"y".repeat(1001)).await;
    assert_eq!(endless.next().await, closed);

    assert_eq!(
        bystander.invoke("2", "Echo", json!(["fine"])).await["result"],
        "fine"
    );
}

#[tokio::test]
async fn detailed_errors_explain_why_a_connection_closed() {
    let url = server(HubOptions {
        maximum_receive_message_size: Some(100),
        ..HubOptions::default()
    })
    .await;
    let mut c = Client::connect(&format!("{url}/detailed")).await;
    c.send_text(&format!("{}\u{1e}", " ".repeat(200))).await;
    assert_eq!(
        c.next().await["error"],
        "Connection closed with an error. InvalidDataException: The maximum message size of 100B was exceeded. The message size can be configured in AddHubOptions."
    );
}

#[tokio::test]
async fn an_idle_client_is_pinged_every_interval() {
    let url = server(HubOptions {
        keep_alive_interval: Duration::from_millis(100),
        ..HubOptions::default()
    })
    .await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    for _ in 0..3 {
        assert_eq!(c.next_message(true).await, Some(json!({"type": 6})));
    }
}

#[tokio::test]
async fn clients_are_timed_out_only_after_their_first_ping() {
    let options = HubOptions {
        client_timeout_interval: Duration::from_millis(300),
        ..HubOptions::default()
    };
    let url = server(options).await;
    let mut quiet = Client::connect(&format!("{url}/hub")).await;
    let mut pinged = Client::connect(&format!("{url}/hub")).await;
    pinged.send_text("{\"type\":6}\u{1e}").await;
    assert_eq!(pinged.next().await, timed_out());
    // The client that never pinged is still served after the other's timeout.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        quiet.invoke("1", "Echo", json!(["awake"])).await["result"],
        "awake"
    );
}

#[tokio::test]
async fn a_client_that_keeps_pinging_stays_connected_and_keeps_getting_pings() {
    let url = server(HubOptions {
        keep_alive_interval: Duration::from_millis(50),
        client_timeout_interval: Duration::from_millis(300),
        ..HubOptions::default()
    })
    .await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    // Three client timeouts long: the one timer fires for pings many times and each time
    // the deadline moves on, as the client's pings keep arriving.
    let mut server_pings = 0;
    for _ in 0..9 {
        c.send_text("{\"type\":6}\u{1e}").await;
        for message in c.messages_within(Duration::from_millis(100)).await {
            assert_eq!(message, json!({"type": 6}), "only pings while idle");
            server_pings += 1;
        }
    }
    assert!(server_pings >= 9, "pings every 50 ms: got {server_pings}");
    assert_eq!(
        c.invoke("1", "Echo", json!(["alive"])).await["result"],
        "alive"
    );
}

#[tokio::test]
async fn the_client_timeout_counts_from_the_last_message() {
    let url = server(HubOptions {
        client_timeout_interval: Duration::from_millis(300),
        ..HubOptions::default()
    })
    .await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    // The timer comes due while messages keep arriving: the deadline moves on each time.
    for _ in 0..8 {
        c.send_text("{\"type\":6}\u{1e}").await;
        assert_eq!(
            c.messages_within(Duration::from_millis(100)).await,
            Vec::<Value>::new()
        );
    }
    let stopped = tokio::time::Instant::now();
    assert_eq!(c.next().await, timed_out());
    let waited = stopped.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "timed out {waited:?} after the last ping"
    );
}

#[tokio::test]
async fn abort_and_failed_connect_send_close_without_reconnect() {
    let url = server(HubOptions::default()).await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    c.send_text("{\"type\":1,\"target\":\"Leave\",\"arguments\":[]}\u{1e}")
        .await;
    assert_eq!(c.next().await, json!({"type": 7}));
    assert_eq!(c.next_message(true).await, None);

    let mut rejected = Client::connect(&format!("{url}/rejecting")).await;
    assert_eq!(
        rejected.next().await,
        json!({"type": 7, "error": "Connection closed with an error. HubException: go away"})
    );
}

#[tokio::test]
async fn a_client_close_message_ends_the_connection() {
    let url = server(HubOptions::default()).await;
    let mut c = Client::connect(&format!("{url}/hub")).await;
    c.send_text("{\"type\":7}\u{1e}").await;
    assert_eq!(c.next_message(true).await, None);
}
