//! `{path}/negotiate`: a new connection, its id and token, and the transports offered.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::ConnectionUser;
use crate::connection::body::read_body;
use crate::connection::{RequestInfo, Transport, new_connection_id};

use super::{ConnectionDispatcher, Registered, State, json_response, shutting_down};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NegotiateResponse<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    use_stateful_reconnect: bool,
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
    /// `{path}/negotiate`: creates a connection and says how to reach it.
    pub async fn negotiate(&self, request: Request<Body>) -> Response {
        let (mut parts, body) = request.into_parts();
        if parts.method != Method::POST {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        if self.stopping() {
            return shutting_down();
        }
        let user = match self.admit(&mut parts).await {
            Ok(principal) => principal.map(ConnectionUser::new),
            Err(refusal) => return refusal,
        };
        let query = parts.uri.query();
        // Clients send no body, or an empty one; a large one is refused without reading it
        // all (hyper then closes the connection rather than drain the rest).
        if let Err(error) = read_body(body, self.options.transport_max_message_size).await {
            return error.into_response();
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
        // Offered only when the endpoint allows it and the client asked.
        let stateful = self.options.allow_stateful_reconnects
            && info
                .query
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("useStatefulReconnect") && v == "true");
        let response = NegotiateResponse {
            use_stateful_reconnect: stateful,
            negotiate_version: version,
            connection_id: &connection_id,
            connection_token: (version >= 1).then_some(token.as_str()),
            available_transports: Transport::ALL
                .iter()
                .filter(|t| self.options.transports.contains(t))
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
            registry.by_token.retain(|_, r| match &r.state {
                State::Waiting { negotiated_at, .. } => {
                    now.duration_since(*negotiated_at) < timeout
                }
                _ => true,
            });
            registry.next_sweep = now + std::time::Duration::from_secs(1);
        }
        registry.by_token.insert(
            token.into(),
            Registered {
                connection_id,
                user,
                stateful,
                state: State::Waiting {
                    negotiated_at: now,
                    early_input: Vec::new(),
                },
            },
        );
        response
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
