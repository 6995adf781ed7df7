//! Everything a remote peer reaches over plain HTTP, in process: sequences of requests to an
//! axum `Router` with `.hub(...)` (see `hubs_fuzz::hub`), sent with `tower::ServiceExt::oneshot`
//! on a current-thread runtime whose clock is paused, so long polls, handshake timeouts and
//! keep-alives cost no real time. Negotiate with arbitrary queries, then POST (SSE and
//! Long Polling bodies, which feed the whole hub read loop: handshake, both protocols,
//! dispatch), GET (polls, event streams, WebSocket requests without an upgrade), DELETE and
//! arbitrary methods, paths and headers, with the returned token, the public id, or garbage.
//!
//! Input layout (`hubs_fuzz::script`): an operation byte (mod 10), then its fields; `path` and
//! `id` are one byte each (see `path` and `connection_query`).
#![no_main]

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, header};
use http_body_util::BodyExt;
use hubs_fuzz::{documents, hub, script::Script};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// Virtual time one request may take; a poll with nothing to say is abandoned after it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Operations per input, so one input cannot run for long.
const MAX_OPERATIONS: usize = 48;
/// Event streams kept open at once.
const MAX_EVENT_STREAMS: usize = 4;

const HUB_PATHS: [&str; 2] = ["/hub", "/small"];
const ANY_PATHS: [&str; 7] = [
    "/hub",
    "/hub/negotiate",
    "/small",
    "/small/negotiate",
    "/hub/",
    "/hub/negotiate/x",
    "/elsewhere",
];
const METHODS: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::OPTIONS,
    Method::PATCH,
    Method::HEAD,
    Method::CONNECT,
];

/// What one input has built up: the connections negotiated and the event streams open.
struct Session {
    router: Router,
    /// What clients put in `id=`: the token (v1) or the id (v0).
    tokens: Vec<String>,
    /// Public connection ids, which must not work as tokens in v1.
    ids: Vec<String>,
    events: Vec<Body>,
}

fuzz_target!(|data: &[u8]| {
    hubs_fuzz::run_paused(run(Script::new(data)));
});

async fn run(mut script: Script<'_>) {
    let mut session = Session {
        router: hub::router(),
        tokens: Vec::new(),
        ids: Vec::new(),
        events: Vec::new(),
    };
    for _ in 0..MAX_OPERATIONS {
        if script.is_done() {
            break;
        }
        match script.byte() % 10 {
            0 => session.negotiate(&mut script).await,
            1 => {
                let uri = session.transport_uri(&mut script);
                let body = script.message();
                session.send(Method::POST, uri, &[], body).await;
            }
            2 => {
                let uri = session.transport_uri(&mut script);
                session.send(Method::GET, uri, &[], Vec::new()).await;
            }
            3 => session.open_events(&mut script).await,
            4 => session.read_events(script.byte()).await,
            5 => {
                let index = usize::from(script.byte());
                if !session.events.is_empty() {
                    // The client going away: the connection is aborted.
                    drop(session.events.remove(index % session.events.len()));
                }
            }
            6 => {
                let uri = session.transport_uri(&mut script);
                session.send(Method::DELETE, uri, &[], Vec::new()).await;
            }
            7 => session.raw_request(&mut script).await,
            8 => tokio::time::sleep(Duration::from_secs(u64::from(script.byte() % 40))).await,
            _ => {
                let uri = session.transport_uri(&mut script);
                let upgrade = [
                    (header::UPGRADE, "websocket"),
                    (header::CONNECTION, "Upgrade"),
                    (header::SEC_WEBSOCKET_VERSION, "13"),
                    (header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ=="),
                ];
                session.send(Method::GET, uri, &upgrade, Vec::new()).await;
            }
        }
    }
}

impl Session {
    /// `POST {path}/negotiate?{query}`; remembers the connection it creates.
    async fn negotiate(&mut self, script: &mut Script<'_>) {
        let path = HUB_PATHS[usize::from(script.byte()) % HUB_PATHS.len()];
        let query = match script.byte() {
            selector @ 0..0xc0 => {
                let queries = documents::NEGOTIATE_QUERIES;
                queries[usize::from(selector) % queries.len()].as_bytes()
            }
            _ => script.bytes(),
        };
        let uri = format!("{path}/negotiate?{}", query_text(query));
        let Some(body) = self.send(Method::POST, uri, &[], Vec::new()).await else {
            return;
        };
        let reply: serde_json::Value = serde_json::from_slice(&body).expect("negotiate JSON");
        if reply.get("error").is_some() {
            return;
        }
        let id = reply["connectionId"].as_str().expect("an id").to_string();
        let token = reply["connectionToken"].as_str().unwrap_or(&id).to_string();
        self.ids.push(id);
        self.tokens.push(token);
    }

    /// `{path}?id=...` for a transport request: a hub path byte and an id byte.
    fn transport_uri(&self, script: &mut Script<'_>) -> String {
        let path = HUB_PATHS[usize::from(script.byte()) % HUB_PATHS.len()];
        format!("{path}{}", self.connection_query(script))
    }

    /// The query naming a connection: the latest token (0), the latest public id (1), an
    /// earlier token (2, then an index byte), none (3), empty (4), or any bytes (5, then a
    /// byte string).
    fn connection_query(&self, script: &mut Script<'_>) -> String {
        let id = match script.byte() % 6 {
            0 => self.tokens.last().cloned(),
            1 => self.ids.last().cloned(),
            2 => {
                let index = usize::from(script.byte());
                self.tokens.get(index % self.tokens.len().max(1)).cloned()
            }
            3 => return String::new(),
            4 => Some(String::new()),
            _ => Some(percent_encoded(script.bytes())),
        };
        format!("?id={}", id.unwrap_or_default())
    }

    /// `GET {path}?id=` with `Accept: text/event-stream`; a stream that opens is kept open.
    async fn open_events(&mut self, script: &mut Script<'_>) {
        let uri = self.transport_uri(script);
        let Some(request) = request(Method::GET, &uri, &[(header::ACCEPT, "text/event-stream")])
        else {
            return;
        };
        let Some(response) = self
            .respond(request.body(Body::empty()).expect("a request"))
            .await
        else {
            return;
        };
        if response.headers().get(header::CONTENT_TYPE)
            == Some(&HeaderValue::from_static("text/event-stream"))
        {
            if self.events.len() == MAX_EVENT_STREAMS {
                drop(self.events.remove(0));
            }
            self.events.push(response.into_body());
        }
    }

    /// Reads what an open event stream has sent: each event is `data:` lines and a blank line.
    async fn read_events(&mut self, index: u8) {
        if self.events.is_empty() {
            return;
        }
        let index = usize::from(index) % self.events.len();
        let body = &mut self.events[index];
        for _ in 0..4 {
            let frame = match tokio::time::timeout(REQUEST_TIMEOUT, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                // Ended: hyper polls a finished body no more, and neither may we.
                Ok(_) => {
                    drop(self.events.remove(index));
                    return;
                }
                Err(_) => return,
            };
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            if &chunk[..] != b":\r\n" {
                assert!(
                    chunk.starts_with(b"data: ") && chunk.ends_with(b"\r\n\r\n"),
                    "not an SSE event: {chunk:?}"
                );
            }
        }
    }

    /// Any method on any path with any query, headers (`name: value` lines) and body.
    async fn raw_request(&mut self, script: &mut Script<'_>) {
        let method = METHODS[usize::from(script.byte()) % METHODS.len()].clone();
        let path = ANY_PATHS[usize::from(script.byte()) % ANY_PATHS.len()];
        let uri = format!("{path}?{}", query_text(script.bytes()));
        let headers: Vec<(HeaderName, HeaderValue)> = script
            .bytes()
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                let name = HeaderName::from_bytes(&line[..colon]).ok()?;
                let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
                Some((name, value))
            })
            .collect();
        let body = script.message();
        let Some(mut builder) = request(method, &uri, &[]) else {
            return;
        };
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        if let Ok(request) = builder.body(Body::from(body)) {
            self.respond(request).await;
        }
    }

    /// Sends a request and reads its whole body (within the timeout).
    async fn send(
        &mut self,
        method: Method,
        uri: String,
        headers: &[(HeaderName, &'static str)],
        body: Vec<u8>,
    ) -> Option<Bytes> {
        let request = request(method, &uri, headers)?
            .body(Body::from(body))
            .ok()?;
        let response = self.respond(request).await?;
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect());
        Some(body.await.ok()?.ok()?.to_bytes())
    }

    /// The response, unless it takes longer than the timeout (the client gives up).
    async fn respond(&mut self, request: Request<Body>) -> Option<Response<Body>> {
        let call = self.router.clone().oneshot(request);
        let response = tokio::time::timeout(REQUEST_TIMEOUT, call).await.ok()?;
        let response = response.expect("the router is infallible");
        assert!(
            !response.status().is_server_error(),
            "answered {}",
            response.status()
        );
        Some(response)
    }
}

fn request(
    method: Method,
    uri: &str,
    headers: &[(HeaderName, &'static str)],
) -> Option<axum::http::request::Builder> {
    let uri: axum::http::Uri = uri.parse().ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    Some(builder)
}

/// Query bytes as sent when they form a valid query, percent-encoded otherwise.
fn query_text(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) if format!("/?{text}").parse::<axum::http::Uri>().is_ok() => text.to_string(),
        _ => percent_encoded(raw),
    }
}

fn percent_encoded(raw: &[u8]) -> String {
    raw.iter().map(|b| format!("%{b:02X}")).collect()
}
