//! Hub options, named and defaulted as ASP.NET Core's `HubOptions`.

use std::time::Duration;

use crate::protocol::Protocol;

/// Settings of one hub, with ASP.NET Core's defaults.
///
/// ```
/// use hubs::HubOptions;
///
/// let options = HubOptions { enable_detailed_errors: true, ..HubOptions::default() };
/// assert_eq!(options.maximum_receive_message_size, Some(32 * 1024));
/// assert!(options.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// How long a connection may be sent nothing before the server pings it (15 s): a
    /// connection that receives messages at least this often is never pinged.
    pub keep_alive_interval: Duration,
    /// How long a client may stay silent once it has sent its first ping (30 s).
    pub client_timeout_interval: Duration,
    /// How long a client has to complete its handshake (15 s).
    pub handshake_timeout: Duration,
    /// Largest message accepted (32 KiB); `None` means unlimited. A larger message closes the
    /// connection with an error.
    pub maximum_receive_message_size: Option<usize>,
    /// How many invocations of one connection run at once (1); later ones wait their turn.
    pub maximum_parallel_invocations_per_client: usize,
    /// Items an upload stream buffers before the connection stops reading (10).
    pub stream_buffer_capacity: usize,
    /// Whether error Completions and Close messages carry details of the error (false).
    pub enable_detailed_errors: bool,
    /// The hub protocols clients may choose (all).
    pub supported_protocols: Vec<Protocol>,
    /// Whether a connection is closed (with an error Close message that allows reconnecting)
    /// when the credentials it authenticated with expire (false). Long Polling and SSE
    /// requests that bring a refreshed token for the same user move the expiry forward.
    /// ASP.NET Core's `CloseOnAuthenticationExpiration`.
    pub close_on_authentication_expiration: bool,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self {
            keep_alive_interval: Duration::from_secs(15),
            client_timeout_interval: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            maximum_receive_message_size: Some(32 * 1024),
            maximum_parallel_invocations_per_client: 1,
            stream_buffer_capacity: 10,
            enable_detailed_errors: false,
            supported_protocols: Protocol::ALL.to_vec(),
            close_on_authentication_expiration: false,
        }
    }
}

impl HubOptions {
    /// Checks the values, naming the first one that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("keep_alive_interval", self.keep_alive_interval),
            ("client_timeout_interval", self.client_timeout_interval),
            ("handshake_timeout", self.handshake_timeout),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("HubOptions::{name} must be greater than zero"));
        }
        if self.maximum_parallel_invocations_per_client == 0 {
            return Err(
                "HubOptions::maximum_parallel_invocations_per_client must be at least 1".into(),
            );
        }
        if self.stream_buffer_capacity == 0 {
            return Err("HubOptions::stream_buffer_capacity must be at least 1".into());
        }
        if self.maximum_receive_message_size == Some(0) {
            return Err("HubOptions::maximum_receive_message_size must be greater than zero (None means unlimited)".into());
        }
        if self.supported_protocols.is_empty() {
            return Err("HubOptions::supported_protocols must name at least one protocol".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ConnectionOptions;

    #[test]
    fn defaults_are_aspnet_cores() {
        let o = HubOptions::default();
        assert_eq!(o.keep_alive_interval, Duration::from_secs(15));
        assert_eq!(o.client_timeout_interval, Duration::from_secs(30));
        assert_eq!(o.handshake_timeout, Duration::from_secs(15));
        assert_eq!(o.maximum_receive_message_size, Some(32_768));
        assert_eq!(o.stream_buffer_capacity, 10);
        assert_eq!(o.maximum_parallel_invocations_per_client, 1);
        assert!(!o.enable_detailed_errors);
        let c = ConnectionOptions::default();
        assert_eq!(c.long_poll_timeout, Duration::from_secs(90));
        assert_eq!(c.disconnect_timeout, Duration::from_secs(15));
        assert_eq!(c.transport_send_timeout, Duration::from_secs(10));
        assert_eq!(c.transports.len(), 3);
    }

    #[test]
    fn invalid_values_are_named() {
        let bad = |change: fn(&mut HubOptions)| {
            let mut o = HubOptions::default();
            change(&mut o);
            o.validate().unwrap_err()
        };
        assert!(bad(|o| o.keep_alive_interval = Duration::ZERO).contains("keep_alive_interval"));
        assert!(
            bad(|o| o.maximum_parallel_invocations_per_client = 0).contains("maximum_parallel")
        );
        assert!(
            bad(|o| o.maximum_receive_message_size = Some(0))
                .contains("maximum_receive_message_size")
        );
        assert!(bad(|o| o.stream_buffer_capacity = 0).contains("stream_buffer_capacity"));
        assert!(bad(|o| o.supported_protocols.clear()).contains("supported_protocols"));
        let mut c = ConnectionOptions::default();
        c.transports.clear();
        assert!(c.validate().unwrap_err().contains("transports"));
        let c = ConnectionOptions {
            long_poll_timeout: Duration::ZERO,
            ..ConnectionOptions::default()
        };
        assert!(c.validate().unwrap_err().contains("long_poll_timeout"));
    }
}
