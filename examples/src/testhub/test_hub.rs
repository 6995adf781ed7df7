//! `TestHub`, the hub the official client's functional tests call at `/testhub` and
//! `/testhub-nowebsockets`: the same method names, arguments, results and error texts, with the
//! .NET exception type names detailed errors show.

use futures_util::{Stream, StreamExt, stream};
use hubs::prelude::*;
use hubs::{Binary, Guid, Timestamp, UploadStream};
use serde::{Deserialize, Serialize};

/// The functional tests' `TestHub`. Its strings may be null, as .NET strings may.
pub struct TestHub;

/// What `SendCustomObject` receives and sends back as `CustomObject`; property names as
/// declared in .NET (`Name`, `Value`).
#[derive(ts_rs::TS, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomObject {
    /// A .NET `string`: may be null.
    pub name: Option<String>,
    /// A .NET `int`.
    pub value: i32,
}

/// The functional tests' `ComplexObject`, its properties named as declared in .NET. It travels
/// as .NET sends it: [`Binary`] is `byte[]` (base64 in JSON, `bin` in MessagePack),
/// [`Timestamp`] a UTC `DateTime` (ISO-8601 with only the fraction digits it needs, or the
/// MessagePack timestamp extension), and the GUID a string in both.
#[derive(ts_rs::TS, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplexObject {
    /// A .NET `string`: may be null.
    pub string: Option<String>,
    /// A .NET `int[]`: may be null.
    pub int_array: Option<Vec<i32>>,
    /// A .NET `byte[]`: may be null.
    pub byte_array: Option<Binary>,
    /// A .NET `Guid`: its string form in both protocols.
    pub guid: Guid,
    /// A .NET `DateTime` in UTC.
    pub date_time: Timestamp,
}

/// .NET's `InvalidOperationException`, as detailed errors name it.
fn invalid_operation(message: Option<String>) -> HubError {
    // What .NET says for `new InvalidOperationException(null)`.
    let message = message
        .unwrap_or_else(|| "Operation is not valid due to the current state of the object.".into());
    HubError::internal("InvalidOperationException", message)
}

/// .NET's `int.Parse`, failing with its exception types and texts.
fn parse_int(text: Option<&str>) -> Result<i32, HubError> {
    let text = text.ok_or_else(|| {
        HubError::internal(
            "ArgumentNullException",
            "Value cannot be null. (Parameter 's')",
        )
    })?;
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let message = format!("The input string '{text}' was not in a correct format.");
        return Err(HubError::internal("FormatException", message));
    }
    trimmed.parse().map_err(|_| {
        HubError::internal(
            "OverflowException",
            "Value was either too large or too small for an Int32.",
        )
    })
}

/// The value of cookie `name` in the request's `Cookie` headers (names ignore case, as in
/// ASP.NET Core).
fn cookie(ctx: &Context, name: &str) -> Option<String> {
    ctx.headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// Every value of header `name`, joined by commas as .NET's `StringValues` are; `None` when the
/// request has none.
fn header(ctx: &Context, name: &str) -> Option<String> {
    let values: Vec<&str> = ctx
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

// The functional tests' server sets `PropertyNamingPolicy = null`: names as declared.
#[hub(json_property_names = "as_declared")]
impl TestHub {
    pub async fn echo(&self, message: Option<String>) -> Option<String> {
        message
    }

    pub async fn get_caller_connection_id(&self, ctx: &Context) -> String {
        ctx.connection_id().to_owned()
    }

    /// The `numRedirects` query parameter `/redirect` put into the hub URL.
    pub async fn get_num_redirects(&self, ctx: &Context) -> Result<i32, HubError> {
        parse_int(ctx.query("numRedirects"))
    }

    pub async fn throw_exception(&self, message: Option<String>) -> Result<(), HubError> {
        Err(invalid_operation(message))
    }

    /// Sends `Message` with `message` to the caller.
    pub async fn invoke_with_string(
        &self,
        ctx: &Context,
        message: Option<String>,
    ) -> Result<(), HubError> {
        let caller = ctx.clients().client(ctx.connection_id());
        caller.send("Message", (message,)).await?;
        Ok(())
    }

    /// Sends `CustomObject` with `custom_object` to the caller.
    pub async fn send_custom_object(
        &self,
        ctx: &Context,
        custom_object: CustomObject,
    ) -> Result<(), HubError> {
        let caller = ctx.clients().client(ctx.connection_id());
        caller.send("CustomObject", (custom_object,)).await?;
        Ok(())
    }

    pub async fn stream(&self) -> impl Stream<Item = &'static str> + use<> {
        stream::iter(["a", "b", "c"])
    }

    /// Never yields; once cancelled (the client disposed its subscription, or left) it sends
    /// the caller `StreamCanceled`.
    pub async fn infinite_stream(&self, ctx: &Context) -> impl Stream<Item = String> + use<> {
        let watcher = ctx.clone();
        tokio::spawn(async move {
            watcher.cancelled().await;
            let caller = watcher.clients().client(watcher.connection_id());
            // After a disconnect there is nobody to tell.
            let _ = caller.send("StreamCanceled", ()).await;
        });
        stream::pending()
    }

    /// The items of the upload, concatenated; fails with the client's error
    /// (`HubException: <error>`) when the client ends the upload with one.
    pub async fn streaming_concat(
        &self,
        mut stream: UploadStream<Option<String>>,
    ) -> Result<String, HubError> {
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            text.extend(item?);
        }
        Ok(text)
    }

    pub async fn empty_stream(&self) -> impl Stream<Item = i32> + use<> {
        stream::empty()
    }

    /// Fails before it streams anything.
    pub async fn stream_throw_exception(
        &self,
        message: Option<String>,
    ) -> Result<impl Stream<Item = String> + use<>, HubError> {
        Err::<stream::Empty<String>, _>(invalid_operation(message))
    }

    /// `WebSockets`, `ServerSentEvents` or `LongPolling`.
    pub async fn get_active_transport_name(&self, ctx: &Context) -> Option<&'static str> {
        ctx.transport().map(|transport| transport.name())
    }

    pub async fn echo_complex_object(&self, complex_object: ComplexObject) -> ComplexObject {
        complex_object
    }

    pub async fn send_complex_object(&self) -> ComplexObject {
        ComplexObject {
            byte_array: Some(Binary(vec![1, 2, 3])),
            // 2000-01-01T00:00:00Z
            date_time: Timestamp::from_unix_millis(946_684_800_000),
            guid: "00010203-0405-0607-0706-050403020100"
                .parse()
                .expect("a GUID"),
            int_array: Some(vec![1, 2, 3]),
            string: Some("hello world".into()),
        }
    }

    /// The `Content-Type` header of the request that opened the transport.
    pub async fn get_content_type_header(&self, ctx: &Context) -> Option<String> {
        header(ctx, "content-type")
    }

    /// A header of the request that opened the transport, null when it has none.
    pub async fn get_header(&self, ctx: &Context, header_name: String) -> Option<String> {
        header(ctx, &header_name)
    }

    /// A cookie of the request that opened the transport, null when it has none.
    pub async fn get_cookie(&self, ctx: &Context, cookie_name: String) -> Option<String> {
        cookie(ctx, &cookie_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_parse_fails_as_in_dotnet() {
        assert_eq!(parse_int(Some(" 42")).unwrap(), 42);
        assert_eq!(parse_int(Some("-7")).unwrap(), -7);
        let error = |text| parse_int(text).unwrap_err().to_string();
        assert_eq!(
            error(None),
            "ArgumentNullException: Value cannot be null. (Parameter 's')"
        );
        assert_eq!(
            error(Some("x1")),
            "FormatException: The input string 'x1' was not in a correct format."
        );
        assert_eq!(
            error(Some("99999999999")),
            "OverflowException: Value was either too large or too small for an Int32."
        );
    }
}
