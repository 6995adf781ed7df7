//! The handshake every connection starts with: a JSON request naming the protocol, ended by the
//! record separator, whatever protocol is chosen.

use bytes::Bytes;
use serde::Deserialize;

use super::{Protocol, RECORD_SEPARATOR, TransferFormat};

/// The bytes of a successful handshake response.
pub const HANDSHAKE_OK: &[u8] = b"{}\x1e";

/// What a client asked for in its handshake.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HandshakeRequest {
    /// The protocol name (`json`, `messagepack`).
    pub protocol: String,
    /// The protocol version (1, or 2 with stateful reconnect).
    pub version: u32,
}

/// Why a handshake failed; the `Display` text is what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not valid handshake JSON.
    Malformed,
    /// No complete handshake within the size limit or the handshake timeout.
    Canceled,
    /// The protocol is unknown or not enabled for this hub.
    UnsupportedProtocol(String),
    /// The protocol exists but not in that version.
    UnsupportedVersion(String, u32),
    /// The protocol needs binary frames and the transport carries only text.
    TransferFormat(String),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Malformed => {
                f.write_str("An unexpected error occurred during connection handshake.")
            }
            HandshakeError::Canceled => f.write_str("Handshake was canceled."),
            HandshakeError::UnsupportedProtocol(p) => {
                write!(f, "The protocol '{p}' is not supported.")
            }
            HandshakeError::UnsupportedVersion(p, v) => {
                write!(
                    f,
                    "The server does not support version {v} of the '{p}' protocol."
                )
            }
            HandshakeError::TransferFormat(p) => write!(
                f,
                "Cannot use the '{p}' protocol on the current transport. The transport does not support 'Binary' transfer format."
            ),
        }
    }
}

/// Reads the handshake request from the start of `input`.
///
/// Returns the request and the bytes it used, or `Ok(None)` while it is incomplete.
pub fn parse_handshake(
    input: &[u8],
    max_size: Option<usize>,
) -> Result<Option<(HandshakeRequest, usize)>, HandshakeError> {
    let Some(end) = memchr::memchr(RECORD_SEPARATOR, input) else {
        return match max_size {
            Some(limit) if input.len() > limit => Err(HandshakeError::Canceled),
            _ => Ok(None),
        };
    };
    if max_size.is_some_and(|limit| end > limit) {
        return Err(HandshakeError::Canceled);
    }
    let request: HandshakeRequest =
        serde_json::from_slice(&input[..end]).map_err(|_| HandshakeError::Malformed)?;
    Ok(Some((request, end + 1)))
}

impl HandshakeRequest {
    /// Picks the protocol among those the hub `supported`, as ASP.NET Core does.
    pub fn select(
        &self,
        supported: &[Protocol],
        transport_supports_binary: bool,
    ) -> Result<Protocol, HandshakeError> {
        let protocol = Protocol::from_name(&self.protocol)
            .filter(|p| supported.contains(p))
            .ok_or_else(|| HandshakeError::UnsupportedProtocol(self.protocol.clone()))?;
        if self.version > protocol.max_version() {
            return Err(HandshakeError::UnsupportedVersion(
                self.protocol.clone(),
                self.version,
            ));
        }
        if protocol.transfer_format() == TransferFormat::Binary && !transport_supports_binary {
            return Err(HandshakeError::TransferFormat(self.protocol.clone()));
        }
        Ok(protocol)
    }
}

/// The handshake response that reports `error`; the server closes after sending it.
pub fn write_handshake_error(error: &HandshakeError) -> Bytes {
    let text = error.to_string();
    let mut out = Vec::with_capacity(text.len() + 16);
    out.extend_from_slice(b"{\"error\":");
    serde_json::to_writer(&mut out, &text).expect("writing a string to memory");
    out.extend_from_slice(&[b'}', RECORD_SEPARATOR]);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_request_and_leaves_what_follows() {
        let input = b"{\"protocol\":\"json\",\"version\":1}\x1e{\"type\":6}\x1e";
        let (request, used) = parse_handshake(input, Some(1024)).unwrap().unwrap();
        assert_eq!(request.protocol, "json");
        assert_eq!(request.version, 1);
        assert_eq!(&input[used..], b"{\"type\":6}\x1e");
    }

    #[test]
    fn waits_for_the_separator_then_gives_up_past_the_limit() {
        assert_eq!(parse_handshake(b"{\"protocol\"", Some(100)), Ok(None));
        assert_eq!(
            parse_handshake(&[b' '; 101], Some(100)),
            Err(HandshakeError::Canceled)
        );
        assert_eq!(
            parse_handshake(b"{\"x\x1e", None),
            Err(HandshakeError::Malformed)
        );
        assert_eq!(
            parse_handshake(b"{\"protocol\":\"json\"}\x1e", None),
            Err(HandshakeError::Malformed)
        );
    }

    #[test]
    fn selects_protocols_with_aspnet_wording() {
        let req = |p: &str, v| HandshakeRequest {
            protocol: p.into(),
            version: v,
        };
        assert_eq!(
            req("JSON", 1).select(Protocol::ALL, true),
            Ok(Protocol::Json)
        );
        assert_eq!(
            req("json", 2).select(Protocol::ALL, false),
            Ok(Protocol::Json)
        );
        assert_eq!(
            req("foo", 1)
                .select(Protocol::ALL, true)
                .unwrap_err()
                .to_string(),
            "The protocol 'foo' is not supported."
        );
        assert_eq!(
            req("json", 99)
                .select(Protocol::ALL, true)
                .unwrap_err()
                .to_string(),
            "The server does not support version 99 of the 'json' protocol."
        );
        assert_eq!(
            req("json", 1).select(&[], true).unwrap_err().to_string(),
            "The protocol 'json' is not supported."
        );
    }

    #[test]
    fn writes_the_error_response() {
        assert_eq!(
            &write_handshake_error(&HandshakeError::UnsupportedProtocol("x".into()))[..],
            b"{\"error\":\"The protocol 'x' is not supported.\"}\x1e"
        );
    }
}
