//! JSON hub messages as the read loop meets them: `Protocol::Json.parse` over a buffer of
//! possibly several messages, with the 32 KiB limit and without, binding each invocation's
//! arguments through `Arguments::decode` (strings, numbers, options, bytes, timestamps, a
//! struct) and reading back what the server writes for stream items and completions.
#![no_main]

use hubs::Protocol;
use hubs_fuzz::{MESSAGE_LIMIT, read_loop};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    read_loop(Protocol::Json, data, Some(MESSAGE_LIMIT));
    read_loop(Protocol::Json, data, None);
});
