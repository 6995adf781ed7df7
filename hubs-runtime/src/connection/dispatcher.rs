//! Negotiate and the routing of transport requests, with ASP.NET Core's status codes and texts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{
    ConnectionHandler, ConnectionOptions, RequestInfo, Transport, new_connection_id, websocket,
};

/// Accepts negotiate and transport requests for one endpoint and hands each new connection to
/// its [`ConnectionHandler`].
pub struct ConnectionDispatcher {
    handler: Arc<dyn ConnectionHandler>,
    options: ConnectionOptions,
    registry: Mutex<Registry>,
}

/// Negotiated connections by token, from negotiate until their transport ends.
struct Registry {
    by_token: HashMap<Box<str>, Registered>,
    next_sweep: Instant,
}

struct Registered {
    connection_id: Arc<str>,
    state: State,
}

enum State {
    /// Negotiated; the transport has not arrived yet.
    Waiting { negotiated_at: Instant },
    /// A transport is attached.
    Active(Transport),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NegotiateResponse<'a> {
    negotiate_version: u32,
    connection_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_token: Option<&'a str>,
    available_transports: Vec<AvailableTransport>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailableTransport {
    transport: &'static str,
    transfer_formats: &'static [&'static str],
}

/// A transport request that names no usable connection.
enum UnknownConnection {
    /// No `id` in the query.
    Missing,
    /// No connection has that token.
    Unknown,
}

impl IntoResponse for UnknownConnection {
    fn into_response(self) -> Response {
        match self {
            UnknownConnection::Missing => text(StatusCode::BAD_REQUEST, "Connection ID required"),
            UnknownConnection::Unknown => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn json_response(body: &impl Serialize) -> Response {
    let body = serde_json::to_vec(body).expect("negotiate responses serialize");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn not_supported(transport: &str) -> Response {
    let body = format!("{transport} transport not supported by this end point type");
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        body,
    )
        .into_response()
}

/// The requested negotiate version: missing means 0, the key ignores case, above 1 means 1.
fn negotiate_version(info: &RequestInfo) -> Result<u32, String> {
    let Some((_, raw)) = info
        .query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("negotiateVersion"))
    else {
        return Ok(0);
    };
    let requested: i64 = raw
        .parse()
        .map_err(|_| "The client requested a non-integer protocol version.".to_string())?;
    if requested < 0 {
        return Err(format!(
            "The client requested version '{requested}', but the server does not support this version."
        ));
    }
    Ok(requested.min(1) as u32)
}

impl ConnectionDispatcher {
    /// A dispatcher handing connections to `handler`.
    pub fn new(handler: Arc<dyn ConnectionHandler>, options: ConnectionOptions) -> Self {
        Self {
            handler,
            options,
            registry: Mutex::new(Registry {
                by_token: HashMap::new(),
                next_sweep: Instant::now(),
            }),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `{path}/negotiate`: creates a connection and says how to reach it.
    pub fn negotiate(&self, method: &Method, query: Option<&str>) -> Response {
        if method != Method::POST {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        let info = RequestInfo::new(Default::default(), query);
        let version = match negotiate_version(&info) {
            Ok(v) => v,
            Err(error) => return json_response(&serde_json::json!({ "error": error })),
        };
        let connection_id: Arc<str> = new_connection_id().into();
        // Version 1 separates the public id from a secret token; version 0 uses the id.
        let token = if version >= 1 {
            new_connection_id()
        } else {
            connection_id.to_string()
        };
        let response = NegotiateResponse {
            negotiate_version: version,
            connection_id: &connection_id,
            connection_token: (version >= 1).then_some(token.as_str()),
            available_transports: self
                .options
                .transports
                .iter()
                .map(|t| AvailableTransport {
                    transport: t.name(),
                    transfer_formats: t.transfer_formats(),
                })
                .collect(),
        };
        let response = json_response(&response);
        let now = Instant::now();
        let mut registry = self.registry();
        if now >= registry.next_sweep {
            // Forget connections whose transport never came, at most once a second.
            let timeout = self.options.disconnect_timeout;
            registry.by_token.retain(|_, r| match r.state {
                State::Waiting { negotiated_at } => now.duration_since(negotiated_at) < timeout,
                State::Active(_) => true,
            });
            registry.next_sweep = now + std::time::Duration::from_secs(1);
        }
        registry.by_token.insert(
            token.into(),
            Registered {
                connection_id,
                state: State::Waiting { negotiated_at: now },
            },
        );
        response
    }

    /// Requests on `{path}` itself: the transports.
    pub async fn connect(self: Arc<Self>, request: Request<Body>) -> Response {
        let (mut parts, _body) = request.into_parts();
        let is_upgrade = parts
            .headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let info = RequestInfo::new(parts.headers.clone(), parts.uri.query());

        let token = info.query_value("id").map(Box::<str>::from);
        let wanted = match parts.method {
            Method::GET if is_upgrade => Transport::WebSockets,
            Method::GET => {
                let accepts_sse = parts
                    .headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/event-stream"));
                let name = if accepts_sse {
                    "ServerSentEvents"
                } else {
                    "LongPolling"
                };
                return match self.lookup(token.as_deref()) {
                    Err(unknown) => unknown.into_response(),
                    Ok(_) => not_supported(name),
                };
            }
            Method::POST | Method::DELETE => {
                return match self.lookup(token.as_deref()) {
                    Err(unknown) => unknown.into_response(),
                    Ok(Some(Transport::WebSockets)) if parts.method == Method::POST => text(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "POST requests are not allowed for WebSocket connections.",
                    ),
                    Ok(Some(_)) => text(
                        StatusCode::BAD_REQUEST,
                        "Cannot terminate this connection using the DELETE endpoint.",
                    ),
                    Ok(None) => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
                };
            }
            _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        };

        let connection_id = match &token {
            // skipNegotiation: the socket itself creates the connection.
            None => Arc::from(new_connection_id()),
            Some(token) => {
                let mut registry = self.registry();
                let Some(registered) = registry.by_token.get_mut(token) else {
                    return text(StatusCode::NOT_FOUND, "No Connection with that ID");
                };
                if let State::Active(_) = registered.state {
                    // One transport at a time per connection.
                    return StatusCode::CONFLICT.into_response();
                }
                if !self.options.transports.contains(&wanted) {
                    return not_supported(wanted.name());
                }
                registered.state = State::Active(wanted);
                Arc::clone(&registered.connection_id)
            }
        };
        if !self.options.transports.contains(&wanted) {
            return not_supported(wanted.name());
        }
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => {
                self.forget(token.as_deref());
                return rejection.into_response();
            }
        };
        let options = &self.options;
        let upgrade = upgrade
            .read_buffer_size(options.websocket_read_buffer_size)
            .write_buffer_size(options.websocket_write_buffer_size)
            .max_message_size(options.websocket_max_message_size);
        let dispatcher = Arc::clone(&self);
        let failed = (Arc::clone(&self), token.clone());
        let upgrade = upgrade.on_failed_upgrade(move |_| failed.0.forget(failed.1.as_deref()));
        upgrade.on_upgrade(move |socket| async move {
            websocket::run(
                socket,
                Arc::clone(&dispatcher.handler),
                dispatcher.options.send_queue_capacity,
                dispatcher.options.close_timeout,
                connection_id,
                Arc::new(info),
            )
            .await;
            dispatcher.forget(token.as_deref());
        })
    }

    /// Removes a connection whose transport ended; its token is no longer accepted.
    fn forget(&self, token: Option<&str>) {
        if let Some(token) = token {
            self.registry().by_token.remove(token);
        }
    }

    /// The transport of the connection `token` names: `Ok(None)` while it has none yet.
    fn lookup(&self, token: Option<&str>) -> Result<Option<Transport>, UnknownConnection> {
        let token = token.ok_or(UnknownConnection::Missing)?;
        match self.registry().by_token.get(token) {
            None => Err(UnknownConnection::Unknown),
            Some(Registered {
                state: State::Active(transport),
                ..
            }) => Ok(Some(*transport)),
            Some(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(query: &str) -> Result<u32, String> {
        negotiate_version(&RequestInfo::new(Default::default(), Some(query)))
    }

    #[test]
    fn negotiate_versions_follow_aspnet() {
        assert_eq!(version(""), Ok(0));
        assert_eq!(version("negotiateVersion=1"), Ok(1));
        assert_eq!(version("NEGOTIATEVERSION=1"), Ok(1));
        assert_eq!(version("negotiateVersion=7"), Ok(1));
        assert_eq!(
            version("negotiateVersion=abc"),
            Err("The client requested a non-integer protocol version.".into())
        );
        assert_eq!(
            version("negotiateVersion=-1"),
            Err(
                "The client requested version '-1', but the server does not support this version."
                    .into()
            )
        );
    }
}
