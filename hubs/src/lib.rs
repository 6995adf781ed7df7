#![doc = include_str!("../README.md")]
#![doc = include_str!("../docs/clients.md")]
#![doc = include_str!("../docs/context.md")]
#![doc = include_str!("../docs/streams.md")]
#![doc = include_str!("../docs/options.md")]
#![doc = include_str!("../docs/auth.md")]
#![doc = include_str!("../docs/filters.md")]
#![doc = include_str!("../docs/deploy.md")]
#![doc = include_str!("../docs/testing.md")]
// The deploy guide links to the Redis backplane's items, which exist only with its feature;
// without it they show as their names in brackets, not as links (docs.rs builds every feature).
#![cfg_attr(not(feature = "redis"), allow(rustdoc::broken_intra_doc_links))]

pub use hubs_macros::{allow_anonymous, authorize, hub, hub_client};
pub use hubs_runtime::connection::Transport;
pub use hubs_runtime::hub::{AuthorizationContext, Items};
/// Hub filters: code around every invocation, connect and disconnect (ASP.NET Core's
/// `IHubFilter`).
pub use hubs_runtime::hub::{
    HubFilter, HubFilters, HubInvocation, HubLifetimeContext, InvocationResult, Next,
};
pub use hubs_runtime::{
    CallerClients, ClientProxy, ClientResultTarget, ClientTarget, ConnectionOptions, Context,
    Groups, Hub, HubClients, HubContext, HubEndpoint, HubEndpointBuilder, HubError, HubOptions,
    HubRouterExt, IntoArguments, JsonPropertyNames, Presence, Protocol, RequestInfo, SendError,
    SingleClientProxy, Timestamp, UploadStream, UserIdProvider, serve,
};

pub use hubs_runtime::{
    Binary, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, Guid, Serve,
};

/// Raw connection endpoints, without the hub protocol (ASP.NET Core's `MapConnectionHandler`):
/// mount one with [`HubRouterExt::connection_handler`].
pub use hubs_runtime::{ConnectionEndpoint, ConnectionHandler, match_path_case};

/// What a custom [`ConnectionHandler`] works with: each connection's bytes in and out, over the
/// same negotiate and transports as a hub.
pub mod connection {
    pub use hubs_runtime::connection::{
        ConnectionEndpoint, ConnectionHandler, ConnectionOptions, Inbound, Outgoing, RequestInfo,
        TransferFormat, Transport, TransportConnection,
    };
}

/// Who receives what: the [`HubLifetimeManager`](lifetime::HubLifetimeManager) trait behind
/// every send, group and user, for a custom manager set with
/// [`HubEndpointBuilder::lifetime_manager`]. The in-memory manager is the default.
pub mod lifetime {
    pub use hubs_runtime::lifetime::*;
}

/// The Redis backplane (feature `redis`): nodes that share one Redis behave as one hub, and can
/// share it with ASP.NET Core nodes. See the guide's "Scaling out".
#[cfg(feature = "redis")]
pub mod redis {
    pub use hubs_runtime::lifetime::redis::{
        RedisLifetimeManager, RedisOptions, RedisOptionsError,
    };
}

/// Hubs as clients see them: what `#[hub]` and `#[hub_client]` describe for `typescript-gen`
/// (the `typescript` feature, on by default).
#[cfg(feature = "typescript")]
pub mod describe {
    pub use hubs_runtime::describe::{
        ClientDescription, Declaration, DescribeHub, HubDescription, MethodDescription, MethodKind,
        ParamDescription, TypeForm, TypeScript, TypeScriptFlavor, TypeScriptTypes, camel_case,
        describe, json_property_name,
    };
    pub use hubs_runtime::hub::AuthorizeRule;
}

/// Authentication: who a connection belongs to ([`auth::JwtBearer`] for bearer tokens,
/// [`auth::FromExtensions`] for apps with their own axum/tower layer, [`auth::from_fn`]).
pub use hubs_runtime::auth;

/// `#[serde(with = "hubs::serde_bytes")]` sends a `Vec<u8>` field as MessagePack binary (and a
/// JSON array of numbers). [`Binary`] is usually the better choice: base64 in JSON, as .NET
/// sends `byte[]`, and a TypeScript form for each protocol.
pub use serde_bytes;

/// Everything a hub author usually needs, in one import.
pub mod prelude {
    pub use crate::{
        ClientTarget, Context, HubContext, HubEndpoint, HubError, HubOptions, HubRouterExt,
        allow_anonymous, authorize, hub, hub_client,
    };
}

/// Used by generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use futures_util::future::BoxFuture;
    pub use hubs_runtime::hub::generated::{
        assert_argument, assert_client_result, boxed, encode_result, hook_result, log_hook_error,
        method_result,
    };
    pub use hubs_runtime::hub::{
        AuthorizeRule, Bindings, Hub, MethodDescriptor, MethodFuture, forward_fallible_stream,
        forward_stream,
    };
    pub use hubs_runtime::protocol::{ArgumentError, Arguments};
    pub use std::sync::Arc;

    #[cfg(feature = "typescript")]
    pub use hubs_runtime::describe::{
        ClientDescription, DescribeHub, HubDescription, MethodDescription, MethodKind,
        ParamDescription, type_form,
    };

    pub use crate::__hubs_describe as describe;
}

/// Keeps the descriptions `#[hub]` and `#[hub_client]` generate when the `typescript` feature is
/// on. Expanded in the user's crate, so the feature of `hubs` decides, not the user's.
#[cfg(feature = "typescript")]
#[doc(hidden)]
#[macro_export]
macro_rules! __hubs_describe {
    ($($item:tt)*) => { $($item)* };
}

/// Without the `typescript` feature, hubs are not described.
#[cfg(not(feature = "typescript"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __hubs_describe {
    ($($item:tt)*) => {};
}

/// The repository README's quick start compiles.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadme;
