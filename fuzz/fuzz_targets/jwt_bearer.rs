//! Bearer tokens as a client presents them: `JwtBearer::validate` on any text, and on tokens
//! made of any header and claims JSON but signed with the endpoint's own key, so that the
//! claims get past the signature into what is ours: the choice of key by `kid`, the
//! validation settings (issuer, audience, exp and nbf with skew) and the mapping of claims to
//! a `Principal` (name, id, roles, expiry, every claim). Splitting, base64, JSON and signature
//! checks are jsonwebtoken's.
//!
//! Input: the header JSON, a 0xFF byte, the claims JSON (no 0xFF: the input is one token).
#![no_main]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hubs::auth::JwtBearer;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, crypto};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"a fuzzing secret of at least thirty-two bytes";
const ROTATED_SECRET: &[u8] = b"the secret of key id 'next', also long enough";

/// An endpoint's validator: a key without an id and one with, issuer and audience required.
static BEARER: LazyLock<JwtBearer> = LazyLock::new(|| {
    let rotated = DecodingKey::from_secret(ROTATED_SECRET).expect("a secret");
    JwtBearer::hmac(SECRET)
        .key_with_id("next", Algorithm::HS256, rotated)
        .issuer("hubs")
        .audience("fuzz")
        .role_claim_type("groups")
});

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0xff) else {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = BEARER.validate(text);
        }
        return;
    };
    let (header, claims) = (&data[..split], &data[split + 1..]);
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    for secret in [SECRET, ROTATED_SECRET] {
        let key = EncodingKey::from_secret(secret).expect("a secret");
        let signature = crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256)
            .expect("HMAC signs anything");
        if let Ok(principal) = BEARER.validate(&format!("{signing_input}.{signature}")) {
            let _ = (principal.name(), principal.id(), principal.expires_at());
            assert!(principal.same_user(&principal));
            for role in principal.roles() {
                assert!(principal.is_in_role(role));
            }
        }
    }
});
