//! Any bytes as a Vault answer (status, KV version, body): every decoder of the client returns
//! a value or a typed error, never panics, and never shows a secret value of the body.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vault_config_vault::fuzzing::vault_response(data);
});
