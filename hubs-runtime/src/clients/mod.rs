//! Client targets: who a send goes to, for code inside hub methods and outside them.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeSeq, Serializer};

use crate::error::HubError;
use crate::lifetime::{
    ClientResultError, HubLifetimeManager, SendError, SerializedMessage, Target,
};
use crate::protocol::{JsonPropertyNames, Protocol};

/// The arguments of a client method call: a tuple of serializable values, `()` for none and
/// `(value,)` for one (up to twelve). Always written as a sequence.
///
/// ```
/// # use hubs::prelude::*;
/// # async fn examples(ctx: &Context) -> Result<(), hubs::SendError> {
/// let all = ctx.clients().all();
/// all.send("Refresh", ()).await?;                    // Refresh()
/// all.send("Notice", ("hello",)).await?;             // Notice("hello")
/// all.send("Moved", ("ann", 3, [1.5, 2.0])).await?;  // Moved("ann", 3, [1.5, 2])
/// # Ok(())
/// # }
/// ```
pub trait IntoArguments: Send + Sync + private::Sealed {
    /// Writes the values as one sequence.
    #[doc(hidden)]
    fn serialize_arguments<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

mod presence;

pub use presence::Presence;

mod private {
    pub trait Sealed {}
}

/// Serializes [`IntoArguments`] as the sequence the protocols expect.
pub struct AsSequence<'a, A>(pub &'a A);

impl<A: IntoArguments> Serialize for AsSequence<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_arguments(serializer)
    }
}

macro_rules! tuple_arguments {
    ($( ($($name:ident $index:tt),*) )*) => {$(
        impl<$($name: Serialize + Send + Sync),*> private::Sealed for ($($name,)*) {}
        impl<$($name: Serialize + Send + Sync),*> IntoArguments for ($($name,)*) {
            #[allow(unused_mut)]
            fn serialize_arguments<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(0 $(+ { let _ = $index; 1 })*))?;
                $(seq.serialize_element(&self.$index)?;)*
                seq.end()
            }
        }
    )*};
}

tuple_arguments! {
    ()
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}

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
    fn new(clients: &HubClients<'a>, connection_id: String, results: ClientResults) -> Self {
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
        self.lifetime.send(&self.target, message).await
    }
}

fn ids<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Vec<String> {
    ids.into_iter().map(Into::into).collect()
}

/// Every target that does not depend on a calling connection: what
/// [`HubContext::clients`](crate::HubContext::clients) gives, and (through
/// [`CallerClients`]) what hub methods get too. Each target returns a proxy with `send` and
/// the methods of every `#[hub_client]` trait in scope. Ids, names and lists may be borrowed
/// or owned.
///
/// ```
/// use hubs::prelude::*;
///
/// struct Shop;
///
/// #[hub]
/// impl Shop {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hubs::SendError> {
/// let hub = HubEndpoint::new(Shop).context();
/// let clients = hub.clients();
/// clients.all().send("Sale", ("everything", 10)).await?;
/// clients.group("vip").send("Sale", ("more", 30)).await?;
/// clients.groups(["eu", "us"]).send("Shipping", ("free",)).await?;
/// clients.user("ann").send("OrderShipped", (42,)).await?;
/// clients.users(vec!["ann".to_string(), "bob".to_string()]).send("Survey", ()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct HubClients<'a> {
    lifetime: &'a dyn HubLifetimeManager,
    json_names: JsonPropertyNames,
}

impl<'a> HubClients<'a> {
    /// Targets reached through `lifetime`, writing JSON property names camelCase.
    pub fn new(lifetime: &'a dyn HubLifetimeManager) -> Self {
        Self {
            lifetime,
            json_names: JsonPropertyNames::CamelCase,
        }
    }

    /// Writes struct fields in JSON as `names` says (the hub's setting).
    pub fn with_json_property_names(mut self, names: JsonPropertyNames) -> Self {
        self.json_names = names;
        self
    }

    fn proxy(&self, target: Target) -> ClientProxy<'a> {
        ClientProxy::new(self.lifetime, target).with_json_property_names(self.json_names)
    }

    /// Every connection.
    pub fn all(&self) -> ClientProxy<'a> {
        self.proxy(Target::All)
    }

    /// Every connection except `connection_ids`.
    pub fn all_except<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<'a> {
        self.proxy(Target::AllExcept(ids(connection_ids)))
    }

    /// One connection; it can also answer client results.
    pub fn client(&self, connection_id: impl Into<String>) -> SingleClientProxy<'a> {
        SingleClientProxy::new(self, connection_id.into(), ClientResults::Allowed)
    }

    /// Several connections.
    pub fn clients<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<'a> {
        self.proxy(Target::Connections(ids(connection_ids)))
    }

    /// The members of a group.
    pub fn group(&self, group: impl Into<String>) -> ClientProxy<'a> {
        self.proxy(Target::Group(group.into()))
    }

    /// The members of several groups.
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(&self, groups: I) -> ClientProxy<'a> {
        self.proxy(Target::Groups(ids(groups)))
    }

    /// The members of a group except `connection_ids`.
    pub fn group_except<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        group: impl Into<String>,
        connection_ids: I,
    ) -> ClientProxy<'a> {
        self.proxy(Target::GroupExcept(group.into(), ids(connection_ids)))
    }

    /// Every connection of a user.
    pub fn user(&self, user_id: impl Into<String>) -> ClientProxy<'a> {
        self.proxy(Target::User(user_id.into()))
    }

    /// Every connection of several users.
    pub fn users<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        user_ids: I,
    ) -> ClientProxy<'a> {
        self.proxy(Target::Users(ids(user_ids)))
    }
}

/// The targets available inside a hub method: those of [`HubClients`] plus the caller's own
/// (`caller()`, `others()`, `others_in_group(..)`). Made by `ctx.clients()`.
///
/// ```
/// use hubs::prelude::*;
///
/// struct Chat;
///
/// #[hub]
/// impl Chat {
///     pub async fn say(&self, ctx: &Context, room: String, text: String) -> Result<(), HubError> {
///         ctx.clients().caller().send("Sent", (&text,)).await?;
///         ctx.clients().others_in_group(&room).send("Said", (ctx.connection_id(), &text)).await?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Clone, Copy)]
pub struct CallerClients<'a> {
    clients: HubClients<'a>,
    caller: &'a str,
    results: ClientResults,
}

impl<'a> CallerClients<'a> {
    /// Targets relative to connection `caller`.
    pub(crate) fn new(
        lifetime: &'a dyn HubLifetimeManager,
        json_names: JsonPropertyNames,
        caller: &'a str,
        results: ClientResults,
    ) -> Self {
        Self {
            clients: HubClients::new(lifetime).with_json_property_names(json_names),
            caller,
            results,
        }
    }

    /// The calling connection; it can also answer client results.
    pub fn caller(&self) -> SingleClientProxy<'a> {
        SingleClientProxy::new(&self.clients, self.caller.to_string(), self.results)
    }

    /// Another connection; it can also answer client results.
    pub fn client(&self, connection_id: impl Into<String>) -> SingleClientProxy<'a> {
        SingleClientProxy::new(&self.clients, connection_id.into(), self.results)
    }

    /// Every connection but the caller.
    pub fn others(&self) -> ClientProxy<'a> {
        self.clients.all_except([self.caller])
    }

    /// The members of a group but the caller.
    pub fn others_in_group(&self, group: impl Into<String>) -> ClientProxy<'a> {
        self.clients.group_except(group, [self.caller])
    }
}

impl<'a> std::ops::Deref for CallerClients<'a> {
    type Target = HubClients<'a>;

    fn deref(&self) -> &HubClients<'a> {
        &self.clients
    }
}

/// Adds connections to groups and removes them: `ctx.groups()` in hub code,
/// [`HubContext::groups`](crate::HubContext::groups) elsewhere. A group exists while it has
/// members; connections leave their groups when they disconnect.
///
/// ```
/// use hubs::prelude::*;
///
/// struct Rooms;
///
/// #[hub]
/// impl Rooms {
///     pub async fn switch(&self, ctx: &Context, from: String, to: String) -> Result<(), HubError> {
///         ctx.groups().remove(ctx.connection_id(), &from).await?;
///         ctx.groups().add(ctx.connection_id(), &to).await?;
///         ctx.clients().group(to).send("Arrived", (ctx.connection_id(),)).await?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Clone, Copy)]
pub struct Groups<'a> {
    lifetime: &'a dyn HubLifetimeManager,
}

impl<'a> Groups<'a> {
    /// Group management through `lifetime`.
    pub fn new(lifetime: &'a dyn HubLifetimeManager) -> Self {
        Self { lifetime }
    }

    /// Adds a connection to a group. Unknown connections are ignored. Ids and names may be
    /// borrowed or owned (`&str`, `String`, `&String`), as with `clients().group(..)`.
    ///
    /// ```
    /// # use hubs::prelude::*;
    /// # async fn join(ctx: &Context, room: String) -> Result<(), hubs::SendError> {
    /// ctx.groups().add(ctx.connection_id(), &room).await?;
    /// ctx.groups().add(ctx.connection_id(), format!("{room}-admins")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add(
        &self,
        connection_id: impl AsRef<str>,
        group: impl AsRef<str>,
    ) -> Result<(), SendError> {
        let (connection_id, group) = (connection_id.as_ref(), group.as_ref());
        self.lifetime.add_to_group(connection_id, group).await
    }

    /// Removes a connection from a group. Unknown connections or groups are ignored.
    pub async fn remove(
        &self,
        connection_id: impl AsRef<str>,
        group: impl AsRef<str>,
    ) -> Result<(), SendError> {
        let (connection_id, group) = (connection_id.as_ref(), group.as_ref());
        self.lifetime.remove_from_group(connection_id, group).await
    }
}
