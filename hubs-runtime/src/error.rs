//! The error type hub code returns and client results raise.

use std::borrow::Cow;

/// An error a hub method or hook returns.
///
/// Made with [`HubError::new`], it is like ASP.NET Core's `HubException`: its message always
/// reaches the client. Converted from any other error type (`?` works on any
/// `std::error::Error`), its details reach the client only when detailed errors are enabled.
///
/// ```
/// use hubs::HubError;
///
/// let shown = HubError::new("Room is full");
/// assert_eq!(shown.to_string(), "HubException: Room is full");
///
/// let hidden: HubError = std::fmt::Error.into();
/// assert_eq!(hidden.message(), "an error occurred when formatting an argument");
/// ```
#[derive(Debug, Clone)]
pub struct HubError {
    kind: Cow<'static, str>,
    message: String,
    always_shown: bool,
}

impl HubError {
    /// An error whose message is sent to the client as is.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            kind: Cow::Borrowed("HubException"),
            message: message.into(),
            always_shown: true,
        }
    }

    /// An error shown only with detailed errors, as `<kind>: <message>`.
    pub fn internal(kind: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            always_shown: false,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The short type name shown before the message (`HubException` for [`HubError::new`]).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Whether the client sees the details without detailed errors enabled.
    pub fn is_always_shown(&self) -> bool {
        self.always_shown
    }
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// `std::any::type_name` without its module path or generic arguments.
fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HubError {
    fn from(error: E) -> Self {
        Self::internal(short_type_name::<E>(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct RoomClosed;
    impl std::fmt::Display for RoomClosed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("room closed")
        }
    }
    impl std::error::Error for RoomClosed {}

    #[test]
    fn converted_errors_are_named_by_their_type() {
        let e: HubError = RoomClosed.into();
        assert_eq!(e.to_string(), "RoomClosed: room closed");
        assert!(!e.is_always_shown());
        assert!(HubError::new("x").is_always_shown());
    }
}
