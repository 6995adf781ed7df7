#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! How a call finds its method and comes back: method names match without regard to case,
//! however long (short names are compared on the stack, long ones are not), and the
//! Completion carries the invocation id as the client wrote it, short (kept inline), long or
//! with JSON escapes.

#[path = "support/json_socket.rs"]
mod json_socket;

use futures_util::{SinkExt, StreamExt};
use hubs::prelude::*;
use tokio_tungstenite::tungstenite::Message;

use json_socket::{Socket, serve_and_connect};

struct Names;

#[hub]
impl Names {
    pub async fn echo(&self, text: String) -> String {
        text
    }

    /// A wire name of 70 characters: longer than lookup lowercases on the stack.
    pub async fn a_method_whose_wire_name_is_much_longer_than_sixty_four_characters_to_test_the_lookup(
        &self,
    ) -> u32 {
        7
    }
}

/// Calls `target` with `arguments` under the JSON-encoded `id` and returns the answer's text.
async fn call(socket: &mut Socket, id: &str, target: &str, arguments: &str) -> String {
    let message = format!(
        "{{\"type\":1,\"invocationId\":{id},\"target\":\"{target}\",\"arguments\":{arguments}}}\u{1e}"
    );
    socket.send(Message::text(message)).await.unwrap();
    socket
        .next()
        .await
        .unwrap()
        .unwrap()
        .into_text()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn methods_match_in_any_case_and_answers_carry_the_id_as_sent() {
    let mut socket = serve_and_connect(axum::Router::new().hub("/hub", Names)).await;

    for target in ["Echo", "echo", "ECHO"] {
        let answer = call(&mut socket, "\"1\"", target, "[\"x\"]").await;
        assert_eq!(
            answer, "{\"type\":3,\"invocationId\":\"1\",\"result\":\"x\"}\u{1e}",
            "{target}"
        );
    }

    let long = "AMethodWhoseWireNameIsMuchLongerThanSixtyFourCharactersToTestTheLookup";
    assert!(long.len() > 64);
    for target in [long.to_owned(), long.to_lowercase(), long.to_uppercase()] {
        let answer = call(&mut socket, "\"2\"", &target, "[]").await;
        assert_eq!(
            answer, "{\"type\":3,\"invocationId\":\"2\",\"result\":7}\u{1e}",
            "{target}"
        );
    }

    // A long id (not kept inline) and one with escapes (read into a copy) come back intact.
    let long_id = "an-invocation-id-longer-than-fourteen-bytes";
    let answer = call(&mut socket, &format!("\"{long_id}\""), "Echo", "[\"y\"]").await;
    assert_eq!(
        answer,
        format!("{{\"type\":3,\"invocationId\":\"{long_id}\",\"result\":\"y\"}}\u{1e}")
    );
    let answer = call(&mut socket, "\"q\\\"\\u0041\"", "Echo", "[\"z\"]").await;
    assert_eq!(
        answer,
        "{\"type\":3,\"invocationId\":\"q\\\"A\",\"result\":\"z\"}\u{1e}"
    );
}
