//! Any bytes as the answers that set a token's schedule (login, lookup-self, renewal, a KV v1
//! lease), driven through the client's lifecycle and the live loop's next refresh: never a
//! panic, never a wait past the longest the client waits.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vault_config_vault::fuzzing::lifecycle(data);
});
