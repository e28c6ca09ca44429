//! Secrets in a checked-in config file, encrypted by Vault's transit engine: run it where its
//! files are, `cd examples/encrypted && SHOP_PROFILE=production cargo run --features cli
//! --example encrypted` with `VAULT_ADDR` and `VAULT_TOKEN` (the dev server of
//! `scripts/dev-vault` has the key `shop` the file was encrypted with).
//!
//! With no argument it prints where every value came from (`db.password` from
//! `file config/production.toml (db.password, transit shop v1)`) and loads; with one it is the
//! admin command line: `encrypt db.password` (the value on stdin), `rewrap`, `policy`, `check`.

use std::process::ExitCode;

use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// A shop's settings: plain values and encrypted secrets side by side in one reviewed file
/// per environment; only a token allowed to decrypt with `transit/decrypt/shop` reads them.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "SHOP_",
    vault(path = "shop/{profile}"),
    files = ["config/default.toml", "config/{profile}.toml"],
    transit_key = "shop"
)]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080)]
    pub port: u16,
    /// The database.
    #[config(nested)]
    pub db: Db,
    /// The payment provider.
    #[config(nested)]
    pub payments: Payments,
}

/// The database.
#[derive(Debug, VaultConfig)]
pub struct Db {
    /// Its host.
    #[config(default = "localhost")]
    pub host: String,
    /// The database password (a transit ciphertext in the file).
    #[config(secret)]
    pub password: SecretString,
}

/// The payment provider.
#[derive(Debug, VaultConfig)]
pub struct Payments {
    /// The API key (a transit ciphertext in the file).
    #[config(secret)]
    pub api_key: SecretString,
}

fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        return vault_config::cli::run::<Settings>();
    }
    println!("{}", Settings::loader().explain());
    match Settings::load() {
        Ok(s) => {
            println!(
                "loaded: port {}, database {} (password of {} bytes), payments key of {} bytes",
                s.port,
                s.db.host,
                s.db.password.expose_secret().len(),
                s.payments.api_key.expose_secret().len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
