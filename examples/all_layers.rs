//! All seven layers at once, the command line above the rest: run it where its files are,
//! `cd examples/layered && cargo run --example all_layers --features flags -- --port 9000`
//! (`-- --help` lists the flags; add `VAULT_ADDR` + `VAULT_TOKEN` for the Vault layer).
//!
//! For each field the first layer with a value wins: a flag, the env var, a file in the
//! secrets dir (`secrets/`, as Kubernetes or Docker mount one), `.env`, Vault, the config
//! files, the default. It prints where every value comes from, then the settings it loaded.

use std::process::ExitCode;

use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The settings of a small service: defaults in checked-in files, a developer's own values in
/// `.env`, secrets mounted by the platform (or in Vault), and flags for what an operator
/// changes for one run.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "APP_",
    vault(path = "layered/{profile}"),
    files = ["config/default.toml", "config/{profile}.toml"],
    dotenv = ".env",
    secrets_dir = "secrets"
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
    /// How long an upstream request may take.
    #[config(default = "30s")]
    pub request_timeout: std::time::Duration,
    /// Key of the upstream API: mounted in `secrets/api_key`, in `.env` on a laptop, in Vault.
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
    let loader = Settings::loader().args(std::env::args_os());
    println!("{}", loader.clone().explain());
    match loader.load() {
        Ok(s) => {
            println!(
                "loaded: port {}, {} workers, pool of {}, {} hosts, timeout {:?}, api key of {} bytes",
                s.port,
                s.workers,
                s.db.pool_size,
                s.hosts.len(),
                s.request_timeout,
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
