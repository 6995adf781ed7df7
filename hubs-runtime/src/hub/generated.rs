//! Helpers the `#[hub]` expansion calls, so generated code stays thin.

use std::future::Future;

use futures_util::future::BoxFuture;
use serde::Serialize;

use super::{Context, HubError};
use crate::protocol::Encoded;

/// Encodes a method's return value in the caller's protocol.
pub fn encode_result<T: Serialize + ?Sized>(
    context: &Context,
    value: &T,
) -> Result<Encoded, HubError> {
    context
        .encode(value)
        .map_err(|e| HubError::internal("SerializationException", e.0))
}

/// Turns a method's `Result` into an encoded value or its error.
pub fn method_result<T: Serialize, E: Into<HubError>>(
    context: &Context,
    result: Result<T, E>,
) -> Result<Encoded, HubError> {
    match result {
        Ok(value) => encode_result(context, &value),
        Err(error) => Err(error.into()),
    }
}

/// Turns a hook's `Result` into the runtime's error type.
pub fn hook_result<E: Into<HubError>>(result: Result<(), E>) -> Result<(), HubError> {
    result.map_err(Into::into)
}

/// Logs the error a hook returned where nobody can be told.
pub fn log_hook_error(hook: &str, result: Result<(), HubError>) {
    if let Err(error) = result {
        tracing::warn!(hook, %error, "lifecycle hook failed");
    }
}

/// Boxes a method's future; a non-`Send` future fails to compile here.
pub fn boxed<T, F: Future<Output = T> + Send + 'static>(future: F) -> BoxFuture<'static, T> {
    Box::pin(future)
}

/// Compiles only for values a client result can be read into.
pub fn assert_client_result<T: serde::de::DeserializeOwned>() {}

/// Compiles only for values a client method can send.
pub fn assert_argument<T: Serialize + Send + Sync + ?Sized>(_: &T) {}
