//! A raw connection handler that echoes every message, for the tests of connection endpoints.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use hubs::connection::{ConnectionHandler, Outgoing, TransferFormat, TransportConnection};

/// Echoes every message; `binary` answers in binary frames instead of text.
pub(crate) struct Echo {
    pub(crate) binary: bool,
}

impl ConnectionHandler for Echo {
    fn run(self: Arc<Self>, connection: TransportConnection) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let TransportConnection {
                mut inbound,
                outbound,
                ..
            } = connection;
            if self.binary {
                let binary = Outgoing::Format(TransferFormat::Binary);
                if outbound.send(binary).await.is_err() {
                    return;
                }
            }
            while let Some(message) = inbound.next().await {
                if outbound.send(Outgoing::Frame(message)).await.is_err() {
                    return;
                }
            }
        })
    }
}
