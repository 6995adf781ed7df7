#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! Hub filters through the whole stack: a server on loopback, a raw WebSocket client speaking
//! JSON, and filters that record what they see. Also what the built-in logging writes.

#[path = "support/captured.rs"]
mod captured;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use hubs::prelude::*;
use hubs::{
    HubFilter, HubFilters, HubInvocation, HubLifetimeContext, InvocationResult, Next, UploadStream,
};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use captured::Captured;

/// What filters and hub code did, in order.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Waits for `entry` (hooks run after the client has moved on).
    async fn wait_for(&self, entry: &str) {
        for _ in 0..500 {
            if self.0.lock().unwrap().iter().any(|e| e == entry) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{entry:?} never happened: {:?}", self.0.lock().unwrap());
    }
}

struct FilterHub {
    journal: Journal,
}

#[hub]
impl FilterHub {
    pub async fn echo(&self, text: String) -> String {
        self.journal.note("body Echo");
        text
    }
    pub async fn add(&self, a: i32, b: i32) -> i32 {
        self.journal.note("body Add");
        a + b
    }
    pub async fn guarded(&self) -> String {
        self.journal.note("body Guarded");
        "secret".into()
    }
    pub async fn fail_with(&self, _password: String) -> Result<(), HubError> {
        Err(HubError::new("wrong password"))
    }
    pub async fn count(&self, to: u32) -> impl Stream<Item = u32> + use<> {
        self.journal.note("body Count");
        futures_util::stream::iter(1..=to)
    }
    pub async fn sum(&self, numbers: UploadStream<i32>) -> i32 {
        self.journal.note("body Sum");
        numbers
            .filter_map(|n| async move { n.ok() })
            .fold(0, |a, b| async move { a + b })
            .await
    }
    pub async fn connection_id(&self, ctx: &Context) -> String {
        ctx.connection_id().to_owned()
    }
    async fn on_connected(&self) {
        self.journal.note("hook connected");
    }
    async fn on_disconnected(&self) {
        self.journal.note("hook disconnected");
    }
}

/// Notes when it enters and leaves each stage, under its name.
struct Recorder {
    name: &'static str,
    journal: Journal,
}

impl HubFilter for Recorder {
    async fn invoke(
        &self,
        invocation: &HubInvocation,
        next: Next<'_, Result<InvocationResult, HubError>>,
    ) -> Result<InvocationResult, HubError> {
        let name = self.name;
        self.journal
            .note(format!("{name} > {}", invocation.method()));
        let outcome = next.run().await;
        self.journal
            .note(format!("{name} < {}", invocation.method()));
        outcome
    }

    async fn on_connected(
        &self,
        lifetime: &HubLifetimeContext,
        next: Next<'_, Result<(), HubError>>,
    ) -> Result<(), HubError> {
        assert!(lifetime.hub::<FilterHub>().is_some());
        self.journal.note(format!("{} > connected", self.name));
        let outcome = next.run().await;
        self.journal.note(format!("{} < connected", self.name));
        outcome
    }

    async fn on_disconnected(
        &self,
        _lifetime: &HubLifetimeContext,
        error: Option<&HubError>,
        next: Next<'_, ()>,
    ) {
        let name = self.name;
        self.journal.note(format!(
            "{name} > disconnected (error: {})",
            error.is_some()
        ));
        next.run().await;
        self.journal.note(format!("{name} < disconnected"));
    }
}

/// Refuses `Guarded` and doubles `Add`'s result.
struct Gate;

impl HubFilter for Gate {
    async fn invoke(
        &self,
        invocation: &HubInvocation,
        next: Next<'_, Result<InvocationResult, HubError>>,
    ) -> Result<InvocationResult, HubError> {
        match invocation.method() {
            "Guarded" => Err(HubError::new("blocked by a filter")),
            "Add" => {
                let first: i32 = invocation
                    .argument(0)
                    .map_err(|e| HubError::new(e.message))?;
                let sum: i32 = next.run().await?.decode()?;
                invocation.result(&format!("{first} + ... = {}", sum * 2))
            }
            _ => next.run().await,
        }
    }
}

/// Lets nobody connect.
struct Doorman;

impl HubFilter for Doorman {
    async fn on_connected(
        &self,
        _lifetime: &HubLifetimeContext,
        _next: Next<'_, Result<(), HubError>>,
    ) -> Result<(), HubError> {
        Err(HubError::new("closed for the night"))
    }
}

/// The hub at `/hub` with a per-hub recorder added before two shared ones (which still run
/// first), and `/gated` with the gate; `/closed` refuses every connection.
async fn server(journal: &Journal) -> String {
    captured_logs();
    let recorder = |name| Recorder {
        name,
        journal: journal.clone(),
    };
    let hub = || FilterHub {
        journal: journal.clone(),
    };
    let shared = HubFilters::new()
        .with(recorder("global 1"))
        .with(recorder("global 2"));
    let recorded = HubEndpoint::builder(hub())
        .filter(recorder("hub"))
        .filters(shared)
        .build();
    let gated = HubEndpoint::builder(hub()).filter(Gate).build();
    let closed = HubEndpoint::builder(hub()).filter(Doorman).build();
    let app = axum::Router::new()
        .hub("/hub", recorded)
        .hub("/gated", gated)
        .hub("/closed", closed)
        .hub("/plain", hub());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("ws://{address}")
}

struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: Vec<Value>,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let (socket, _) = connect_async(url).await.expect("websocket connects");
        let mut client = Client {
            socket,
            pending: Vec::new(),
        };
        client.send(json!({"protocol": "json", "version": 1})).await;
        assert_eq!(client.next().await, Some(json!({})));
        client
    }

    async fn send(&mut self, message: Value) {
        let text = format!("{message}\u{1e}");
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The next message other than a ping; `None` once the socket closes.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if !self.pending.is_empty() {
                let message = self.pending.remove(0);
                if message["type"] != 6 {
                    return Some(message);
                }
                continue;
            }
            let frame = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a message within 5 s");
            let Some(Ok(Message::Text(text))) = frame else {
                return None;
            };
            for part in text.split_terminator('\u{1e}') {
                self.pending.push(serde_json::from_str(part).unwrap());
            }
        }
    }

    async fn invoke(&mut self, id: &str, target: &str, arguments: Value) -> Value {
        let message =
            json!({"type": 1, "invocationId": id, "target": target, "arguments": arguments});
        self.send(message).await;
        self.next().await.expect("a completion")
    }

    async fn close(mut self) {
        self.socket.close(None).await.unwrap();
    }
}

#[tokio::test]
async fn filters_run_global_first_then_per_hub_around_the_body() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let mut client = Client::connect(&format!("{url}/hub")).await;
    journal.take();

    let completion = client.invoke("1", "echo", json!(["hi"])).await;
    assert_eq!(completion["result"], "hi");
    assert_eq!(
        journal.take(),
        [
            "global 1 > Echo",
            "global 2 > Echo",
            "hub > Echo",
            "body Echo",
            "hub < Echo",
            "global 2 < Echo",
            "global 1 < Echo",
        ],
        "the wire name as declared, whatever the client's spelling"
    );

    // A streaming call is wrapped whole: the filters leave once the stream has ended.
    client
        .send(json!({"type": 4, "invocationId": "2", "target": "Count", "arguments": [2]}))
        .await;
    let mut items = Vec::new();
    loop {
        let message = client.next().await.expect("stream messages");
        if message["type"] == 3 {
            assert_eq!(message, json!({"type": 3, "invocationId": "2"}));
            break;
        }
        items.push(message["item"].clone());
    }
    assert_eq!(items, [json!(1), json!(2)]);
    let around = |method: &str| {
        let body = format!("body {method}");
        let names = ["global 1", "global 2", "hub"];
        let enter = names.iter().map(|n| format!("{n} > {method}"));
        let leave = names.iter().rev().map(|n| format!("{n} < {method}"));
        enter.chain([body]).chain(leave).collect::<Vec<_>>()
    };
    assert_eq!(journal.take(), around("Count"));

    // So is a call with an upload stream: the filters leave once the upload is consumed.
    let upload = json!({"type": 1, "invocationId": "3", "target": "Sum", "arguments": [], "streamIds": ["u"]});
    client.send(upload).await;
    for n in [4, 5] {
        client
            .send(json!({"type": 2, "invocationId": "u", "item": n}))
            .await;
    }
    client.send(json!({"type": 3, "invocationId": "u"})).await;
    assert_eq!(client.next().await.unwrap()["result"], 9);
    assert_eq!(journal.take(), around("Sum"));
}

#[tokio::test]
async fn filters_wrap_the_connected_and_disconnected_hooks() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let client = Client::connect(&format!("{url}/hub")).await;
    assert_eq!(
        journal.take(),
        [
            "global 1 > connected",
            "global 2 > connected",
            "hub > connected",
            "hook connected",
            "hub < connected",
            "global 2 < connected",
            "global 1 < connected",
        ]
    );
    client.close().await;
    journal.wait_for("global 1 < disconnected").await;
    assert_eq!(
        journal.take(),
        [
            "global 1 > disconnected (error: false)",
            "global 2 > disconnected (error: false)",
            "hub > disconnected (error: false)",
            "hook disconnected",
            "hub < disconnected",
            "global 2 < disconnected",
            "global 1 < disconnected",
        ]
    );
}

#[tokio::test]
async fn a_connect_filter_can_refuse_the_connection() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let mut client = Client::connect(&format!("{url}/closed")).await;
    assert_eq!(
        client.next().await,
        Some(json!({
            "type": 7,
            "error": "Connection closed with an error. HubException: closed for the night",
        })),
        "a Close without allowReconnect: the client must not retry"
    );
    journal.wait_for("hook disconnected").await;
    assert_eq!(
        journal.take(),
        ["hook disconnected"],
        "the connected hook never ran"
    );
}

#[tokio::test]
async fn a_filter_short_circuits_with_an_error_and_the_body_never_runs() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let mut client = Client::connect(&format!("{url}/gated")).await;
    journal.take();
    let completion = client.invoke("1", "Guarded", json!([])).await;
    assert_eq!(
        completion,
        json!({
            "type": 3,
            "invocationId": "1",
            "error": "An unexpected error occurred invoking 'Guarded' on the server. HubException: blocked by a filter",
        })
    );
    // The next call is answered, so the refused one had its chance to run.
    assert_eq!(
        client.invoke("2", "Echo", json!(["x"])).await["result"],
        "x"
    );
    assert_eq!(journal.take(), ["body Echo"], "Guarded's body never ran");

    // Without the filter the same method runs.
    let mut plain = Client::connect(&format!("{url}/plain")).await;
    let completion = plain.invoke("1", "Guarded", json!([])).await;
    assert_eq!(completion["result"], "secret");
}

#[tokio::test]
async fn a_filter_reads_the_arguments_and_replaces_the_result() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let mut client = Client::connect(&format!("{url}/gated")).await;
    let completion = client.invoke("1", "Add", json!([2, 3])).await;
    assert_eq!(completion["result"], "2 + ... = 10");
    // Arguments that do not bind are refused before any filter runs.
    let completion = client.invoke("2", "Add", json!(["two", 3])).await;
    assert_eq!(
        completion["error"],
        "Failed to invoke 'Add' due to an error on the server."
    );
}

/// Everything logged at TRACE by every test of this file. Installed as the global subscriber
/// before any test logs anything: a subscriber set for one thread while other tests register
/// their log sites may miss events.
fn captured_logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        captured
    })
}

#[tokio::test]
async fn failures_are_logged_with_hub_method_and_connection_but_never_arguments() {
    let journal = Journal::default();
    let url = server(&journal).await;
    let mut client = Client::connect(&format!("{url}/plain")).await;
    let connection_id = client.invoke("0", "ConnectionId", json!([])).await["result"]
        .as_str()
        .unwrap()
        .to_owned();
    const SECRET: &str = "hunter2-Zq9";
    let completion = client.invoke("1", "FailWith", json!([SECRET])).await;
    assert_eq!(
        completion["error"],
        "An unexpected error occurred invoking 'FailWith' on the server. HubException: wrong password"
    );
    // A binding failure, whose deserializer message would quote the argument.
    client.invoke("2", "Add", json!([SECRET, 1])).await;
    client.invoke("3", "NoSuchMethod", json!([SECRET])).await;
    // Fire and forget: no completion, but logged all the same.
    client
        .send(json!({"type": 1, "target": "FailWith", "arguments": [SECRET]}))
        .await;
    client.invoke("4", "Echo", json!(["done"])).await;
    client.close().await;
    journal.wait_for("hook disconnected").await;

    let log = captured_logs().text();
    // This test's connection only: the other tests log into the same buffer.
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(&connection_id))
        .collect();
    let failures: Vec<&&str> = lines
        .iter()
        .filter(|line| line.contains("hub method failed"))
        .collect();
    assert_eq!(failures.len(), 2, "both FailWith calls: {log}");
    for line in failures {
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains("FilterHub"), "{line}");
        assert!(line.contains("method=FailWith"), "{line}");
    }
    let binding = lines
        .iter()
        .find(|line| line.contains("argument binding failed"))
        .unwrap_or_else(|| panic!("binding failure logged: {log}"));
    assert!(
        binding.contains("DEBUG") && binding.contains("argument=0"),
        "{binding}"
    );
    let unknown = lines
        .iter()
        .find(|line| line.contains("invocation refused") && line.contains("NoSuchMethod"))
        .unwrap_or_else(|| panic!("unknown method logged: {log}"));
    assert!(unknown.contains("DEBUG"), "{unknown}");
    assert!(!log.contains(SECRET), "an argument reached the log:\n{log}");
}
