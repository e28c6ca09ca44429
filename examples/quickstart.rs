//! Loads settings from the process env and defaults (no Vault) and prints where each value
//! came from. Try: `QUICKSTART_PORT=9090 cargo run --example quickstart`.

use std::process::ExitCode;

use vault_config::{SecretString, VaultConfig};

fn nonzero(port: &u16) -> Result<(), String> {
    if *port == 0 {
        Err("port must not be 0".into())
    } else {
        Ok(())
    }
}

/// The quickstart's settings.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "QUICKSTART_", vault(path = "quickstart/{profile}"))]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080, validate = nonzero)]
    port: u16,
    /// Log filter.
    #[config(default = "info")]
    log_level: String,
    /// Key for the upstream API; read from Vault when one is configured.
    #[config(secret)]
    api_key: Option<SecretString>,
    #[config(nested)]
    database: Database,
}

#[derive(Debug, VaultConfig)]
struct Database {
    /// Connection pool size.
    #[config(default = 10)]
    pool_size: u32,
    /// Statement timeout in milliseconds; none when unset.
    statement_timeout_ms: Option<u64>,
}

fn main() -> ExitCode {
    println!("{}", Settings::loader().explain());
    match Settings::load() {
        Ok(settings) => {
            println!(
                "\nwould listen on 0.0.0.0:{} (log {}, api key {}, db pool {}, statement timeout {:?})",
                settings.port,
                settings.log_level,
                if settings.api_key.is_some() {
                    "set"
                } else {
                    "not set"
                },
                settings.database.pool_size,
                settings.database.statement_timeout_ms,
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("{report}");
            ExitCode::FAILURE
        }
    }
}
