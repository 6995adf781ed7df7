//! Proxies: a target and the sends it takes, typed (`#[hub_client]`) or by name.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{AsSequence, HubClients, IntoArguments};
use crate::error::HubError;
use crate::lifetime::{
    ClientResultError, HubLifetimeManager, SendError, SerializedMessage, Target,
};
use crate::protocol::{JsonPropertyNames, Protocol};

/// Something typed client methods are sent through: every proxy a target method returns.
///
/// `#[hub_client]` traits are implemented for every `ClientTarget`, so
/// `ctx.clients().group("ops").alert(msg)` works once the client trait is in scope. Code
/// generic over targets takes `impl ClientTarget`:
///
/// ```
/// use hubs::prelude::*;
///
/// #[hub_client]
/// trait Board {
///     async fn show(&self, text: &str);
/// }
///
/// /// Works for any target: all, a group, the caller, a user, ...
/// async fn announce(to: &impl ClientTarget, text: &str) -> Result<(), hubs::SendError> {
///     to.show(text).await?;
///     to.send_arguments("Announced", ()).await
/// }
///
/// struct Office;
///
/// #[hub(client = Board)]
/// impl Office {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hubs::SendError> {
/// let hub = HubEndpoint::new(Office).context();
/// announce(&hub.clients().all(), "lunch").await?;
/// announce(&hub.clients().group("ops"), "deploying").await?;
/// # Ok(())
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a client target",
    note = "typed client methods are called on proxies such as `ctx.clients().all()` or `hub_context.clients().group(\"name\")`"
)]
pub trait ClientTarget: Send + Sync {
    /// Calls client method `method` with `arguments` on every connection of the target.
    fn send_arguments<'a, A: IntoArguments + 'a>(
        &'a self,
        method: &'a str,
        arguments: A,
    ) -> impl Future<Output = Result<(), SendError>> + Send + 'a;
}

impl ClientTarget for ClientProxy<'_> {
    fn send_arguments<'a, A: IntoArguments + 'a>(
        &'a self,
        method: &'a str,
        arguments: A,
    ) -> impl Future<Output = Result<(), SendError>> + Send + 'a {
        self.send(method, arguments)
    }
}

/// Whether code holding a context may await a client result, and why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientResults {
    Allowed,
    /// Inside a hub method while only one invocation per client runs at a time: the client's
    /// answer could never be read.
    NeedsParallelInvocations,
    /// Inside the connected hook, before the connection reads anything.
    InConnectedHook,
}

impl ClientResults {
    /// The error for awaiting a client result where that cannot work.
    pub(crate) fn refusal(self) -> Option<HubError> {
        let message = match self {
            ClientResults::Allowed => return None,
            ClientResults::NeedsParallelInvocations => {
                "Client results inside a Hub method requires HubOptions.MaximumParallelInvocationsPerClient to be greater than 1."
            }
            ClientResults::InConnectedHook => {
                "Client results inside OnConnectedAsync Hub methods are not allowed."
            }
        };
        Some(HubError::internal("InvalidOperationException", message))
    }
}

/// Targets that can answer: one connection. Methods of a `#[hub_client]` trait that return a
/// value (client results) are available only on these.
#[diagnostic::on_unimplemented(
    message = "client results need a single connection, and `{Self}` may reach many",
    note = "call client methods that return a value on `ctx.clients().caller()` or `clients().client(connection_id)`"
)]
pub trait ClientResultTarget: ClientTarget {
    /// Calls client method `method` and waits for the value the client returns.
    fn invoke_arguments<'a, R: DeserializeOwned + 'a, A: IntoArguments + 'a>(
        &'a self,
        method: &'a str,
        arguments: A,
    ) -> impl Future<Output = Result<R, HubError>> + Send + 'a;
}

/// One connection: sends, and client results (the server calls the client and awaits a value).
/// Made by `caller()` and `client(id)`.
///
/// ```
/// use std::time::Duration;
///
/// use hubs::prelude::*;
///
/// struct Quiz;
///
/// #[hub]
/// impl Quiz {
///     /// Asks the caller (`connection.on("Ask", question => answer)`) and checks the answer.
///     /// Needs `maximum_parallel_invocations_per_client` > 1.
///     pub async fn play(&self, ctx: &Context) -> Result<bool, HubError> {
///         let caller = ctx.clients().caller().with_timeout(Duration::from_secs(20));
///         let answer: i64 = caller.invoke("Ask", ("6 * 7?",)).await?;
///         caller.send("Result", (answer == 42,)).await?;
///         Ok(answer == 42)
///     }
/// }
/// ```
pub struct SingleClientProxy<'a> {
    lifetime: &'a dyn HubLifetimeManager,
    json_names: JsonPropertyNames,
    connection_id: String,
    timeout: Option<Duration>,
    results: ClientResults,
}

impl<'a> SingleClientProxy<'a> {
    pub(super) fn new(
        clients: &HubClients<'a>,
        connection_id: String,
        results: ClientResults,
    ) -> Self {
        Self {
            lifetime: clients.lifetime,
            json_names: clients.json_names,
            connection_id,
            timeout: None,
            results,
        }
    }

    /// Fails client results that take longer than `timeout` (there is none by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls client method `method` (exact letter case) on the connection.
    pub async fn send<A: IntoArguments>(
        &self,
        method: &str,
        arguments: A,
    ) -> Result<(), SendError> {
        ClientProxy::new(
            self.lifetime,
            Target::Connection(self.connection_id.clone()),
        )
        .with_json_property_names(self.json_names)
        .send(method, arguments)
        .await
    }

    /// Calls client method `method` and waits for the value its handler returns (JavaScript:
    /// `connection.on(method, (...args) => value)`).
    pub async fn invoke<R: DeserializeOwned, A: IntoArguments>(
        &self,
        method: &str,
        arguments: A,
    ) -> Result<R, HubError> {
        if let Some(refusal) = self.results.refusal() {
            return Err(refusal);
        }
        let arguments = AsSequence(&arguments);
        let encode = |id: &str, protocol: Protocol| {
            let arguments = self.json_names.payload(protocol, &arguments);
            protocol.write_invocation(Some(id), method, &arguments)
        };
        let call = self.lifetime.invoke_client(&self.connection_id, &encode);
        let result = match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, call).await.map_err(|_| {
                HubError::internal(
                    "TimeoutException",
                    format!("The client did not answer '{method}' in time."),
                )
            })?,
            None => call.await,
        };
        let result = result.map_err(|error| match error {
            ClientResultError::Client(message) => HubError::new(message),
            ClientResultError::Encode(message) => {
                HubError::internal("SerializationException", message)
            }
            other => HubError::internal("IOException", other.to_string()),
        })?;
        result
            .decode()
            .map_err(|e| HubError::internal("InvalidDataException", e))
    }
}

impl ClientTarget for SingleClientProxy<'_> {
    fn send_arguments<'a, A: IntoArguments + 'a>(
        &'a self,
        method: &'a str,
        arguments: A,
    ) -> impl Future<Output = Result<(), SendError>> + Send + 'a {
        self.send(method, arguments)
    }
}

impl ClientResultTarget for SingleClientProxy<'_> {
    fn invoke_arguments<'a, R: DeserializeOwned + 'a, A: IntoArguments + 'a>(
        &'a self,
        method: &'a str,
        arguments: A,
    ) -> impl Future<Output = Result<R, HubError>> + Send + 'a {
        self.invoke(method, arguments)
    }
}

/// The connections one send reaches: what every target but `caller()` and `client(id)`
/// returns. It has `send` and the methods of every `#[hub_client]` trait in scope that
/// return nothing.
pub struct ClientProxy<'a> {
    lifetime: &'a dyn HubLifetimeManager,
    target: Target,
    json_names: JsonPropertyNames,
}

impl<'a> ClientProxy<'a> {
    /// A proxy for `target`, writing JSON property names camelCase.
    pub fn new(lifetime: &'a dyn HubLifetimeManager, target: Target) -> Self {
        Self {
            lifetime,
            target,
            json_names: JsonPropertyNames::CamelCase,
        }
    }

    /// Writes struct fields in JSON as `names` says (the hub's setting).
    pub fn with_json_property_names(mut self, names: JsonPropertyNames) -> Self {
        self.json_names = names;
        self
    }

    /// Who this proxy sends to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Calls client method `method` (exact letter case) on every connection of the target.
    /// The message is serialized once per protocol in use and shared by all recipients.
    pub async fn send<A: IntoArguments>(
        &self,
        method: &str,
        arguments: A,
    ) -> Result<(), SendError> {
        let arguments = AsSequence(&arguments);
        let message =
            SerializedMessage::encode(self.lifetime.protocols_for(&self.target), |protocol| {
                let arguments = self.json_names.payload(protocol, &arguments);
                protocol.write_invocation(None, method, &arguments)
            })?;
        self.send_serialized(&message).await
    }

    /// Sends an already serialized message.
    pub async fn send_serialized(&self, message: &SerializedMessage) -> Result<(), SendError> {
        // A send rarely waits, so a loop of them would keep its worker thread (and the I/O
        // driver that thread may be the only one to poll) from everything else; this takes a
        // unit of Tokio's cooperative budget and yields when it is spent, as channel sends do.
        tokio::task::consume_budget().await;
        self.lifetime.send(&self.target, message).await
    }
}
