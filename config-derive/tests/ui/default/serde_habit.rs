use std::time::Duration;

use vault_config::VaultConfig;

fn default_port() -> u16 {
    8080
}

// serde's `default = "path"` names a function; here a text default is the value itself, so
// for a type the derive can parse it fails to compile and says how to call the function.
#[derive(Debug, VaultConfig)]
struct Settings {
    #[config(default = "default_port")]
    port: u16,
    #[config(default = "80x")]
    workers: Option<u32>,
    #[config(default = "soon")]
    timeout: Duration,
    #[config(default = "maybe")]
    verbose: bool,
    // Accepted: the function called, and text that parses.
    #[config(default = default_port())]
    admin_port: u16,
    #[config(default = "1m30s")]
    grace: Duration,
}

fn main() {}
