//! Any bytes as env values of a settings struct: see checks/env_value.rs.
#![no_main]

#[path = "../checks/env_value.rs"]
mod env_value;

libfuzzer_sys::fuzz_target!(|data: &[u8]| env_value::check(data));
