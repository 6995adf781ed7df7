//! The opening handshake (RFC 6455 §4.2) over hyper's HTTP/1.1 upgrade, with the checks and
//! refusals axum's `WebSocketUpgrade` has, so clients see the same answers.

use std::future::Future;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hyper::upgrade::OnUpgrade;
use sha1::{Digest, Sha1};

use super::io::Socket;

/// A request that asked for a WebSocket, checked, waiting for its 101 response.
pub(crate) struct Handshake {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl Handshake {
    /// Checks the upgrade request in `parts`; why it cannot be upgraded otherwise.
    pub(crate) fn from_parts(parts: &mut Parts) -> Result<Handshake, Refusal> {
        let refuse = |status, text| Refusal {
            status,
            text,
            name_version: false,
        };
        if parts.version > Version::HTTP_11 {
            return Err(refuse(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "WebSockets need HTTP/1.1",
            ));
        }
        if parts.method != Method::GET {
            return Err(refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request method must be `GET`",
            ));
        }
        if !header_contains(&parts.headers, header::CONNECTION, "upgrade") {
            let text = "Connection header did not include 'upgrade'";
            return Err(refuse(StatusCode::BAD_REQUEST, text));
        }
        if !header_is(&parts.headers, header::UPGRADE, "websocket") {
            let text = "`Upgrade` header did not include 'websocket'";
            return Err(refuse(StatusCode::BAD_REQUEST, text));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Key` header missing",
            ));
        };
        let accept = accept_key(key.as_bytes());
        if !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            let text = "`Sec-WebSocket-Version` header did not include '13'";
            return Err(Refusal {
                name_version: true,
                ..refuse(StatusCode::BAD_REQUEST, text)
            });
        }
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            let text = "WebSocket request couldn't be upgraded since no upgrade state was present";
            return Err(refuse(StatusCode::UPGRADE_REQUIRED, text));
        };
        Ok(Handshake { accept, on_upgrade })
    }

    /// The 101 response; once hyper has sent it, `run` gets the socket and its future runs,
    /// in a task of its own, for the life of the WebSocket. `failed` runs instead when the
    /// upgrade does not happen.
    pub(crate) fn accept<F>(
        self,
        run: impl FnOnce(Socket) -> F + Send + 'static,
        failed: impl FnOnce() + Send + 'static,
    ) -> Response
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                // A task of its own rather than awaited here: this task also holds `run`
                // and the upgrade, and a connection's task keeps its size for its whole life.
                Ok(upgraded) => drop(tokio::spawn(run(Socket::new(upgraded)))),
                Err(error) => {
                    tracing::debug!(%error, "a WebSocket upgrade failed");
                    failed();
                }
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept);
        response
    }
}

/// Why a request cannot become a WebSocket: axum's status codes and texts.
pub(crate) struct Refusal {
    status: StatusCode,
    text: &'static str,
    /// §4.4: a refused version is answered with the one the server speaks.
    name_version: bool,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.text).into_response();
        if self.name_version {
            let version = HeaderValue::from_static("13");
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_VERSION, version);
        }
        response
    }
}

/// `Sec-WebSocket-Accept` for a client's key (§4.2.2).
fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::default();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

fn header_is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_contains(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
