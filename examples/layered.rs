//! Config files and `.env` as layers under env and Vault: run it where its files are,
//! `cd examples/layered && cargo run --example layered` (add `APP_PROFILE=production` for
//! `config/production.toml`, and `VAULT_ADDR` + `VAULT_TOKEN` for the Vault layer).
//!
//! It prints where every value comes from, then the settings it loaded.

use std::process::ExitCode;

use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The settings of a small service that keeps its defaults in checked-in files, a developer's
/// own values in `.env`, and its secrets in Vault.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "APP_",
    vault(path = "layered/{profile}"),
    files = ["config/default.toml", "config/{profile}.toml"],
    dotenv = ".env"
)]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080)]
    pub port: u16,
    /// Log level.
    #[config(default = "info")]
    pub log_level: String,
    /// Worker threads; operators tune it in Vault.
    #[config(default = 1, vault(key = "workers"))]
    pub workers: u32,
    /// The database pool.
    #[config(nested)]
    pub db: Db,
    /// Upstream hosts.
    #[config(default)]
    pub hosts: Vec<String>,
    /// Key of the upstream API: in `.env` on a laptop, in Vault in production.
    #[config(secret)]
    pub api_key: SecretString,
}

/// The database pool.
#[derive(Debug, VaultConfig)]
pub struct Db {
    /// Connections kept open.
    #[config(default = 4)]
    pub pool_size: u32,
}

fn main() -> ExitCode {
    println!("{}", Settings::loader().explain());
    match Settings::load() {
        Ok(s) => {
            println!(
                "loaded: port {}, {} workers, pool of {}, {} hosts, api key of {} bytes",
                s.port,
                s.workers,
                s.db.pool_size,
                s.hosts.len(),
                s.api_key.expose_secret().len()
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("{report}");
            ExitCode::FAILURE
        }
    }
}
