//! The first bytes of every connection: `parse_handshake` with the default size limit and
//! without, then protocol selection as each transport does it, then the error response the
//! server would send (which must be valid JSON ending in the record separator).
#![no_main]

use hubs::Protocol;
use hubs_runtime::protocol::{RECORD_SEPARATOR, parse_handshake, write_handshake_error};
use hubs_fuzz::MESSAGE_LIMIT;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limit in [Some(MESSAGE_LIMIT), Some(16), None] {
        let error = match parse_handshake(data, limit) {
            Ok(None) => continue,
            Ok(Some((request, used))) => {
                assert!(used <= data.len() && data[used - 1] == RECORD_SEPARATOR);
                let mut errors = Vec::new();
                for supported in [Protocol::ALL, &[Protocol::Json][..]] {
                    for binary in [true, false] {
                        match request.select(supported, binary) {
                            Ok(protocol) => assert!(supported.contains(&protocol)),
                            Err(error) => errors.push(error),
                        }
                    }
                }
                errors
            }
            Err(error) => vec![error],
        };
        for error in error {
            let response = write_handshake_error(&error);
            let (body, separator) = response.split_at(response.len() - 1);
            assert_eq!(separator, [RECORD_SEPARATOR]);
            let parsed: serde_json::Value = serde_json::from_slice(body).expect("valid JSON");
            assert_eq!(parsed["error"], error.to_string());
        }
    }
});
