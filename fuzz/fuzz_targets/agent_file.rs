//! Any name and text as a Vault Agent injected file: see checks/agent_file.rs.
#![no_main]

#[path = "../checks/agent_file.rs"]
mod agent_file;

libfuzzer_sys::fuzz_target!(|data: &[u8]| agent_file::check(data));
