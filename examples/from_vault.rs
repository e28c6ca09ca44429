//! Loads settings whose secrets live in Vault, configured by env vars only.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"          # VAULT_ADDR + VAULT_TOKEN of the dev server
//! cargo run --example from_vault
//! ```
//! With AppRole instead: `VAULT_ROLE_ID=.. VAULT_SECRET_ID=.. cargo run --example from_vault`.

use std::process::ExitCode;

use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The demo's settings, read from Vault.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "DEMO_", vault(path = "vault-config-demo/{profile}"))]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080)]
    port: u16,
    /// Primary database.
    #[config(secret, vault(path = "database", key = "url"))]
    database_url: SecretString,
    /// Key for the upstream API.
    #[config(secret, vault(path = "api", key = "key"))]
    api_key: SecretString,
}

fn main() -> ExitCode {
    match Settings::load() {
        Ok(settings) => {
            println!("{}", Settings::loader().explain());
            // Show that the secrets arrived without printing them.
            println!(
                "loaded: port {}, database url of {} bytes, api key of {} bytes",
                settings.port,
                settings.database_url.expose_secret().len(),
                settings.api_key.expose_secret().len()
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("{report}");
            ExitCode::FAILURE
        }
    }
}
