//! Writes the TypeScript modules of the example hubs (typescript-gen), one `<Hub>.ts` each:
//!
//! ```sh
//! cargo run -p examples --bin typescript -- examples/typescript
//! cargo run -p examples --bin typescript -- --messagepack examples/typescript/messagepack
//! ```
//!
//! `--check <dir>` writes nothing and fails when the modules there are stale (the test
//! command runs it for both folders).

use examples::{auth_hub, chat, interop, notifications, secure_chat, streaming, tutorial};

fn main() -> std::process::ExitCode {
    typescript_gen::Generator::new()
        .command("cargo run -p examples --bin typescript --")
        .hub::<chat::ChatHub>()
        .hub::<interop::TestHub>()
        .hub::<auth_hub::AuthHub>()
        .hub::<notifications::NotificationHub>()
        .hub::<streaming::StreamingHub>()
        .hub::<secure_chat::SecureChatHub>()
        .hub::<tutorial::NewsHub>()
        .hub::<tutorial::RoomsHub>()
        .hub::<tutorial::StreamsHub>()
        .main()
}
