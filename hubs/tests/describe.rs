#![allow(unreachable_pub)] // hub methods are `pub` by definition, even in a test crate
//! What `#[hub]` and `#[hub_client]` describe for `typescript-gen`: wire names, parameters,
//! kinds, TypeScript forms, docs and authorization.

use futures_util::Stream;
use hubs::describe::{MethodKind, TypeScriptFlavor, TypeScriptTypes, describe};
use hubs::prelude::*;
use hubs::{Binary, Timestamp, UploadStream};
use serde::{Deserialize, Serialize};

/// A message in a room.
#[derive(Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
struct RoomMessage {
    /// Who wrote it.
    user_name: String,
    sent_at: Timestamp,
    attachment: Option<Binary>,
    kind: Kind,
}

#[derive(Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type")]
enum Kind {
    Text,
    Reply { to: u64 },
}

/// What the server calls on room clients.
#[hub_client]
trait RoomClient {
    /// A message arrived.
    async fn receive(&self, message: &RoomMessage);
    #[method(name = "confirm")]
    async fn ask_confirmation(&self, question: String) -> bool;
}

struct RoomHub;

/// A room.
#[hub(client = RoomClient)]
#[authorize]
impl RoomHub {
    /// Sends `text` to everyone.
    pub async fn send(
        &self,
        _ctx: &Context,
        /// The text to send.
        text: String,
    ) {
        let _ = text;
    }

    #[authorize(roles = "Admin")]
    pub async fn history(&self, count: u32) -> Result<Vec<RoomMessage>, HubError> {
        let _ = count;
        Ok(Vec::new())
    }

    pub async fn ticks(&self) -> impl Stream<Item = Result<i64, HubError>> + use<> {
        futures_util::stream::empty()
    }

    pub async fn upload(&self, parts: UploadStream<Binary>) -> usize {
        drop(parts);
        0
    }
}

#[test]
fn a_hub_describes_its_methods_and_client() {
    let hub = describe::<RoomHub>();
    assert_eq!(hub.name, "RoomHub");
    assert_eq!(hub.docs, " A room.");
    assert_eq!(hub.authorize.len(), 1);
    let names: Vec<_> = hub
        .methods
        .iter()
        .map(|m| (m.name, m.wire_name, m.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("send", "Send", MethodKind::Invoke),
            ("history", "History", MethodKind::Invoke),
            ("ticks", "Ticks", MethodKind::ServerStream),
            ("upload", "Upload", MethodKind::Invoke),
        ]
    );
    let send = &hub.methods[0];
    assert_eq!(
        send.params.len(),
        1,
        "the context is not a parameter clients pass"
    );
    assert_eq!(send.params[0].name, "text");
    assert_eq!(send.params[0].docs, " The text to send.");
    assert!(send.result.is_none());
    assert_eq!(hub.methods[1].authorize[0].roles, ["Admin"]);
    assert!(hub.methods[3].params[0].upload);

    let client = hub.client.expect("the hub names its client trait");
    assert_eq!(client.name, "RoomClient");
    let kinds: Vec<_> = client
        .methods
        .iter()
        .map(|m| (m.wire_name, m.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Receive", MethodKind::FireAndForget),
            ("confirm", MethodKind::ClientResult)
        ]
    );
}

#[test]
fn types_reach_typescript_with_their_declarations() {
    let hub = describe::<RoomHub>();
    let mut types = TypeScriptTypes::new(TypeScriptFlavor::Json);
    let history = hub.methods[1].result.unwrap().typescript(&mut types);
    assert_eq!(history, "Array<RoomMessage>");
    assert_eq!(
        hub.methods[2].result.unwrap().typescript(&mut types),
        "number"
    );
    let upload = hub.methods[3].params[0].ty.typescript(&mut types);
    assert_eq!(upload, "Binary");
    let declared: Vec<_> = types.declarations().map(|d| d.name.as_str()).collect();
    assert_eq!(declared, ["Binary", "Kind", "RoomMessage", "Timestamp"]);
    let message = types
        .declarations()
        .find(|d| d.name == "RoomMessage")
        .unwrap();
    assert!(
        message.declaration.contains("userName: string"),
        "{message:?}"
    );
    assert!(
        message.declaration.contains("sentAt: Timestamp"),
        "{message:?}"
    );
    assert!(message.docs.contains("A message in a room."), "{message:?}");
    let timestamp = types
        .declarations()
        .find(|d| d.name == "Timestamp")
        .unwrap();
    assert_eq!(timestamp.declaration, "type Timestamp = string;");

    let mut msgpack = TypeScriptTypes::new(TypeScriptFlavor::MessagePack);
    hub.methods[1].result.unwrap().typescript(&mut msgpack);
    hub.methods[3].params[0].ty.typescript(&mut msgpack);
    let forms: Vec<_> = msgpack
        .declarations()
        .filter(|d| d.name == "Timestamp" || d.name == "Binary")
        .map(|d| d.declaration.as_str())
        .collect();
    assert_eq!(
        forms,
        ["type Binary = Uint8Array;", "type Timestamp = Date;"]
    );
}
