//! MessagePack hub messages as the read loop meets them: the VarInt length prefix, then the
//! message array, over a buffer of possibly several frames, with the 32 KiB limit and
//! without; arguments bound through `Arguments::decode` (strings, numbers, options, bin,
//! the timestamp extension, a struct as a map) and server-written items and completions
//! read back.
#![no_main]

use hubs::Protocol;
use hubs_fuzz::{MESSAGE_LIMIT, read_loop};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    read_loop(Protocol::MessagePack, data, Some(MESSAGE_LIMIT));
    read_loop(Protocol::MessagePack, data, None);
});
