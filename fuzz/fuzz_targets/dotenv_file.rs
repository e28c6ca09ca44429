//! Any text as a `.env` file: see checks/dotenv_file.rs.
#![no_main]

#[path = "../checks/dotenv_file.rs"]
mod dotenv_file;

libfuzzer_sys::fuzz_target!(|data: &[u8]| dotenv_file::check(data));
