//! Client targets: who a send goes to, for code inside hub methods and outside them.

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use crate::lifetime::{HubLifetimeManager, SendError, Target};
use crate::protocol::JsonPropertyNames;

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
mod proxy;

pub use presence::Presence;
pub(crate) use proxy::ClientResults;
pub use proxy::{ClientProxy, ClientResultTarget, ClientTarget, SingleClientProxy};

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

fn ids<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Vec<String> {
    ids.into_iter().map(Into::into).collect()
}
