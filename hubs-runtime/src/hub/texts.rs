//! The error texts ASP.NET Core sends, word for word (see PROTOCOL.md §4.2 and §4.3).

use super::HubError;

pub(crate) const CONNECTION_CLOSED_WITH_ERROR: &str = "Connection closed with an error.";

const BINDING_DETAIL: &str = "Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.";

pub(crate) fn unknown_method(target: &str) -> String {
    format!(
        "Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
    )
}

fn binding_failure(target: &str, detail: &str, detailed: bool) -> String {
    let base = format!("Failed to invoke '{target}' due to an error on the server.");
    if detailed {
        format!("{base} InvalidDataException: {detail}")
    } else {
        base
    }
}

pub(crate) fn argument_count(
    target: &str,
    provided: usize,
    expected: usize,
    detailed: bool,
) -> String {
    let detail =
        format!("Invocation provides {provided} argument(s) but target expects {expected}.");
    binding_failure(target, &detail, detailed)
}

/// An invocation the caller is not authorized for (no final period, as ASP.NET Core).
pub(crate) fn unauthorized(target: &str) -> String {
    format!("Failed to invoke '{target}' because user is unauthorized")
}

pub(crate) fn argument_types(target: &str, detailed: bool) -> String {
    binding_failure(target, BINDING_DETAIL, detailed)
}

pub(crate) fn invocation_failed(target: &str, error: &HubError, detailed: bool) -> String {
    let base = format!("An unexpected error occurred invoking '{target}' on the server.");
    if detailed || error.is_always_shown() {
        format!("{base} {error}")
    } else {
        base
    }
}

pub(crate) fn streaming_mismatch(target: &str) -> String {
    format!(
        "The client attempted to invoke the non-streaming '{target}' method with a streaming invocation."
    )
}

pub(crate) fn non_streaming_mismatch(target: &str) -> String {
    format!(
        "The client attempted to invoke the streaming '{target}' method with a non-streaming invocation."
    )
}

pub(crate) fn streaming_failed(error: &HubError, detailed: bool) -> String {
    let base = "An error occurred on the server while streaming results.";
    if detailed || error.is_always_shown() {
        format!("{base} {error}")
    } else {
        base.to_string()
    }
}

pub(crate) fn closed_with_error(error: &HubError, detailed: bool) -> String {
    if detailed || error.is_always_shown() {
        format!("{CONNECTION_CLOSED_WITH_ERROR} {error}")
    } else {
        CONNECTION_CLOSED_WITH_ERROR.to_string()
    }
}

/// The message of a panic payload.
pub(crate) fn panic_error(payload: &(dyn std::any::Any + Send)) -> HubError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a hub method panicked".to_string());
    HubError::internal("Panic", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_aspnet_core() {
        assert_eq!(
            unknown_method("Nope"),
            "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist."
        );
        assert_eq!(
            argument_count("Add", 1, 2, false),
            "Failed to invoke 'Add' due to an error on the server."
        );
        assert_eq!(
            argument_count("Add", 1, 2, true),
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Invocation provides 1 argument(s) but target expects 2."
        );
        assert_eq!(
            argument_types("Add", true),
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked."
        );
        let hidden = HubError::internal("IoError", "disk");
        assert_eq!(
            invocation_failed("Save", &hidden, false),
            "An unexpected error occurred invoking 'Save' on the server."
        );
        assert_eq!(
            invocation_failed("Save", &hidden, true),
            "An unexpected error occurred invoking 'Save' on the server. IoError: disk"
        );
        assert_eq!(
            invocation_failed("Join", &HubError::new("full"), false),
            "An unexpected error occurred invoking 'Join' on the server. HubException: full"
        );
    }

    #[test]
    fn panic_payloads_become_messages() {
        let e = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_error(&*e).to_string(), "Panic: boom 1");
        let e = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_error(&*e).message(), "plain");
    }
}
